// Types of scripts/system-packages.mjs, for the benchmark harness that imports it.
/** A program weft's tests or benchmarks run outside Node.js. */
export interface SystemPackage {
  what: string;
  present(): boolean;
  pkgs: string[];
  usedBy: string;
}
export declare function onPath(name: string): boolean;
export declare const WRK: SystemPackage;
export declare const SYSTEM_PACKAGES: SystemPackage[];
export declare function run(say: (text: string) => void, command: string, args: string[]): boolean;
export declare function bringSystemPackages(
  wanted: SystemPackage[],
  options: { who: string; again: string; say(text: string): void },
): boolean;
