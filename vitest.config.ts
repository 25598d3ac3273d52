import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // The benchmark harness's tests run weft from source; `npm run bench` runs the build
    // (test/bench/weft.ts).
    env: { WEFT_BENCH_SOURCE: '1' },
    reporters: ['default'],
  },
});
