/**
 * A chain of three weft services on loopback, for the server half's end-to-end test:
 *
 *   caller ──► front (Express 5: weftMiddleware + a weft HTTP client)
 *                ──► middle, two replicas (Fastify 5: weftPlugin + a weft HTTP client each)
 *                      ──► back (node:http: runWithIncomingDeadline)
 *
 * Every request carries an id in `x-request-id`, which each hop forwards. Every handler run is
 * recorded with that id and the time its ambient deadline had left when the handler started,
 * so a test can count runs per id (a request processed twice shows as two runs) and compare the
 * deadline hop by hop. Each hop does a few ms of work (a timer) before calling the next, so the
 * time left must shrink from hop to hop. The back's answer is the test's: `backAnswer` gets the
 * request and its response. Each replica reports to its own recording telemetry (nacks among
 * its rejections). `close()` closes every client and server.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { ambientTimeLeft } from '../../src/core/ambient.js';
import { weftErrorHandler, weftMiddleware } from '../../src/express.js';
import { weftPlugin } from '../../src/fastify.js';
import {
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
  roundRobin,
  runWithIncomingDeadline,
} from '../../src/index.js';
import type { ConcurrencyLimit } from '../../src/policies/concurrency-limit/limit.js';
import { type Recorded, recordingTelemetry } from '../server/recorder.js';

/** The header carrying a request's id down the chain. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** The work each hop does before it calls the next one, in ms: the deadline must shrink by it. */
export const HOP_WORK_MS = 5;

/** One handler run: the request's id, and the time its ambient deadline had left at the start. */
export interface HandlerRun {
  readonly id: string;
  readonly timeLeftMs: number;
}

/** A call a hop made to the next one and how it ended. */
export interface OutboundOutcome {
  readonly id: string;
  /** The next hop's status, or the error's name (`AbortError`, ...). */
  readonly outcome: number | string;
}

/** One replica of the middle service. */
export interface MiddleReplica {
  readonly name: string;
  readonly address: string;
  readonly runs: HandlerRun[];
  /** What the replica's server telemetry saw: rejections (nacks) and finished requests. */
  readonly telemetry: Recorded;
  readonly toBack: OutboundOutcome[];
  readonly app: FastifyInstance;
}

/** The chain, started. */
export interface ServiceChain {
  /** The front's port: the caller sends `POST /orders` here. */
  readonly frontPort: number;
  readonly front: {
    readonly runs: HandlerRun[];
    readonly telemetry: Recorded;
    /** The front's weft client to the middle replicas. */
    readonly toMiddle: HttpClient;
    readonly toMiddleOutcomes: OutboundOutcome[];
  };
  readonly middle: readonly [MiddleReplica, MiddleReplica];
  readonly back: {
    readonly runs: HandlerRun[];
    /** Ids of the back's requests whose connection closed before their answer was written. */
    readonly abandoned: string[];
    /** Requests that have reached the back (counted as they arrive, before `backAnswer`). */
    arrived: number;
  };
  /** Close every client and every server, front to back. */
  close(): Promise<void>;
}

export interface ServiceChainOptions {
  /** The concurrency limits of the two middle replicas. */
  readonly middleLimits: readonly [ConcurrencyLimit, ConcurrencyLimit];
  /** How the back answers each request (it has already been counted in `back.runs`). */
  readonly backAnswer: (id: string, req: IncomingMessage, res: ServerResponse) => unknown;
  /** Options added to the front's client to the middle (round robin, otherwise the defaults). */
  readonly frontClient?: Partial<HttpClientOptions> | undefined;
}

/** The id a hop got in `x-request-id`. */
function requestId(headers: IncomingMessage['headers']): string {
  const id = headers[REQUEST_ID_HEADER];
  if (typeof id !== 'string') throw new Error(`request without ${REQUEST_ID_HEADER}`);
  return id;
}

/** The name of what a call threw. */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}

