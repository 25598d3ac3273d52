/**
 * The gRPC tests once more on the lowest @grpc/grpc-js weft supports (1.10.0, the peer range's
 * floor: the first with server interceptors), installed as the `grpc-js-lowest` alias. `.ci/run`
 * runs it after the main suite: `vitest run --config vitest.grpc-lowest.config.ts`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// Not mergeConfig: it would add this include list to the base one instead of replacing it.
export default defineConfig({
  resolve: {
    alias: [
      {
        find: /^@grpc\/grpc-js$/,
        replacement: fileURLToPath(
          new URL('./node_modules/grpc-js-lowest/build/src/index.js', import.meta.url),
        ),
      },
    ],
  },
  test: {
    ...base.test,
    include: [
      'test/grpc/**/*.test.ts',
      'test/contracts/grpc-js.contract.test.ts',
      'test/interop/**/*.test.ts',
    ],
  },
});
