/**
 * Churn through DNS SRV under load: a real weft HTTP client whose resolver is dnsSrvResolver on a
 * real dnsmasq sends a bounded stream of calls to five node:http backends on 127.0.0.1 (one SRV
 * record per backend port) while the SRV records change step after step (each change restarts
 * dnsmasq), with one step where dnsmasq is frozen so that lookups time out (failed: the client
 * keeps the last set, stale). No call may fail, endpoints that leave finish what they have in
 * flight, and an endpoint that stays keeps its history (its attempt count does not start over).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dnsSrvResolver } from '../../src/discovery/dns-srv.js';
import { createHttpClient, type HttpClient } from '../../src/http/client.js';
import { type Dnsmasq, type SrvRecords, startDnsmasq } from '../support/dnsmasq.js';
import { Backends, replyAfter } from '../support/http-servers.js';

const SRV_NAME = '_http._tcp.churn.weft.test';
const TARGET = 'churn.weft.test';
/** Bound of each wait; a step normally takes well under a second. */
const WAIT_MS = 15_000;
/** Bound of a whole churn test (its steps each wait at most WAIT_MS). */
const CHURN_TEST_TIMEOUT_MS = 60_000;

const backends = new Backends();
let dns: Dnsmasq | undefined;
let client: HttpClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  await backends.closeAll();
  await dns?.stop();
  dns = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** `loops` concurrent call loops (bounded) until `during` settles; every failure is kept. */
async function underLoad(api: HttpClient, loops: number, during: () => Promise<void>) {
  let running = true;
  let ok = 0;
  const failures: unknown[] = [];
  const loop = async () => {
    for (let i = 0; running && i < 20_000; i++) {
      try {
        const res = await api.request({ path: '/' });
        await res.body.text();
        ok++;
      } catch (error) {
        failures.push(error);
      }
    }
  };
  const workers = Array.from({ length: loops }, loop);
  try {
    await during();
  } finally {
    running = false;
    await Promise.all(workers);
  }
  return { ok, failures };
}

describe('dnsSrvResolver churn under load', () => {
  it(
    'SRV records that change step after step fail no call; endpoints that stay keep their history',
    async () => {
      const pool = await Promise.all([0, 1, 2, 3, 4].map(() => backends.start(replyAfter(3))));
      const records = (set: readonly number[]): SrvRecords => ({
        [SRV_NAME]: set.map((i) => ({ target: TARGET, port: pool[i]!.port, priority: 10, weight: 10 + i })),
      });
      const addressesOf = (set: readonly number[]) => set.map((i) => pool[i]!.address).sort();
      dns = await startDnsmasq({ [TARGET]: ['127.0.0.1'] }, records([0, 1]));
      client = createHttpClient({
        resolver: dnsSrvResolver({
          name: SRV_NAME,
          servers: [dns.server],
          minRefreshMs: 50,
          maxRefreshMs: 100,
          timeoutMs: 200,
          tries: 1,
          backoff: { baseMs: 50, maxMs: 100 },
        }),
      });
      const api = client;
      const steps = [[1, 2], [2, 3, 4], [0, 4], [0, 1, 3], [3], [0, 1, 2, 3, 4]];
      const { ok, failures } = await underLoad(api, 6, async () => {
        await waitFor(
          () => pool[0]!.seen.length > 10 && pool[1]!.seen.length > 10,
          'traffic to the first set',
        );
        let current = [0, 1];
        for (const next of steps) {
          const stays = current.filter((i) => next.includes(i)).map((i) => pool[i]!.address);
          const before = new Map(api.endpoints().map((e) => [e.address, e.attempts]));
          await dns!.setSrv(records(next));
          await waitFor(
            () => {
              const now = api.discovery();
              return (
                !now.stale &&
                now.endpoints
                  .map((e) => e.address)
                  .sort()
                  .join() === addressesOf(next).join()
              );
            },
            `the set ${next.join(',')}`,
          );
          const after = new Map(api.endpoints().map((e) => [e.address, e.attempts]));
          for (const address of stays) {
            // A new node would start from 0 attempts; a kept one goes on counting.
            expect(after.get(address)).toBeGreaterThanOrEqual(before.get(address) ?? Number.NaN);
            expect(after.get(address)).toBeGreaterThan(0);
          }
          const seen = next.map((i) => pool[i]!.seen.length);
          await waitFor(
            () => next.every((i, k) => pool[i]!.seen.length > seen[k]!),
            'traffic to every endpoint of the set',
          );
          current = next;
          if (next.length === 1) {
            // An outage of the DNS server in the middle of the churn: lookups time out.
            dns!.pause();
            try {
              await waitFor(() => api.discovery().stale, 'the set kept, stale, while DNS is frozen');
              const during = pool[next[0]!]!.seen.length;
              await waitFor(() => pool[next[0]!]!.seen.length > during + 20, 'traffic while DNS is frozen');
            } finally {
              dns!.resume();
            }
          }
        }
      });
      expect(failures).toEqual([]);
      expect(ok).toBeGreaterThan(100);
      for (const backend of pool) expect(backend.seen.length).toBeGreaterThan(0);
      // Weights came from the SRV records.
      expect(
        api
          .endpoints()
          .map((e) => e.weight)
          .sort((a, b) => a - b),
      ).toEqual([10, 11, 12, 13, 14]);
    },
    CHURN_TEST_TIMEOUT_MS,
  );

  it('a DNS server that does not answer at start-up makes the first call wait; it goes on once DNS answers', async () => {
    const backend = await backends.start(replyAfter(1));
    dns = await startDnsmasq(
      { [TARGET]: ['127.0.0.1'] },
      { [SRV_NAME]: [{ target: TARGET, port: backend.port }] },
    );
    dns.pause();
    client = createHttpClient({
      resolver: dnsSrvResolver({
        name: SRV_NAME,
        servers: [dns.server],
        timeoutMs: 100,
        tries: 1,
        backoff: { baseMs: 50, maxMs: 100 },
      }),
    });
    const api = client;
    const waiting = api.request({ path: '/', timeoutMs: 5_000 });
    await waitFor(() => api.discovery().kind === 'failed', 'the first lookup to fail');
    dns.resume();
    const res = await waiting;
    expect(await res.body.text()).toBe('ok');
    expect(api.discovery().kind).toBe('bound');
  });
});
