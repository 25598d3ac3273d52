/**
 * The built package refuses a Node.js below the floor with UnsupportedNodeError, before undici
 * loads (on Node 20 undici itself fails with "Cannot read properties of undefined (reading
 * 'bind')"). Checked three ways on dist/ (which `npm test`'s pretest builds): in each entry, ESM and
 * CJS, the chunk that runs the check is evaluated before any package is imported; on this Node with a faked version, every
 * entry throws and no undici module has run; on a real old Node (scripts/old-node.mjs: the
 * system's, else one the pretest installed), `import` and `require` fail with the message.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { findOldNode } from '../scripts/old-node.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
  exports: Record<string, string | { import: { default: string }; require: { default: string } }>;
};
const FLOOR = packageJson.engines.node;

/** Every entry point's built files, from package.json exports: [subpath, format, absolute path]. */
const BUILT: Array<[string, 'esm' | 'cjs', string]> = Object.entries(packageJson.exports).flatMap(
  ([subpath, target]) =>
    typeof target === 'string'
      ? []
      : [
          [subpath, 'esm', join(root, target.import.default)] as [string, 'esm', string],
          [subpath, 'cjs', join(root, target.require.default)] as [string, 'cjs', string],
        ],
);

/**
 * Run in a child process (CommonJS `-e`): optionally pretend to be another Node.js version, then
 * import or require one file, and print what happened and how many undici modules ran.
 */
const PROBE = `
const [fakeVersion, how, file] = process.argv.slice(1);
if (fakeVersion !== '-') Object.defineProperty(process.versions, 'node', { value: fakeVersion });
const path = require('node:path');
const undiciRan = () => Object.values(require.cache)
  .filter((m) => m && m.loaded && m.filename.includes(path.sep + 'undici' + path.sep)).length;
const report = (error) => console.log(JSON.stringify({
  threw: error !== undefined, name: error && error.name, code: error && error.code,
  message: error && error.message, undiciRan: undiciRan(),
}));
if (how === 'esm') import(require('node:url').pathToFileURL(file).href).then(() => report(), report);
else { try { require(file); report(); } catch (error) { report(error); } }
`;

interface ProbeResult {
  threw: boolean;
  name?: string;
  code?: string;
  message?: string;
  undiciRan: number;
}

async function probe(
  node: string,
  fakeVersion: string,
  how: 'esm' | 'cjs',
  file: string,
): Promise<ProbeResult> {
  const { stdout } = await run(node, ['-e', PROBE, fakeVersion, how, file], { cwd: root, timeout: 15_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ProbeResult;
}

/** The relative module every import or require statement of `code` names, in order. */
function moduleRequests(code: string): string[] {
  const pattern =
    /^\s*(?:import\s+['"]([^'"]+)['"]|(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]|.*?\brequire\(['"]([^'"]+)['"]\))/gm;
  return [...code.matchAll(pattern)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/**
 * What runs, in order, when `file` is loaded: for each module it names, in order, that module's
 * own imports first, then its body (`chunk:NAME`), or a package (`package:NAME`); ESM evaluation
 * and a run of `require` calls both go depth-first in source order. A chunk runs once.
 */
function evaluationOrder(file: string, seen = new Set<string>()): string[] {
  const order: string[] = [];
  for (const request of moduleRequests(readFileSync(file, 'utf8'))) {
    if (!/^\.\/chunk-[\w-]+\.c?js$/.test(request)) {
      order.push(`package:${request}`);
      continue;
    }
    const chunk = join(file, '..', request);
    if (seen.has(chunk)) continue;
    seen.add(chunk);
    order.push(...evaluationOrder(chunk, seen), `chunk:${request}`);
  }
  return order;
}

beforeAll(() => {
  const missing = BUILT.filter(([, , file]) => !existsSync(file)).map(([, , file]) => file);
  if (missing.length > 0) {
    throw new Error(`not built: ${missing.join(', ')}; run \`npm run build\` (npm test's pretest does)`);
  }
});

describe('the built package on a Node.js below the floor', () => {
  it('runs the check in every entry, ESM and CJS, before any package loads', () => {
    expect(BUILT.map(([subpath, format]) => `${subpath} ${format}`)).toEqual([
      '. esm',
      '. cjs',
      './policies esm',
      './policies cjs',
      './admin esm',
      './admin cjs',
      './testing esm',
      './testing cjs',
      './prometheus esm',
      './prometheus cjs',
      './opentelemetry esm',
      './opentelemetry cjs',
      './grpc esm',
      './grpc cjs',
      './express esm',
      './express cjs',
      './fastify esm',
      './fastify cjs',
      './discovery esm',
      './discovery cjs',
    ]);
    for (const [subpath, format, file] of BUILT) {
      const order = evaluationOrder(file);
      const checkAt = order.findIndex(
        (step) =>
          step.startsWith('chunk:') &&
          /\/\/ src\/node-check\.ts\n[\s\S]*?\bassertSupportedNode\(\);/.test(
            readFileSync(join(file, '..', step.slice('chunk:'.length)), 'utf8'),
          ),
      );
      expect(checkAt, `${subpath} (${format}) runs the check from a chunk`).toBeGreaterThanOrEqual(0);
      // Nothing outside dist/ (undici, or any other package) runs before the check.
      expect(order.slice(0, checkAt), `${subpath} (${format}) loads before its check`).not.toContainEqual(
        expect.stringMatching(/^package:/),
      );
    }
  });

  it('throws UnsupportedNodeError from every entry before any undici module runs (version faked)', async () => {
    const node = process.execPath;
    const results = await Promise.all(BUILT.map(([, format, file]) => probe(node, '20.20.2', format, file)));
    for (const [i, result] of results.entries()) {
      const [subpath, format] = BUILT[i]!;
      expect(result, `${subpath} (${format})`).toEqual({
        threw: true,
        name: 'UnsupportedNodeError',
        code: 'WEFT_UNSUPPORTED_NODE',
        message: expect.stringContaining(`weft needs Node.js ${FLOOR}, but runs on Node.js 20.20.2 (`),
        undiciRan: 0,
      });
    }
    // The probe can tell: unfaked, the same entry loads, and undici with it.
    for (const how of ['esm', 'cjs'] as const) {
      const file = BUILT.find(([subpath, format]) => subpath === '.' && format === how)![2];
      const loaded = await probe(node, '-', how, file);
      expect(loaded.threw, JSON.stringify(loaded)).toBe(false);
      expect(loaded.undiciRan).toBeGreaterThan(0);
    }
  });

  it('import and require fail on a real old Node.js with the error naming both versions', async () => {
    const old = findOldNode();
    if (old === undefined) {
      throw new Error(
        `no Node.js below ${FLOOR} found (scripts/old-node.mjs); run \`npm test\`, whose pretest installs ` +
          'one, or set WEFT_OLD_NODE to a Node.js 18 or 20 binary',
      );
    }
    const results = await Promise.all(BUILT.map(([, format, file]) => probe(old.path, '-', format, file)));
    for (const [i, result] of results.entries()) {
      const [subpath, format] = BUILT[i]!;
      expect(result, `${subpath} (${format}) on ${old.path}`).toEqual({
        threw: true,
        name: 'UnsupportedNodeError',
        code: 'WEFT_UNSUPPORTED_NODE',
        message: expect.stringContaining(`weft needs Node.js ${FLOOR}, but runs on Node.js ${old.version} (`),
        undiciRan: 0,
      });
    }
  });
});
