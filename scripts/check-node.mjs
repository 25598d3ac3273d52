// Contributors' Node.js check, run first by `npm test` (scripts/pretest.mjs), `npm run demo` and
// `npm run bench` (scripts/prebench.mjs): the Node.js running npm's scripts must satisfy package.json engines.node (the
// one place the floor is written). npm scripts find the project's pinned Node (the `node`
// devDependency) first on PATH, but its binary comes from an install script: after
// `npm install --ignore-scripts` it is missing and npm falls back to the system Node (often 20),
// on which undici fails with "Cannot read properties of undefined (reading 'bind')". This says
// so, and how to fix it. Plain JavaScript that any Node.js from 18 on can run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** package.json engines.node, e.g. `>=22.19.0`. */
export function supportedNode(root = ROOT) {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node;
}

/** `v20.20.2` or `20.20.2` → [20, 20, 2], or undefined. */
function parse(version) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(String(version).trim());
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** Whether `version` is below `range` (only `>=major.minor.patch` is understood). */
export function isBelow(version, range) {
  const match = /^>=\s*(v?\d+\.\d+\.\d+)$/.exec(range.trim());
  if (match === null)
    throw new Error(`package.json engines.node is ${JSON.stringify(range)}; expected ">=x.y.z"`);
  const least = parse(match[1]);
  const running = parse(version);
  if (running === undefined) throw new Error(`not a Node.js version: ${JSON.stringify(version)}`);
  for (let i = 0; i < 3; i++) if (running[i] !== least[i]) return running[i] < least[i];
  return false;
}

/**
 * Undefined if `version` satisfies the floor; otherwise what to tell the contributor: what is
 * needed, what is running, why, and the command that fixes it.
 */
export function nodeProblem({
  root = ROOT,
  version = process.versions.node,
  execPath = process.execPath,
} = {}) {
  const range = supportedNode(root);
  if (!isBelow(version, range)) return undefined;
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  const lines = [
    `weft: this is Node.js ${version} (${execPath}), and weft needs Node.js ${range} (package.json engines).`,
  ];
  if (!existsSync(join(root, 'node_modules'))) {
    lines.push(
      'Install the dependencies first; they include the Node.js the project runs on (the pinned `node` devDependency):',
      '  npm install',
    );
  } else if (!existsSync(pinned)) {
    lines.push(
      "The project's own Node.js (the `node` devDependency, which npm scripts use first) is missing: its",
      'install script did not run, as after `npm install --ignore-scripts`. Run that script now',
      '(--ignore-scripts=false: an ignore-scripts setting in .npmrc would skip it again):',
      '  npm rebuild node --ignore-scripts=false',
    );
  } else {
    lines.push(
      `Run it through npm (\`npm test\`, \`npm run demo\`), which uses the project's Node.js, ${pinned},`,
      'or put a Node.js that satisfies engines.node first on PATH.',
    );
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problem = nodeProblem();
  if (problem !== undefined) {
    console.error(problem);
    process.exitCode = 1;
  }
}
