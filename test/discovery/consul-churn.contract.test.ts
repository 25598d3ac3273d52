/**
 * Churn under load through the Consul resolver (against the blocking-query server of
 * test/support/consul-api.ts): a real weft HTTP client sends a bounded stream of calls to
 * node:http backends on 127.0.0.1 while instances register, deregister and fail their checks,
 * Consul answers 500s, and its index goes backwards. Zero failed calls; the instance that stays
 * keeps its history.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { consulResolver } from '../../src/discovery.js';
import { createHttpClient, type HttpClient } from '../../src/index.js';
import { ConsulApiServer } from '../support/consul-api.js';
import { type Backend, Backends, replyAfter } from '../support/http-servers.js';

let consul: ConsulApiServer | undefined;
let client: HttpClient | undefined;
const backends = new Backends();
afterEach(async () => {
  await client?.close();
  client = undefined;
  await consul?.close();
  consul = undefined;
  await backends.closeAll();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('Consul resolver under churn (contract)', () => {
  it('instances come, go and fail checks, Consul errs and its index goes backwards: zero failed calls', async () => {
    const pool = await Promise.all([0, 1, 2, 3].map(() => backends.start(replyAfter(2))));
    const [stable, ...churners] = pool as [Backend, ...Backend[]];
    consul = await ConsulApiServer.start();
    const server = consul;
    const register = (id: string, backend: Backend) =>
      server.register('api', { id, node: `node-${id}`, nodeAddress: '127.0.0.1', port: backend.port });
    register('stable', stable);
    register('c0', churners[0]!);
    client = createHttpClient({
      resolver: consulResolver({
        service: 'api',
        address: server.address,
        waitSeconds: 1,
        minIntervalMs: 10,
        reconnect: { baseMs: 20, maxMs: 100 },
      }),
    });
    const active = client;
    let running = true;
    let ok = 0;
    const failures: unknown[] = [];
    const worker = async () => {
      for (let i = 0; running && i < 20_000; i++) {
        try {
          const res = await active.request({ path: '/' });
          await res.body.text();
          ok++;
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    try {
      await waitFor(() => stable.seen.length > 20, 'first traffic');
      const steps: (() => void)[] = [
        () => register('c1', churners[1]!),
        () => server.setStatus('api', 'c0', 'critical'),
        () => register('c2', churners[2]!),
        () => server.deregister('api', 'c1'),
        () => server.failNext.push(500),
        () => server.setStatus('api', 'c0', 'passing'),
        () => server.deregister('api', 'c2'),
        () => {
          server.restoreIndex(3);
          register('c1', churners[1]!);
        },
        () => register('c2', churners[2]!),
      ];
      for (let round = 0; round < 2; round++) {
        for (const step of steps) {
          step();
          await sleep(60);
        }
      }
      await waitFor(() => active.endpoints().length === 4, 'all four endpoints');
      await waitFor(() => churners.every((b) => b.seen.length > 5), 'traffic to every backend');
      // The last injected 500 may wait for a blocking query that the index restore left stuck until its wait.
      await waitFor(() => server.failNext.length === 0, 'the last injected failure to be served');
      await waitFor(() => !active.discovery().stale, 'the source to answer again after the last fault');
    } finally {
      running = false;
      await Promise.all(workers);
    }
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(200);
    const snapshot = active.discovery();
    expect(
      snapshot.stale,
      `${snapshot.error?.message ?? snapshot.reason} ${server.requests
        .slice(-8)
        .map((r) => r.query.toString())
        .join(' | ')}`,
    ).toBe(false);
    expect(snapshot.kind).toBe('bound');
    const stableStats = active.endpoints().find((e) => e.address === stable.address);
    expect(stableStats?.attempts).toBe(stable.seen.length);
  });
});
