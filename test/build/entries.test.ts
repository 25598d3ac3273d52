/**
 * The build as a user gets it: tsup.config.ts built into a temporary folder (no type
 * declarations), loaded through package.json `exports` by a plain Node process, ESM and CommonJS.
 * Every entry (weft, weft/policies, weft/prometheus, weft/opentelemetry) shares one copy of the
 * error classes (`splitting: true`), so `instanceof` holds across them.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build, type Options } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config from '../../tsup.config.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
let dir = '';

// Run in the package folder: `weft` resolves to itself through package.json `exports`.
const probe = (imports: string) => `${imports}
const caught = (f) => { try { f(); } catch (error) { return error; } return undefined; };
const fromPrometheus = caught(() => prometheusMetrics({}));
const fromTracing = caught(() => openTelemetryTracing(null));
const fromPolicies = caught(() => Stack.of([]).remove('missing'));
console.log(JSON.stringify({
  prometheusThrew: fromPrometheus?.code,
  prometheus: fromPrometheus instanceof weft.ConfigError && fromPrometheus instanceof weft.WeftError,
  tracingThrew: fromTracing?.code,
  tracing: fromTracing instanceof weft.ConfigError && fromTracing instanceof weft.WeftError,
  policiesThrew: fromPolicies?.code,
  policies: fromPolicies instanceof weft.UnknownRoleError && fromPolicies instanceof weft.WeftError,
}));
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-build-'));
  await build({ ...(config as Options), outDir: join(dir, 'dist'), dts: false, silent: true, config: false });
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(
    join(dir, 'probe.mjs'),
    probe(`import * as weft from 'weft';
import { Stack } from 'weft/policies';
import { prometheusMetrics } from 'weft/prometheus';
import { openTelemetryTracing } from 'weft/opentelemetry';`),
  );
  writeFileSync(
    join(dir, 'probe.cjs'),
    probe(`const weft = require('weft');
const { Stack } = require('weft/policies');
const { prometheusMetrics } = require('weft/prometheus');
const { openTelemetryTracing } = require('weft/opentelemetry');`),
  );
}, 60_000);

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('the build', () => {
  for (const file of ['probe.mjs', 'probe.cjs']) {
    it(`shares one copy of the error classes between weft and its other entries (${file})`, async () => {
      const { stdout } = await run(process.execPath, [file], { cwd: dir });
      expect(JSON.parse(stdout)).toEqual({
        prometheusThrew: 'WEFT_CONFIG',
        prometheus: true,
        tracingThrew: 'WEFT_CONFIG',
        tracing: true,
        policiesThrew: 'WEFT_UNKNOWN_ROLE',
        policies: true,
      });
    });
  }
});
