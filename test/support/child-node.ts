/**
 * Scripts run in a child Node process against weft's build (dist/), for behaviour that depends on
 * the process's lifetime: vitest keeps its own event loop alive, so a test inside the runner can
 * never see a process exit early. Each script gets weft as `weft` (the ESM build through
 * `import`, or the CommonJS build through `require`) and may use `await`. A child that has not
 * exited within its bound is killed, and the result says so; every child is gone when the run
 * ends.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The two module formats weft ships. */
export type ModuleFormat = 'esm' | 'cjs';

export const MODULE_FORMATS: readonly ModuleFormat[] = ['esm', 'cjs'];

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

/** How a child ended. */
export interface ChildResult {
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when the child outlived its bound and was killed. */
  readonly killed: boolean;
  /** stdout's lines, without the empty last one. */
  readonly lines: string[];
}

/** The path of one of weft's built entries (`index`, `testing`, ...) in `format`. */
export function builtEntry(entry: string, format: ModuleFormat): string {
  const file = join(DIST, `${entry}.${format === 'esm' ? 'js' : 'cjs'}`);
  if (!existsSync(file)) {
    throw new Error(
      `${file} is missing: these tests run weft's build. Run \`npm run build\` (npm test's pretest does it).`,
    );
  }
  return file;
}

/**
 * Run `body` in a child Node process with weft's `entry` loaded as `weft` in `format`. `body` may
 * use top-level `await` (in CommonJS it runs inside an async function the script does not await,
 * so only weft's own handles keep the child alive, as in a CommonJS script).
 */
export async function runWithWeft(
  format: ModuleFormat,
  body: string,
  options: { entry?: string; boundMs?: number; env?: Record<string, string> } = {},
): Promise<ChildResult> {
  const entry = builtEntry(options.entry ?? 'index', format);
  const source =
    format === 'esm'
      ? `import * as weft from ${JSON.stringify(pathToFileURL(entry).href)};\n${body}\n`
      : `const weft = require(${JSON.stringify(entry)});\n(async () => {\n${body}\n})();\n`;
  return runScript(source, format === 'esm' ? 'mjs' : 'cjs', options.boundMs, options.env);
}

/** Run a whole script (extension `mjs` or `cjs`) in a child Node process. */
export async function runScript(
  source: string,
  extension: 'mjs' | 'cjs',
  boundMs = 10_000,
  env: Record<string, string> = {},
): Promise<ChildResult> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-child-'));
  const file = join(dir, `script.${extension}`);
  try {
    await writeFile(file, source);
    return await new Promise<ChildResult>((resolve, reject) => {
      const child = spawn(process.execPath, [file], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      });
      let stdout = '';
      let stderr = '';
      let killed = false;
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const bound = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, boundMs);
      child.on('error', (error) => {
        clearTimeout(bound);
        reject(error);
      });
      child.on('close', (code, signal) => {
        clearTimeout(bound);
        const lines = stdout.split('\n');
        if (lines.at(-1) === '') lines.pop();
        resolve({ code, signal, stdout, stderr, killed, lines });
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
