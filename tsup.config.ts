import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing.ts',
    prometheus: 'src/prometheus.ts',
    opentelemetry: 'src/opentelemetry.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node22',
  platform: 'node',
  // Shared chunks, so weft/prometheus and weft/opentelemetry use the same error classes as weft.
  splitting: true,
  treeshake: true,
});
