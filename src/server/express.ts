/**
 * weft's server half for Express 5: `weftMiddleware()`, the first middleware of an app, admits
 * each request (./admission.ts: the caller's deadline, expired-on-arrival, draining, the
 * concurrency limit) before its body is read, and runs the rest of the chain inside the ambient
 * context with `AsyncLocalStorage.run` (never `enterWith`: on Node 20 and 22 it leaks a request's
 * store into the next request on the same keep-alive connection, next-wave.md §A1). The request
 * ends, and its permit is released, when the response closes (./node-response.ts).
 * `weftErrorHandler()`, after the routes, answers a DeadlineExceededError with 504 instead of
 * Express's 500, and tells admission the handler threw.
 *
 * Written against node:http's types, which Express's extend: nothing here imports express, so
 * neither express nor @types/express is needed to load or type-check this entry. Only
 * src/server/express*.ts and src/express.ts may import express (.dependency-cruiser.cjs).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runWithAmbientContext } from '../core/ambient.js';
import { DEADLINE_HEADER } from '../core/deadline-header.js';
import type { ObservedServer } from '../core/server-observer.js';
import { AdmittedRequest, ServerAdmission } from './admission.js';
import { admittedOf, endOnClose, followResponse, writeRejection } from './node-response.js';
import { checkServerOptions, type WeftServerOptions } from './options.js';
import { DEADLINE_EXCEEDED_RESPONSE, isDeadlineExceeded } from './rejection.js';

/** Options of {@link weftMiddleware}: see {@link WeftServerOptions}; `name` defaults to `'express'`. */
export type WeftExpressOptions = WeftServerOptions;

/** Express's `next`, as far as weft uses it. */
export type NextFunctionLike = (error?: unknown) => void;

/** The middleware {@link weftMiddleware} returns, with its server's state and its draining. */
export interface WeftMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: NextFunctionLike): void;
  /** The server as telemetry and the admin page see it: in flight, limit, draining. */
  readonly server: ObservedServer;
  /**
   * Begin draining: new requests get a nack (503, `weft-nack`, `Retry-After: 0`, the
   * connection closed after it) while those in flight finish. Resolves when the last has finished.
   */
  drain(): Promise<void>;
  /** Drain, then close the server's telemetry. */
  close(): Promise<void>;
}

/** The error middleware {@link weftErrorHandler} returns (four parameters, as Express requires). */
export type WeftErrorHandler = (
  error: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  next: NextFunctionLike,
) => void;

/** What Express adds to a request that weft reads: the matched route and the mount path. */
interface ExpressRequestLike extends IncomingMessage {
  route?: { path?: unknown };
  baseUrl?: string;
}

/**
 * weft's Express 5 middleware: register it first, before body parsers and routes, with
 * {@link weftErrorHandler} after the routes. Bad options throw a ConfigError here.
 *
 * @example
 * const weft = weftMiddleware({ exclude: ['/healthz'] });
 * app.use(weft);
 * app.use(express.json());
 * app.post('/orders', async (req, res) => res.json(await inventory.request({ path: '/stock' })));
 * app.use(weftErrorHandler());
 * process.once('SIGTERM', async () => { await weft.drain(); server.close(); });
 */
export function weftMiddleware(options: WeftExpressOptions = {}): WeftMiddleware {
  const admission = new ServerAdmission(checkServerOptions(options, 'express'));
  const middleware = (req: IncomingMessage, res: ServerResponse, next: NextFunctionLike): void => {
    if (!admission.excludes(req.url)) {
      // The route is not known yet: Express matches it after this middleware.
      const verdict = admission.admit('', req.headers[DEADLINE_HEADER]);
      if (!(verdict instanceof AdmittedRequest)) {
        writeRejection(res, verdict);
        return;
      }
      followResponse(res, verdict, endExpressRequest);
      runWithAmbientContext(verdict.context, next);
      return;
    }
    next();
  };
  return Object.assign(middleware, {
    server: admission as ObservedServer,
    drain: () => admission.drain(),
    close: () => admission.close(),
  });
}

/**
 * Express error middleware: a DeadlineExceededError (code `WEFT_DEADLINE_EXCEEDED`) that escaped
 * a handler becomes 504 instead of 500; any other error goes on to the next error middleware
 * (Express's own answers 500). Register it after the routes, before error middleware of your own
 * that answers every error.
 *
 * @example
 * app.use(weftErrorHandler());
 */
export function weftErrorHandler(): WeftErrorHandler {
  return function weftDeadlineErrors(error, _req, res, next): void {
    admittedOf(res)?.handlerThrew(error);
    if (!isDeadlineExceeded(error) || res.headersSent) {
      next(error);
      return;
    }
    res.writeHead(DEADLINE_EXCEEDED_RESPONSE.status, DEADLINE_EXCEEDED_RESPONSE.headers);
    res.end(DEADLINE_EXCEEDED_RESPONSE.body);
  };
}

/**
 * A response closed: its route is known now (Express matched it), so note it for telemetry (when
 * any records it: building the template costs a string per request) and end the request.
 */
function endExpressRequest(this: ServerResponse): void {
  const admitted = admittedOf(this);
  if (admitted === undefined) return;
  if (admitted.recordsRoute) admitted.route = expressRoute(this.req as ExpressRequestLike);
  endOnClose.call(this);
}

/** The matched route's template, with the path its router is mounted on; '' when none matched. */
function expressRoute(req: ExpressRequestLike): string {
  const path = req.route?.path;
  if (path === undefined) return '';
  return `${req.baseUrl ?? ''}${typeof path === 'string' ? path : String(path)}`;
}
