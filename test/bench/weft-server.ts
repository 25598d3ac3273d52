/**
 * weft's server half as the benchmarks run it (`weft/express`, `weft/fastify`, and the
 * concurrency limits of `weft/policies`): from the same place as the rest of weft (./weft.ts), the
 * build in dist/ for `npm run bench`, the source for the harness's tests. A module of its own so
 * that only the server scenarios' processes load fastify-plugin.
 */
import type * as WeftExpress from '../../src/express.js';
import type * as WeftFastify from '../../src/fastify.js';
import type * as WeftPolicies from '../../src/policies.js';
import { WEFT_ROOT } from './weft.js';

export const weftExpress: typeof WeftExpress = await import(new URL('express.js', WEFT_ROOT).href);
export const weftFastify: typeof WeftFastify = await import(new URL('fastify.js', WEFT_ROOT).href);
export const weftPolicies: typeof WeftPolicies = await import(new URL('policies.js', WEFT_ROOT).href);
