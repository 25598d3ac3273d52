/**
 * The Node.js floor, read from one place: package.json `engines.node` (npm warns on install
 * against it, and this enforces it at load). undici 8 sets it: on an older Node, undici fails
 * while it loads ("Cannot read properties of undefined (reading 'bind')"), which says neither
 * what is wrong nor how to fix it. src/node-check.ts calls {@link assertSupportedNode} before
 * anything imports undici. Only the `>=major.minor.patch` form is understood.
 */
import packageJson from '../../package.json' with { type: 'json' };
import { UnsupportedNodeError } from './errors.js';

/** The Node.js versions weft supports: package.json `engines.node`, e.g. `>=22.19.0`. */
export const SUPPORTED_NODE: string = packageJson.engines.node;

type Version = readonly [major: number, minor: number, patch: number];

/** `22.19.0`, `v22.19.0` or `23.0.0-pre` → [22, 19, 0]; undefined if it is not a version. */
export function parseNodeVersion(version: string): Version | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  if (match === null) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** The least version `range` allows; throws if `range` is not of the form `>=major.minor.patch`. */
export function leastNodeVersion(range: string): Version {
  const match = /^>=\s*(v?\d+\.\d+\.\d+)$/.exec(range.trim());
  const least = match === null ? undefined : parseNodeVersion(match[1]!);
  if (least === undefined) {
    throw new Error(
      `package.json engines.node is ${JSON.stringify(range)}; weft's load-time Node.js check ` +
        '(src/core/node-version.ts) understands only ">=major.minor.patch"',
    );
  }
  return least;
}

/**
 * The error to throw when `running` (a version such as `20.20.2`) is below `range`, or undefined
 * when it is supported. A version that cannot be parsed is let through: a check that guesses
 * must not stop a Node.js it does not understand.
 */
export function unsupportedNode(
  running: string,
  range: string = SUPPORTED_NODE,
  execPath: string = process.execPath,
): UnsupportedNodeError | undefined {
  const least = leastNodeVersion(range);
  const version = parseNodeVersion(running);
  if (version === undefined) return undefined;
  for (let i = 0; i < 3; i++) {
    if (version[i]! > least[i]!) return undefined;
    if (version[i]! < least[i]!) return new UnsupportedNodeError(range, running, execPath);
  }
  return undefined;
}

/** Throw {@link UnsupportedNodeError} if the Node.js running this process is below the floor. */
export function assertSupportedNode(): void {
  const error = unsupportedNode(process.versions.node);
  if (error !== undefined) throw error;
}
