/**
 * Discovery changes while calls are in flight: static updates and DNS re-resolution (real dnsmasq)
 * never fail a call; a DNS server that dies leaves the last set in use, marked stale.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpClient, dnsResolver, type HttpClient, staticResolver } from '../../src/index.js';
import { type Dnsmasq, startDnsmasq } from '../support/dnsmasq.js';
import { type Backend, Backends, replyAfter, startBackend } from '../support/http-servers.js';

const backends = new Backends();
const extra: Backend[] = [];
let dns: Dnsmasq | undefined;
afterEach(async () => {
  await backends.closeAll();
  await Promise.all(extra.splice(0).map((b) => b.close()));
  await dns?.stop();
  dns = undefined;
});

/** Run `loops` concurrent request loops until `stop()` resolves; count results. */
async function underLoad(client: HttpClient, loops: number, during: () => Promise<void>) {
  let running = true;
  let ok = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    for (let i = 0; running && i < 100_000; i++) {
      try {
        const res = await client.request({ path: '/' });
        await res.body.text();
        ok++;
      } catch (error) {
        failures.push(error);
      }
    }
  };
  const workers = Array.from({ length: loops }, worker);
  try {
    await during();
  } finally {
    running = false;
    await Promise.all(workers);
  }
  return { ok, failures };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('discovery updates under load', () => {
  it('static endpoint changes every 50 ms fail no call, even to endpoints that leave', async () => {
    const pool = await Promise.all([0, 1, 2, 3].map(() => backends.start(replyAfter(5))));
    const resolver = staticResolver([pool[0]!.address, pool[1]!.address]);
    const client = createHttpClient({ resolver });
    const sets = [[0, 1], [2], [1, 3], [0, 2, 3], [3], [0, 1, 2, 3]];
    const { ok, failures } = await underLoad(client, 8, async () => {
      for (let round = 0; round < 3; round++) {
        for (const set of sets) {
          resolver.update(set.map((i) => pool[i]!.address));
          await sleep(50);
        }
      }
    });
    await client.close();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(100);
    for (const b of pool) expect(b.seen.length).toBeGreaterThan(0);
  });

  it('DNS re-resolution moves traffic to the new address without a failed call', async () => {
    // Two backends on the same port, different loopback addresses, so DNS alone tells them apart.
    const a = await startBackend(replyAfter(2));
    extra.push(a);
    const b = await startBackend(replyAfter(2), a.port, '127.0.0.2');
    extra.push(b);
    dns = await startDnsmasq({ 'api.weft.test': ['127.0.0.1'] });
    const client = createHttpClient({
      resolver: dnsResolver({
        hostname: 'api.weft.test',
        port: a.port,
        servers: [dns.server],
        minRefreshMs: 50,
        maxRefreshMs: 100,
      }),
    });
    const { failures } = await underLoad(client, 4, async () => {
      await waitFor(() => a.seen.length > 20, 'traffic to 127.0.0.1');
      await dns!.setHosts({ 'api.weft.test': ['127.0.0.2'] });
      await waitFor(() => b.seen.length > 20, 'traffic to 127.0.0.2');
      await dns!.setHosts({ 'api.weft.test': ['127.0.0.1', '127.0.0.2'] });
      await waitFor(() => client.endpoints().length === 2, 'both addresses');
    });
    await client.close();
    expect(failures).toEqual([]);
    expect(client.discovery().stale).toBe(false);
  });

  it('a DNS server that dies leaves the last set in use, marked stale', async () => {
    const a = await backends.start(replyAfter(1));
    dns = await startDnsmasq({ 'api.weft.test': ['127.0.0.1'] });
    const client = createHttpClient({
      resolver: dnsResolver({
        hostname: 'api.weft.test',
        port: a.port,
        servers: [dns.server],
        minRefreshMs: 50,
        maxRefreshMs: 100,
        timeoutMs: 200,
        tries: 1,
      }),
    });
    const { failures } = await underLoad(client, 4, async () => {
      await waitFor(() => a.seen.length > 10, 'first traffic');
      await dns!.stop();
      await waitFor(() => client.discovery().stale, 'the set to be marked stale');
      const before = a.seen.length;
      await waitFor(() => a.seen.length > before + 20, 'traffic to continue');
    });
    await client.close();
    expect(failures).toEqual([]);
    expect(client.discovery().kind).toBe('bound');
    expect(client.discovery().error).toBeDefined();
  });
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
