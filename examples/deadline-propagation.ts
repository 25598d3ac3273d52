// Deadline propagation over two hops: a caller gives the front server a 1 s budget; the front
// serves inside runWithIncomingDeadline, spends 50 ms, then calls the back server through weft,
// which sends only the time left as `weft-timeout-ms`. Run: npx tsx examples/deadline-propagation.ts
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { createHttpClient, DEADLINE_HEADER, runWithIncomingDeadline } from '../src/index.js';

const BUDGET_MS = 1_000;
const FRONT_WORK_MS = 50;

export interface DeadlineResult {
  /** The caller's total timeout. */
  budgetMs: number;
  /** `weft-timeout-ms` as the front server received it. */
  frontReceivedMs: number;
  /** `weft-timeout-ms` as the back server received it: the front's budget minus the time it spent. */
  backReceivedMs: number;
}

export async function main(log: (text: string) => void = console.log): Promise<DeadlineResult> {
  const back = await listen(
    createServer((req, res) => res.end(JSON.stringify({ receivedMs: headerMs(req) }))),
  );
  const backClient = createHttpClient({ name: 'back', endpoints: [addressOf(back)] });
  const front = await listen(
    createServer((req, res) => {
      // Every weft call made inside this handler inherits what is left of the incoming deadline.
      runWithIncomingDeadline(req.headers, async () => {
        await sleep(FRONT_WORK_MS);
        const answer = await backClient.request({ path: '/' });
        const { receivedMs } = (await answer.body.json()) as { receivedMs: number };
        res.end(JSON.stringify({ frontReceivedMs: headerMs(req), backReceivedMs: receivedMs }));
      }).catch((error: unknown) => {
        res.statusCode = 504;
        res.end(String(error));
      });
    }),
  );
  const caller = createHttpClient({ name: 'front', endpoints: [addressOf(front)] });
  try {
    const res = await caller.request({ path: '/', timeoutMs: BUDGET_MS });
    const hops = (await res.body.json()) as Omit<DeadlineResult, 'budgetMs'>;
    const result = { budgetMs: BUDGET_MS, ...hops };
    log(
      `caller budget ${result.budgetMs} ms -> front got ${DEADLINE_HEADER}: ${result.frontReceivedMs}` +
        ` -> back got ${DEADLINE_HEADER}: ${result.backReceivedMs} (after ${FRONT_WORK_MS} ms of work)`,
    );
    return result;
  } finally {
    await caller.close();
    await backClient.close();
    await Promise.all([front, back].map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

function headerMs(req: IncomingMessage): number {
  return Number(req.headers[DEADLINE_HEADER]);
}

async function listen(server: Server): Promise<Server> {
  await once(server.listen(0, '127.0.0.1'), 'listening');
  return server;
}

function addressOf(server: Server): string {
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await main();
