/**
 * weft as the benchmarks run it: the build in dist/, which is what `npm install weft` gives a
 * user, not the TypeScript source. The source runs through tsx, whose transform (esbuild's
 * `keepNames`) wraps every function weft creates per call in a `__name(...)` call that sets its
 * name: a cost on every closure that no user pays, while the contenders (undici, cockatiel) run
 * as published. `npm run bench` builds first (`prebench`).
 *
 * The harness's own tests (test/bench/*.test.ts) measure nothing and run on the source, so that
 * `npm test` needs no build: vitest.config.ts sets WEFT_BENCH_SOURCE=1, and worker processes
 * inherit it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as Weft from '../../src/index.js';
import type * as WeftOpenTelemetry from '../../src/opentelemetry.js';
import type * as WeftPrometheus from '../../src/prometheus.js';

const fromSource = process.env.WEFT_BENCH_SOURCE === '1';
const root = new URL(fromSource ? '../../src/' : '../../dist/', import.meta.url);
if (!fromSource && !existsSync(fileURLToPath(new URL('index.js', root)))) {
  throw new Error('weft bench: dist/index.js is missing; run `npm run build` (npm run bench does it first)');
}

/** Where weft is loaded from: dist/ or src/ (./weft-grpc.ts loads `weft/grpc` from it too). */
export const WEFT_ROOT: URL = root;

/** Which weft the benchmarks run: `build` (dist/) or `source` (src/, for the harness's tests). */
export const WEFT_UNDER_TEST: 'build' | 'source' = fromSource ? 'source' : 'build';

export const weft: typeof Weft = await import(new URL('index.js', root).href);
export const weftOpenTelemetry: typeof WeftOpenTelemetry = await import(
  new URL('opentelemetry.js', root).href
);
export const weftPrometheus: typeof WeftPrometheus = await import(new URL('prometheus.js', root).href);
