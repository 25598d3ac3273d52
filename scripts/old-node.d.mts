// Types of scripts/old-node.mjs, for the tests that import it.
export declare const OLD_NODE_PACKAGE: string;
export declare function oldNodeDir(root?: string): string;
export declare function findOldNode(root?: string): { path: string; version: string } | undefined;
export declare function installOldNode(dir?: string): void;
