/**
 * `weft/fastify`: weft's server half for Fastify 5 (an optional peer dependency), as a plugin
 * (fastify-plugin, `name: 'weft'`). Its `onRequest` hook takes the caller's deadline into the
 * ambient context (every weft call a handler makes gets the time left, and is cancelled when the
 * caller goes away), answers a request whose deadline had already passed with 504, nacks what is
 * over the concurrency limit or arrives while draining (503, `weft-nack`, `Retry-After: 0`: a
 * weft client requeues it on another replica), and leaves excluded routes alone; a
 * DeadlineExceededError from a handler becomes 504. See docs/server.md.
 *
 * @example
 * await app.register(weftPlugin, { exclude: ['/healthz'] });
 * process.once('SIGTERM', async () => { await app.weft.drain(); await app.close(); });
 */
// First: on a Node.js below the floor, fail here with a clear error, before anything loads.
import './node-check.js';

export type { ObservedServer, RejectionReason, ServerObserver } from './core/server-observer.js';
export type { ConcurrencyLimit, LimitSample } from './policies/concurrency-limit/limit.js';
export {
  type WeftFastify,
  type WeftFastifyOptions,
  type WeftRouteConfig,
  weftPlugin,
} from './server/fastify.js';
export type { WeftServerOptions } from './server/options.js';
export { NACK_HEADER } from './server/rejection.js';
export type { ServerTelemetryPlugin } from './server/telemetry.js';
