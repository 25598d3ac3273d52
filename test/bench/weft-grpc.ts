/**
 * `weft/grpc` as the benchmarks run it: from the same place as the rest of weft (./weft.ts), the
 * build in dist/ for `npm run bench`, the source for the harness's tests. A module of its own so
 * that only the gRPC scenarios load @grpc/grpc-js: the HTTP scenarios' processes (and the heap
 * `memory` measures) stay as they were.
 */
import type * as WeftGrpc from '../../src/grpc.js';
import { WEFT_ROOT } from './weft.js';

export const weftGrpc: typeof WeftGrpc = await import(new URL('grpc.js', WEFT_ROOT).href);