async function startBack(options: ServiceChainOptions): Promise<{
  server: Server;
  state: ServiceChain['back'];
}> {
  const state: ServiceChain['back'] = { runs: [], abandoned: [], arrived: 0 };
  const server = createServer((req, res) =>
    runWithIncomingDeadline(req.headers, () => {
      const id = requestId(req.headers);
      state.arrived++;
      state.runs.push({ id, timeLeftMs: ambientTimeLeft() });
      res.on('close', () => {
        if (!res.writableFinished) state.abandoned.push(id);
      });
      return options.backAnswer(id, req, res);
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, state };
}

async function startMiddle(
  name: string,
  limit: ConcurrencyLimit,
  backAddress: string,
): Promise<MiddleReplica & { client: HttpClient }> {
  const { plugin, recorded } = recordingTelemetry();
  const client = createHttpClient({ name: `${name}-to-back`, endpoints: [backAddress] });
  const runs: HandlerRun[] = [];
  const toBack: OutboundOutcome[] = [];
  const app = Fastify();
  await app.register(weftPlugin, { name, limit, telemetry: plugin });
  app.post('/orders', async (request) => {
    const id = requestId(request.headers);
    runs.push({ id, timeLeftMs: ambientTimeLeft() });
    await sleep(HOP_WORK_MS);
    try {
      const answer = await client.request({
        method: 'POST',
        path: '/work',
        headers: { [REQUEST_ID_HEADER]: id, 'content-type': 'application/json' },
        body: JSON.stringify(request.body),
      });
      toBack.push({ id, outcome: answer.statusCode });
      return { replica: name, back: await answer.body.json() };
    } catch (error) {
      toBack.push({ id, outcome: errorName(error) });
      throw error;
    }
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { name, address: `127.0.0.1:${port}`, runs, telemetry: recorded, toBack, app, client };
}

/** Start the back, the two middle replicas and the front, and return them with their records. */
export async function startServiceChain(options: ServiceChainOptions): Promise<ServiceChain> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closeOne of closers.splice(0).reverse()) await closeOne();
  };
  try {
    const back = await startBack(options);
    closers.push(() => closeServer(back.server));
    const backAddress = `127.0.0.1:${(back.server.address() as AddressInfo).port}`;

    const startReplica = async (name: string, limit: ConcurrencyLimit) => {
      const replica = await startMiddle(name, limit, backAddress);
      closers.push(async () => {
        replica.app.server.closeAllConnections();
        await replica.app.close();
        await replica.client.close();
      });
      return replica;
    };
    const middle: [MiddleReplica, MiddleReplica] = [
      await startReplica('middle-a', options.middleLimits[0]),
      await startReplica('middle-b', options.middleLimits[1]),
    ];

    const toMiddle = createHttpClient({
      name: 'front-to-middle',
      endpoints: middle.map((m) => m.address),
      // Load-blind, so a replica at its limit still gets its turn (and nacks).
      balancer: roundRobin(),
      ...options.frontClient,
    });
    closers.push(() => toMiddle.close());
    const { plugin, recorded } = recordingTelemetry();
    const frontRuns: HandlerRun[] = [];
    const toMiddleOutcomes: OutboundOutcome[] = [];
    const app = express();
    app.set('env', 'test');
    // No limit at the front: the test is its only caller, and every nack must come from the middle.
    app.use(weftMiddleware({ name: 'front', limit: false, telemetry: plugin }));
    app.use(express.json());
    app.post('/orders', async (req, res) => {
      const id = requestId(req.headers);
      frontRuns.push({ id, timeLeftMs: ambientTimeLeft() });
      await sleep(HOP_WORK_MS);
      try {
        const answer = await toMiddle.request({
          method: 'POST',
          path: '/orders',
          headers: { [REQUEST_ID_HEADER]: id, 'content-type': 'application/json' },
          body: JSON.stringify(req.body),
        });
        toMiddleOutcomes.push({ id, outcome: answer.statusCode });
        res.status(answer.statusCode === 200 ? 200 : 502).json({ middle: await answer.body.text() });
      } catch (error) {
        toMiddleOutcomes.push({ id, outcome: errorName(error) });
        throw error;
      }
    });
    app.use(weftErrorHandler());
    const frontServer = app.listen(0, '127.0.0.1');
    closers.push(() => closeServer(frontServer));
    await once(frontServer, 'listening');

    return {
      frontPort: (frontServer.address() as AddressInfo).port,
      front: { runs: frontRuns, telemetry: recorded, toMiddle, toMiddleOutcomes },
      middle,
      back: back.state,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
