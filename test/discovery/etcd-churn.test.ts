/**
 * Churn under load through etcd: a real weft HTTP client whose resolver is etcdResolver (a real
 * etcd, test/support/etcd.ts) sends a bounded stream of calls to five node:http servers on
 * 127.0.0.1 while instances are registered and deregistered in etcd, one swap per step. No call
 * fails, every change reaches the client, and the endpoint that stays throughout keeps its
 * history (its attempt count never drops across updates).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdResolver } from '../../src/discovery/etcd.js';
import { createHttpClient, type HttpClient } from '../../src/index.js';
import { type Etcd, startEtcd } from '../support/etcd.js';
import { type Backend, Backends, replyAfter } from '../support/http-servers.js';

const MAX_CALLS = 6_000;
const WORKERS = 8;
const STEPS = 24;
const WAIT_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('etcd churn under load', () => {
  let etcd: Etcd;
  const backends = new Backends();

  beforeAll(async () => {
    etcd = await startEtcd();
  });

  afterAll(async () => {
    await backends.closeAll();
    await etcd?.stop();
  });

  it('instances swapped in etcd while calls run: zero failed calls, history kept for the one that stays', async () => {
    const pool: Backend[] = await Promise.all([0, 1, 2, 3, 4].map(() => backends.start(replyAfter(2))));
    const prefix = 'services/churn/';
    const key = (i: number) => `${prefix}instance-${i}`;
    const value = (i: number) => JSON.stringify({ Addr: pool[i]!.address });
    for (const i of [0, 1, 2, 3]) await etcd.put(key(i), value(i));

    const client: HttpClient = createHttpClient({
      resolver: etcdResolver({ endpoints: [etcd.url], prefix }),
    });
    const current = () =>
      client
        .discovery()
        .endpoints.map((e) => e.address)
        .sort()
        .join();
    const expected = (members: readonly number[]) =>
      members
        .map((i) => pool[i]!.address)
        .sort()
        .join();
    await waitFor(() => current() === expected([0, 1, 2, 3]), 'the first set');

    let sent = 0;
    let ok = 0;
    let churning = true;
    const failures: unknown[] = [];
    const worker = async (): Promise<void> => {
      while (sent < MAX_CALLS && (churning || sent < 200)) {
        sent++;
        try {
          const res = await client.request({ path: '/' });
          await res.body.text();
          ok++;
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const workers = Array.from({ length: WORKERS }, worker);

    // Instance 0 stays; of 1–4, one is out at a time, and each step swaps it with the next.
    const stayer = pool[0]!.address;
    const stayerAttempts: number[] = [];
    let out = 4;
    let observedChanges = 0;
    try {
      await waitFor(() => sent > 100, 'load to start');
      for (let step = 0; step < STEPS && sent < MAX_CALLS; step++) {
        const leaving = (step % 4) + 1;
        await etcd.put(key(out), value(out));
        await etcd.delete(key(leaving));
        const members = [0, 1, 2, 3, 4].filter((i) => i !== leaving);
        await waitFor(() => current() === expected(members), `step ${step}'s set`);
        observedChanges++;
        out = leaving;
        stayerAttempts.push(client.endpoints().find((e) => e.address === stayer)?.attempts ?? -1);
        await sleep(20);
      }
    } finally {
      churning = false;
      await Promise.all(workers);
      await client.close();
    }

    expect(failures).toEqual([]);
    expect(ok).toBe(sent);
    expect(observedChanges).toBeGreaterThanOrEqual(8);
    for (const backend of pool) expect(backend.seen.length).toBeGreaterThan(0);
    // The stayer's 30 s attempt window only grows: no update reset its history.
    expect(stayerAttempts[0]).toBeGreaterThan(0);
    for (let i = 1; i < stayerAttempts.length; i++) {
      expect(stayerAttempts[i]).toBeGreaterThanOrEqual(stayerAttempts[i - 1]!);
    }
    expect(client.discovery().stale).toBe(false);
  });
});
