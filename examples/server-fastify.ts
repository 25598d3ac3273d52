// weft's server half in Fastify: a caller calls two replicas of a Fastify service, each with
// weftPlugin registered first, and each replica calls a backend through weft. The caller's 1 s
// deadline reaches the backend shrunk by the time the replica spent. Then replica 1 drains, as
// on SIGTERM: it nacks new requests while the caller goes on calling, and every call succeeds,
// on replica 2. Run: npx tsx examples/server-fastify.ts
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { weftPlugin } from '../src/fastify.js';
import { createHttpClient, DEADLINE_HEADER } from '../src/index.js';
import type { ServerExampleResult } from './server-express.js';

const BUDGET_MS = 1_000;
const REPLICA_WORK_MS = 20;
const CALLS_WHILE_DRAINING = 10;

export async function main(log: (text: string) => void = console.log): Promise<ServerExampleResult> {
  const backend = createServer((req, res) => res.end(String(req.headers[DEADLINE_HEADER])));
  await once(backend.listen(0, '127.0.0.1'), 'listening');
  const toBackend = createHttpClient({ name: 'backend', endpoints: [addressOf(backend)] });

  const replicas = await Promise.all(
    ['replica-1', 'replica-2'].map(async (name) => {
      const app = Fastify();
      // First, before the routes and other plugins; health checks are never nacked.
      await app.register(weftPlugin, { name, exclude: ['/healthz'] });
      app.get('/healthz', async () => ({ draining: app.weft.server.draining }));
      app.post('/quote', async (request) => {
        await sleep(REPLICA_WORK_MS);
        // No deadline passed here: the call inherits what is left of the caller's.
        const answer = await toBackend.request({ path: '/price' });
        return {
          replica: name,
          item: (request.body as { item: string }).item,
          backendReceivedMs: Number(await answer.body.text()),
        };
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return app;
    }),
  );

  const caller = createHttpClient({
    name: 'quotes',
    endpoints: replicas.map((app) => addressOf(app.server)),
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
    for (const app of replicas) {
      app.server.closeAllConnections();
      await app.close();
    }
    await new Promise((resolve) => backend.close(resolve));
  }
}

function addressOf(server: Server): string {
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await main();
