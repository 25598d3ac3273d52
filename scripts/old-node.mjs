// A Node.js below the floor, for test/node-check.test.ts, which loads the built package on it and
// expects weft's own error rather than undici's. Looked for in this order: $WEFT_OLD_NODE, a system
// Node.js (Debian's and CI's /usr/bin/node are 18 or 20), then one that scripts/pretest.mjs
// installed from the npm registry (the `node@20` package, as .ci/run installs 22.19.0) into
// node_modules/.cache/weft-old-node. Plain JavaScript that any Node.js from 18 on can run.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { isBelow, ROOT, supportedNode } from './check-node.mjs';

/** The release line installed when no old Node.js is found: below the floor, still common. */
export const OLD_NODE_PACKAGE = 'node@20';

/** Where scripts/pretest.mjs installs {@link OLD_NODE_PACKAGE}. */
export function oldNodeDir(root = ROOT) {
  return join(root, 'node_modules', '.cache', 'weft-old-node');
}

/** `path --version` without the `v`, or undefined if it does not run. */
function versionOf(path) {
  const run = spawnSync(path, ['--version'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 10_000,
  });
  return run.status === 0 ? run.stdout.trim().replace(/^v/, '') : undefined;
}

/**
 * The first Node.js found that is below the floor and at least 18 (older ones cannot run the
 * built ESM at all): `{ path, version }`, or undefined.
 */
export function findOldNode(root = ROOT) {
  const range = supportedNode(root);
  const candidates = [
    process.env.WEFT_OLD_NODE,
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => (dir === '' ? undefined : join(dir, 'node'))),
    '/usr/bin/node',
    '/usr/local/bin/node',
    join(oldNodeDir(root), 'node_modules', '.bin', 'node'),
  ];
  const seen = new Set();
  for (const candidate of candidates) {
    if (candidate === undefined || !existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    if (seen.has(real)) continue;
    seen.add(real);
    const version = versionOf(candidate);
    if (version !== undefined && Number(version.split('.')[0]) >= 18 && isBelow(version, range)) {
      return { path: candidate, version };
    }
  }
  return undefined;
}

/** Install {@link OLD_NODE_PACKAGE} into `dir` with npm (its install script fetches the binary). */
export function installOldNode(dir = oldNodeDir()) {
  const npm = process.env.npm_execpath;
  const [command, args] = npm?.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []];
  const run = spawnSync(
    command,
    [
      ...args,
      'install',
      '--prefix',
      dir,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts=false',
      OLD_NODE_PACKAGE,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (run.status !== 0) {
    throw new Error(
      `npm install --prefix ${dir} ${OLD_NODE_PACKAGE} failed (${run.error ?? `exit ${run.status}`})`,
    );
  }
}
