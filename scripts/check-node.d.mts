// Types of scripts/check-node.mjs, for the tests that import it.
export declare const ROOT: string;
export declare function supportedNode(root?: string): string;
export declare function isBelow(version: string, range: string): boolean;
export declare function nodeProblem(options?: {
  root?: string;
  version?: string;
  execPath?: string;
}): string | undefined;
