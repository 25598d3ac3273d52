/**
 * Contributors on a Node.js below the floor: scripts/check-node.mjs (run before `npm test`,
 * `npm run demo` and `npm run bench`) says what is needed, what runs, and the command that fixes
 * it, for each way it happens; and on a real old Node.js, check-node.mjs, pretest.mjs and
 * prebench.mjs all stop with that message and exit 1 before doing anything else.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBelow, nodeProblem, ROOT, supportedNode } from '../../scripts/check-node.mjs';
import { findOldNode } from '../../scripts/old-node.mjs';

const run = promisify(execFile);

describe('scripts/check-node.mjs', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'weft-check-node-'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ engines: { node: '>=22.19.0' } }));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const problem = (version: string) => nodeProblem({ root, version, execPath: '/usr/bin/node' });

  it('reads the floor from package.json engines', () => {
    expect(supportedNode(ROOT)).toBe('>=22.19.0');
    expect(isBelow('20.20.2', '>=22.19.0')).toBe(true);
    expect(isBelow('22.18.9', '>=22.19.0')).toBe(true);
    expect(isBelow('22.19.0', '>=22.19.0')).toBe(false);
    expect(isBelow('v24.21.0', '>=22.19.0')).toBe(false);
  });

  it('says nothing at or above the floor', () => {
    expect(problem('22.19.0')).toBeUndefined();
    expect(problem('24.21.0')).toBeUndefined();
  });

  it('before npm install: install the dependencies, which bring the Node.js', () => {
    expect(problem('20.20.2')).toBe(
      [
        'weft: this is Node.js 20.20.2 (/usr/bin/node), and weft needs Node.js >=22.19.0 (package.json engines).',
        'Install the dependencies first; they include the Node.js the project runs on (the pinned `node` devDependency):',
        '  npm install',
      ].join('\n'),
    );
  });

  it('after npm install --ignore-scripts: npm rebuild node, scripts allowed', () => {
    mkdirSync(join(root, 'node_modules', 'node'), { recursive: true });
    const text = problem('20.20.2');
    expect(text).toContain('this is Node.js 20.20.2 (/usr/bin/node), and weft needs Node.js >=22.19.0');
    expect(text).toContain('`npm install --ignore-scripts`');
    expect(text).toMatch(/\n {2}npm rebuild node --ignore-scripts=false$/);
  });

  it('with the pinned Node.js in place: run it through npm', () => {
    mkdirSync(join(root, 'node_modules', 'node', 'bin'), { recursive: true });
    writeFileSync(join(root, 'node_modules', 'node', 'bin', 'node'), '');
    expect(problem('18.19.1')).toContain(
      `Run it through npm (\`npm test\`, \`npm run demo\`), which uses the project's Node.js, ${join(root, 'node_modules', 'node', 'bin', 'node')}`,
    );
  });

  it.each([['scripts/check-node.mjs'], ['scripts/pretest.mjs'], ['scripts/prebench.mjs']])(
    '%s on a real old Node.js exits 1 with the message',
    async (script) => {
      const old = findOldNode();
      if (old === undefined) {
        throw new Error(
          'no Node.js below the floor found (scripts/old-node.mjs); run `npm test`, whose pretest installs one',
        );
      }
      const failed = await run(old.path, [script], { cwd: ROOT, timeout: 15_000 }).then(
        () => undefined,
        (error: { code?: number; stdout: string; stderr: string }) => error,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stdout).toBe('');
      expect(failed?.stderr).toContain(`weft: this is Node.js ${old.version} (`);
      expect(failed?.stderr).toContain(`), and weft needs Node.js >=22.19.0 (package.json engines).`);
      expect(failed?.stderr).toMatch(/Run it through npm|npm rebuild node|npm install/);
    },
  );
});
