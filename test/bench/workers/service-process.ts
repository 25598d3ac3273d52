/**
 * A service under test for the server-side scenarios (`overload`, `server-overhead`), in a process
 * of its own: an Express 5 or Fastify 5 app on 127.0.0.1 answering `GET /` with `ok`, bare or
 * behind a protection: weft's server half (`weftMiddleware` + `weftErrorHandler`, or
 * `weftPlugin`), or @fastify/under-pressure (Fastify only). With a `pool`, the handler first holds
 * one slot of a fixed-size pool (`slots` at once, the rest queueing in arrival order) for `workMs`:
 * a service whose capacity is a worker pool or a connection pool, not its event loop.
 *
 * `async-local-storage-only` is a reference for `server-overhead`, not a protection: one Express
 * middleware, or one callback-style Fastify `onRequest` hook, that only runs the rest of the
 * request inside `AsyncLocalStorage.run` with one small store object allocated per request, as
 * weft's server half runs it to carry the deadline and the cancellation to the handler's outbound
 * calls (src/core/ambient.ts). It shows the part of weft's cost that any per-request async context
 * pays (OpenTelemetry's `AsyncLocalStorageContextManager` too). `GET /store` answers whether its
 * handler ran inside that store (`in a store`, else `no store`), so a test can tell; it is
 * registered after `/`, so `GET /` never reaches it.
 *
 * Argument: JSON {@link ServiceArgs}. Protocol over IPC (../scenarios/common.ts `startWorker`):
 * once listening it sends a {@link ServiceReady} with its port; each `{ stats: true }` is answered
 * with its {@link ServiceStats} (counts since it started, and its CPU time); `{ close: true }`
 * closes the server and ends the process, as does the parent going away.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AddressInfo } from 'node:net';
import { weftExpress, weftFastify, weftPolicies } from '../weft-server.js';

/** Which framework serves, behind which protection. */
export interface ServiceArgs {
  framework: 'express' | 'fastify';
  /**
   * `weft`: weft's server half; `under-pressure`: @fastify/under-pressure (Fastify only);
   * `async-local-storage-only`: no protection, only `AsyncLocalStorage.run` around the rest of each
   * request with a store allocated per request (a reference: weft's ambient context without weft).
   */
  protection: 'none' | 'weft' | 'under-pressure' | 'async-local-storage-only';
  /** weft's limit: Gradient2 with these options (`weft/policies` `gradient2`); absent, the server half's default. */
  gradient2?: { minLimit?: number; initialLimit?: number; maxLimit?: number };
  /** @fastify/under-pressure's options (absent: its defaults, which check nothing). */
  underPressure?: { maxEventLoopDelay?: number; maxEventLoopUtilization?: number };
  /** The handler holds one of `slots` for `workMs` before answering; absent, it answers at once. */
  pool?: { slots: number; workMs: number };
}

export interface ServiceReady {
  port: number;
}

/** What the service counted since it started. */
export interface ServiceStats {
  /** Handlers that ran (with a pool: that finished their work). */
  handled: number;
  /** Of those, handlers whose caller had gone (connection closed) before the work finished: wasted work. */
  handledForNobody: number;
  /** Process CPU time (user + system) so far, µs. */
  cpuUs: number;
  /** weft's concurrency limit now, when weft protects the service. */
  limit?: number;
}

export type ServiceMessage = { stats: true } | { close: true };

const args = JSON.parse(process.argv[2] ?? '{}') as ServiceArgs;
const stats: ServiceStats = { handled: 0, handledForNobody: 0, cpuUs: 0 };

/** A fixed-size pool: `acquire` resolves once a slot is free, first come first served. */
class SlotPool {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly slots: number) {}

  acquire(): Promise<void> | undefined {
    if (this.busy < this.slots) {
      this.busy++;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hand the slot to the next in line, or free it. */
  release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.busy--;
    else next();
  }
}

const pool = args.pool === undefined ? undefined : new SlotPool(args.pool.slots);
const workMs = args.pool?.workMs ?? 0;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The handler's work: with a pool, hold a slot for `workMs`; `gone` says whether the caller left meanwhile. */
async function work(gone: () => boolean): Promise<void> {
  if (pool !== undefined) {
    await pool.acquire();
    try {
      await sleep(workMs);
    } finally {
      pool.release();
    }
  }
  stats.handled++;
  if (gone()) stats.handledForNobody++;
}

/** What `async-local-storage-only` keeps per request: one small object, as weft's `AmbientContext`. */
interface RequestStore {
  readonly deadline: number;
}

/** The process's one store for `async-local-storage-only`, as weft keeps one (src/core/ambient.ts). */
const storage = new AsyncLocalStorage<RequestStore>();

/**
 * `GET /store`'s answer: whether its handler runs inside an `async-local-storage-only` store
 * (`in a store`) or not (`no store`). A route of its own, after `/`, so that `GET /` reads nothing.
 */
const storeSeen = () => (storage.getStore() === undefined ? 'no store' : 'in a store');

const weftLimit = () =>
  args.gradient2 === undefined ? {} : { limit: weftPolicies.gradient2(args.gradient2) };

/** Start the app; resolves with its port and how to close it. */
async function start(): Promise<{ port: number; close(): Promise<void>; limit(): number | undefined }> {
  if (args.framework === 'express') {
    if (args.protection === 'under-pressure') throw new Error('under-pressure is a Fastify plugin');
    const { default: express } = await import('express');
    const app = express();
    const weft = args.protection === 'weft' ? weftExpress.weftMiddleware(weftLimit()) : undefined;
    if (weft !== undefined) app.use(weft);
    if (args.protection === 'async-local-storage-only') {
      app.use((_req, _res, next) => {
        storage.run({ deadline: Number.POSITIVE_INFINITY }, next);
      });
    }
    app.get('/', (req, res, next) => {
      work(() => req.socket.destroyed).then(() => res.send('ok'), next);
    });
    app.get('/store', (_req, res) => {
      res.send(storeSeen());
    });
    if (args.protection === 'weft') app.use(weftExpress.weftErrorHandler());
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    server.keepAliveTimeout = 60_000;
    return {
      port: (server.address() as AddressInfo).port,
      limit: () => weft?.server.limit,
      close: () =>
        new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ keepAliveTimeout: 60_000 });
  if (args.protection === 'weft') await app.register(weftFastify.weftPlugin, weftLimit());
  if (args.protection === 'under-pressure') {
    const { default: underPressure } = await import('@fastify/under-pressure');
    await app.register(underPressure, args.underPressure ?? {});
  }
  if (args.protection === 'async-local-storage-only') {
    app.addHook('onRequest', (_request, _reply, done) => {
      storage.run({ deadline: Number.POSITIVE_INFINITY }, done);
    });
  }
  app.get('/', async (request) => {
    await work(() => request.raw.socket.destroyed);
    return 'ok';
  });
  app.get('/store', async () => storeSeen());
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    port: (app.server.address() as AddressInfo).port,
    limit: () => (args.protection === 'weft' ? app.weft.server.limit : undefined),
    close: () => app.close(),
  };
}

const service = await start();
const exit = () => void service.close().finally(() => process.exit(0));
process.on('disconnect', exit);
process.on('message', (message: ServiceMessage) => {
  if ('close' in message) {
    exit();
    return;
  }
  const cpu = process.cpuUsage();
  stats.cpuUs = cpu.user + cpu.system;
  const limit = service.limit();
  if (process.connected)
    process.send?.({ ...stats, ...(limit === undefined ? {} : { limit }) }, undefined, {}, () => {});
});
process.send?.({ port: service.port } satisfies ServiceReady);
