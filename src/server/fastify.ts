/**
 * weft's server half for Fastify 5: `weftPlugin`, wrapped with fastify-plugin (`name: 'weft'`,
 * `fastify: '5.x'`) so its hooks apply to the context that registers it, not only inside it.
 *
 *   onRequest (callback style)  admission (./admission.ts: the caller's deadline,
 *                               expired-on-arrival, draining, the concurrency limit) before the
 *                               body is read; the rest of the lifecycle runs inside the ambient
 *                               context through `AsyncLocalStorage.run(context, done)` (never
 *                               `enterWith`, next-wave.md §A1)
 *   onError                     the handler threw: its permit learns nothing (ignore)
 *   raw response `close`        the request ends: the response was written (the permit is
 *                               released) or, when it was not, the caller went away. One
 *                               listener per request, not an onResponse hook: Fastify runs a
 *                               route's onResponse hooks through a generic runner that costs
 *                               more per request than the listener, which is needed anyway
 *   error handler               a DeadlineExceededError becomes 504; any other error is thrown
 *                               on to the parent (Fastify's default) handler
 *   preClose / onClose          `fastify.close()` drains: new requests are nacked, in-flight ones
 *                               finish, then telemetry is closed
 *
 * A route opts out with `config: { weft: { exclude: true } }`, or by path in `exclude`. A route's
 * `handlerTimeout` (Fastify 5.12) bounds the deadline too, and its `request.signal` cancels the
 * handler's weft calls. Only src/server/fastify*.ts and src/fastify.ts may import fastify and
 * fastify-plugin (.dependency-cruiser.cjs).
 */
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { fastifyPlugin } from 'fastify-plugin';
import { runWithAmbientContext } from '../core/ambient.js';
import { DEADLINE_HEADER } from '../core/deadline-header.js';
import type { ObservedServer } from '../core/server-observer.js';
import { AdmittedRequest, type HandlerBound, ServerAdmission } from './admission.js';
import { admittedOf, followResponse } from './node-response.js';
import { checkServerOptions, SERVER_OPTION_KEYS, type WeftServerOptions } from './options.js';
import { DEADLINE_EXCEEDED_RESPONSE, isDeadlineExceeded } from './rejection.js';

/** Options of {@link weftPlugin}: see {@link WeftServerOptions}; `name` defaults to `'fastify'`. */
export type WeftFastifyOptions = WeftServerOptions;

/** weft's settings of one route, under its `config.weft`. */
export interface WeftRouteConfig {
  /** Leave this route alone: no deadline, no limit, never nacked, not counted. */
  exclude?: boolean;
}

/** What {@link weftPlugin} decorates the instance with, as `fastify.weft`. */
export interface WeftFastify {
  /** The server as telemetry and the admin page see it: in flight, limit, draining. */
  readonly server: ObservedServer;
  /**
   * Begin draining: new requests get a nack (503, `weft-nack`, `Retry-After: 0`, the
   * connection closed after it) while those in flight finish. Resolves when the last has finished.
   */
  drain(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** weft's server half (`weftPlugin` of `weft/fastify`): its state and draining. */
    weft: WeftFastify;
  }
  interface FastifyContextConfig {
    /** weft's settings of this route (`weftPlugin` of `weft/fastify`). */
    weft?: WeftRouteConfig;
  }
}

/** Options Fastify's `register` itself reads, allowed beside weft's. */
const REGISTER_OPTION_KEYS = ['prefix', 'logLevel', 'logSerializers'];
const PLUGIN_OPTION_KEYS: ReadonlySet<string> = new Set([...SERVER_OPTION_KEYS, ...REGISTER_OPTION_KEYS]);

const installWeft: FastifyPluginCallback<WeftFastifyOptions> = (fastify, options, done) => {
  let admission: ServerAdmission;
  try {
    admission = new ServerAdmission(checkServerOptions(options, 'fastify', PLUGIN_OPTION_KEYS));
  } catch (error) {
    done(error as Error);
    return;
  }
  const weft: WeftFastify = { server: admission, drain: () => admission.drain() };
  fastify.decorate('weft', weft);

  fastify.addHook('onRequest', (request, reply, next) => {
    const route = request.routeOptions;
    if (route.config?.weft?.exclude === true || admission.excludes(request.raw.url, route.url)) {
      next();
      return;
    }
    const bound: HandlerBound | undefined =
      route.handlerTimeout > 0 ? { timeoutMs: route.handlerTimeout, signal: request.signal } : undefined;
    const verdict = admission.admit(route.url ?? '', request.headers[DEADLINE_HEADER], bound);
    if (!(verdict instanceof AdmittedRequest)) {
      // Answering without calling `next` stops the lifecycle: no body read, no handler.
      reply.code(verdict.status).headers(verdict.headers).send(verdict.body);
      return;
    }
    followResponse(reply.raw, verdict);
    runWithAmbientContext(verdict.context, next);
  });

  fastify.addHook('onError', (_request, reply, error, next) => {
    admittedOf(reply.raw)?.handlerThrew(error);
    next();
  });

  fastify.setErrorHandler(function weftDeadlineErrors(
    error: unknown,
    _request: FastifyRequest,
    reply: FastifyReply,
  ) {
    if (!isDeadlineExceeded(error)) throw error;
    reply
      .code(DEADLINE_EXCEEDED_RESPONSE.status)
      .headers(DEADLINE_EXCEEDED_RESPONSE.headers)
      .send(DEADLINE_EXCEEDED_RESPONSE.body);
  });

  // `fastify.close()`: nack from the start of closing; `onClose` runs once the server has closed.
  fastify.addHook('preClose', (next) => {
    void admission.drain();
    next();
  });
  fastify.addHook('onClose', (_instance: FastifyInstance, next) => {
    admission.close().then(() => next(), next);
  });
  done();
};

/**
 * weft's Fastify 5 plugin: register it first, before the routes and other plugins, so its
 * `onRequest` runs before theirs. Bad options fail the registration with a ConfigError.
 *
 * @example
 * await app.register(weftPlugin, { exclude: ['/healthz'] });
 * app.post('/orders', async (request) => (await inventory.request({ path: '/stock' })).body.json());
 * process.once('SIGTERM', async () => { await app.weft.drain(); await app.close(); });
 */
export const weftPlugin: FastifyPluginCallback<WeftFastifyOptions> = fastifyPlugin(installWeft, {
  name: 'weft',
  fastify: '5.x',
});
