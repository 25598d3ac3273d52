/**
 * `weft/express`: weft's server half for Express 5 (an optional peer dependency). The first
 * middleware of an app takes the caller's deadline into the ambient context (every weft call a
 * handler makes gets the time left, and is cancelled when the caller goes away), answers a
 * request whose deadline had already passed with 504, nacks what is over the concurrency limit
 * or arrives while draining (503, `weft-nack`, `Retry-After: 0`: a weft client requeues it on
 * another replica), and leaves excluded routes alone. See docs/server.md.
 *
 * @example
 * const weft = weftMiddleware({ exclude: ['/healthz'] });
 * app.use(weft);
 * // ... body parsers, routes ...
 * app.use(weftErrorHandler());
 */
// First: on a Node.js below the floor, fail here with a clear error, before anything loads.
import './node-check.js';

export type { ObservedServer, RejectionReason, ServerObserver } from './core/server-observer.js';
export type { ConcurrencyLimit, LimitSample } from './policies/concurrency-limit/limit.js';
export {
  type NextFunctionLike,
  type WeftErrorHandler,
  type WeftExpressOptions,
  type WeftMiddleware,
  weftErrorHandler,
  weftMiddleware,
} from './server/express.js';
export type { WeftServerOptions } from './server/options.js';
export { NACK_HEADER } from './server/rejection.js';
export type { ServerTelemetryPlugin } from './server/telemetry.js';
