// weft's server half in Express: a caller calls two replicas of an Express service, each with
// weftMiddleware first, and each replica calls a backend through weft. The caller's 1 s deadline
// reaches the backend shrunk by the time the replica spent. Then replica 1 drains, as on
// SIGTERM: it nacks new requests while the caller goes on calling, and every call succeeds, on
// replica 2. Run: npx tsx examples/server-express.ts
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { weftErrorHandler, weftMiddleware } from '../src/express.js';
import { createHttpClient, DEADLINE_HEADER } from '../src/index.js';

const BUDGET_MS = 1_000;
const REPLICA_WORK_MS = 20;
const CALLS_WHILE_DRAINING = 10;

export interface ServerExampleResult {
  /** The caller's timeout. */
  budgetMs: number;
  /** `weft-timeout-ms` as the backend received it, through a replica. */
  backendReceivedMs: number;
  /** Calls made while replica 1 drained, and how many failed. */
  callsWhileDraining: number;
  failedWhileDraining: number;
  /** Which replica served them. */
  servedWhileDraining: Record<string, number>;
}

export async function main(log: (text: string) => void = console.log): Promise<ServerExampleResult> {
  const backend = await listen(createServer((req, res) => res.end(String(req.headers[DEADLINE_HEADER]))));
  const toBackend = createHttpClient({ name: 'backend', endpoints: [addressOf(backend)] });

  const replicas = ['replica-1', 'replica-2'].map((name) => {
    const app = express();
    // First, before the body parser and the routes; health checks are never nacked.
    const weft = weftMiddleware({ name, exclude: ['/healthz'] });
    app.use(weft);
    app.use(express.json());
    app.get('/healthz', (_req, res) => {
      res.json({ draining: weft.server.draining });
    });
    app.post('/quote', async (req, res) => {
      await sleep(REPLICA_WORK_MS);
      // No deadline passed here: the call inherits what is left of the caller's.
      const answer = await toBackend.request({ path: '/price' });
      res.json({
        replica: name,
        item: (req.body as { item: string }).item,
        backendReceivedMs: Number(await answer.body.text()),
      });
    });
    app.use(weftErrorHandler()); // a DeadlineExceededError becomes 504
    return { weft, server: app.listen(0, '127.0.0.1') };
  });
  await Promise.all(replicas.map(({ server }) => once(server, 'listening')));

  const caller = createHttpClient({
    name: 'quotes',
    endpoints: replicas.map(({ server }) => addressOf(server)),
  });
  const quote = async () => {
    const res = await caller.request({
      method: 'POST',
      path: '/quote',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ item: 'tea' }),
      timeoutMs: BUDGET_MS,
    });
    return (await res.body.json()) as { replica: string; backendReceivedMs: number };
  };
  try {
    const first = await quote();
    log(`caller budget ${BUDGET_MS} ms -> the backend got ${DEADLINE_HEADER}: ${first.backendReceivedMs}`);

    // What a SIGTERM handler does: drain (new requests nacked, in-flight ones finish), then close.
    await replicas[0]!.weft.drain();
    const served: Record<string, number> = {};
    let failed = 0;
    for (let i = 0; i < CALLS_WHILE_DRAINING; i++) {
      try {
        const { replica } = await quote();
        served[replica] = (served[replica] ?? 0) + 1;
      } catch {
        failed++;
      }
    }
    log(
      `replica-1 draining: ${CALLS_WHILE_DRAINING} calls, ${failed} failed, served by ${JSON.stringify(served)}`,
    );
    return {
      budgetMs: BUDGET_MS,
      backendReceivedMs: first.backendReceivedMs,
      callsWhileDraining: CALLS_WHILE_DRAINING,
      failedWhileDraining: failed,
      servedWhileDraining: served,
    };
  } finally {
    await caller.close();
    await toBackend.close();
    for (const { server } of replicas) server.closeAllConnections();
    await Promise.all(
      [backend, ...replicas.map(({ server }) => server)].map(
        (s) => new Promise((resolve) => s.close(resolve)),
      ),
    );
  }
}

async function listen(server: Server): Promise<Server> {
  await once(server.listen(0, '127.0.0.1'), 'listening');
  return server;
}

function addressOf(server: Server): string {
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await main();
