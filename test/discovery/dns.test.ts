/**
 * dnsResolver against a real DNS server (dnsmasq on 127.0.0.1, see test/support/dnsmasq.ts):
 * A/AAAA answers, a changed record picked up after SIGHUP, NXDOMAIN/NODATA as negative, a dead
 * server as failed (stale set kept by DiscoveredEndpoints). The TTL-bounded refresh schedule and
 * the retry backoff run on the VirtualClock with an injected lookup.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { createDnsResolver, type DnsLookup, DnsLookupError, dnsResolver } from '../../src/discovery/dns.js';
import { DiscoveredEndpoints, type EndpointSetSnapshot } from '../../src/discovery/endpoint-set.js';
import type { EndpointSetState, Resolver } from '../../src/discovery/resolver.js';
import { type Dnsmasq, startDnsmasq } from '../support/dnsmasq.js';

const POLL_TIMEOUT_MS = 10_000;

/** Poll `read` every 10 ms until `done` holds; fail after POLL_TIMEOUT_MS (no speed assertion). */
async function eventually<T>(read: () => T, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + POLL_TIMEOUT_MS;
  for (;;) {
    const value = read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The first state a resolver publishes. */
function firstState(resolver: Resolver): Promise<EndpointSetState> {
  return new Promise((resolve) => {
    const off = resolver.subscribe((state) => {
      queueMicrotask(() => off());
      resolve(state);
    });
  });
}

const sorted = (snapshot: EndpointSetSnapshot | EndpointSetState): string[] =>
  'endpoints' in snapshot ? snapshot.endpoints.map((e) => e.address).sort() : [];

describe('dnsResolver against dnsmasq', () => {
  let dnsmasq: Dnsmasq;
  const closeAfter: { close(): void }[] = [];
  const records = {
    'api.weft.test': ['127.0.0.2', '127.0.0.3'],
    'v6.weft.test': ['::1'],
    'dual.weft.test': ['127.0.0.4', '::4'],
  };

  beforeAll(async () => {
    dnsmasq = await startDnsmasq(records);
  });

  afterEach(async () => {
    for (const item of closeAfter.splice(0)) item.close();
    await dnsmasq?.setHosts(records);
  });

  afterAll(async () => {
    await dnsmasq?.stop();
  });

  function resolver(
    hostname: string,
    options: { family?: 4 | 6 | 'any'; servers?: string[] } = {},
  ): Resolver {
    const created = dnsResolver({
      hostname,
      port: 8080,
      servers: [dnsmasq.server],
      minRefreshMs: 50,
      maxRefreshMs: 100,
      timeoutMs: 500,
      tries: 1,
      ...options,
    });
    closeAfter.push(created);
    return created;
  }

  it('resolves A records to endpoints with the port', async () => {
    const r = resolver('api.weft.test');
    expect(r.description).toBe('dns:api.weft.test:8080');
    const state = await firstState(r);
    expect(state.kind).toBe('bound');
    expect(sorted(state)).toEqual(['127.0.0.2:8080', '127.0.0.3:8080']);
  });

  it('resolves AAAA records with family 6, and merges both with family any', async () => {
    expect(sorted(await firstState(resolver('v6.weft.test', { family: 6 })))).toEqual(['[::1]:8080']);
    expect(sorted(await firstState(resolver('dual.weft.test', { family: 'any' })))).toEqual([
      '127.0.0.4:8080',
      '[::4]:8080',
    ]);
    // 'any' with only A records: the missing AAAA (NODATA) does not hide the A answer.
    expect(sorted(await firstState(resolver('api.weft.test', { family: 'any' })))).toEqual([
      '127.0.0.2:8080',
      '127.0.0.3:8080',
    ]);
  });

  it('re-resolves and picks up a changed record', async () => {
    const set = new DiscoveredEndpoints(resolver('api.weft.test'));
    closeAfter.push(set);
    expect(sorted(await set.ready())).toEqual(['127.0.0.2:8080', '127.0.0.3:8080']);
    await dnsmasq.setHosts({ ...records, 'api.weft.test': ['127.0.0.9'] });
    const updated = await eventually(
      () => set.current,
      (s) => sorted(s).join() === '127.0.0.9:8080',
      'the changed A record',
    );
    expect(updated).toMatchObject({ kind: 'bound', stale: false });
  });

  it('reports an unknown name (NXDOMAIN) as negative', async () => {
    const state = await firstState(resolver('missing.weft.test'));
    expect(state.kind).toBe('negative');
    expect(state.kind === 'negative' && state.reason).toMatch(/missing\.weft\.test: A: NXDOMAIN/);
  });

  it('reports a name without records of the family (NODATA) as negative', async () => {
    const state = await firstState(resolver('api.weft.test', { family: 6 }));
    expect(state.kind).toBe('negative');
    expect(state.kind === 'negative' && state.reason).toMatch(/AAAA: NODATA/);
    const both = await firstState(resolver('missing.weft.test', { family: 'any' }));
    expect(both.kind).toBe('negative');
  });

  it('reports a server that does not answer as failed', async () => {
    const other = await startDnsmasq(records);
    const server = other.server;
    await other.stop();
    const state = await firstState(resolver('api.weft.test', { servers: [server] }));
    expect(state.kind).toBe('failed');
    const error = state.kind === 'failed' ? state.error : undefined;
    expect(error).toBeInstanceOf(DnsLookupError);
    expect((error as DnsLookupError).family).toBe(4);
    expect(error?.message).toMatch(/DNS A lookup of api\.weft\.test failed: E[A-Z]+/);
  });

  it('keeps the last set, marked stale, when the server goes down', async () => {
    const other = await startDnsmasq(records);
    try {
      const set = new DiscoveredEndpoints(resolver('api.weft.test', { servers: [other.server] }));
      closeAfter.push(set);
      const good = await set.ready();
      expect(sorted(good)).toEqual(['127.0.0.2:8080', '127.0.0.3:8080']);
      await other.stop();
      const stale = await eventually(
        () => set.current,
        (s) => s.stale,
        'the stale flag after the server stopped',
      );
      expect(stale.kind).toBe('bound');
      expect(stale.endpoints).toBe(good.endpoints);
      expect(stale.error).toBeInstanceOf(DnsLookupError);
    } finally {
      await other.stop();
    }
  });
});

/** A scripted lookup: each call takes the next answer for its family. */
class ScriptedLookup implements DnsLookup {
  readonly calls: (4 | 6)[] = [];
  cancelled = 0;
  readonly #answers: Record<4 | 6, Answer[]> = { 4: [], 6: [] };

  answer(family: 4 | 6, ...answers: Answer[]): this {
    this.#answers[family].push(...answers);
    return this;
  }

  resolve(family: 4 | 6): Promise<readonly { address: string; ttl: number }[]> {
    this.calls.push(family);
    const next = this.#answers[family].shift();
    if (next === undefined)
      return Promise.reject(Object.assign(new Error('unscripted'), { code: 'ESCRIPT' }));
    if (typeof next === 'string')
      return Promise.reject(Object.assign(new Error(`query ${next}`), { code: next }));
    return Promise.resolve(next);
  }

  cancel(): void {
    this.cancelled += 1;
  }
}

type Answer = { address: string; ttl: number }[] | string;

const v4 = (ttl: number, ...addresses: string[]): Answer => addresses.map((address) => ({ address, ttl }));

function scripted(lookup: ScriptedLookup, family: 4 | 6 | 'any' = 4) {
  const clock = new VirtualClock();
  const resolver = createDnsResolver(
    { hostname: 'api.internal', port: 80, family, minRefreshMs: 1_000, maxRefreshMs: 30_000, clock },
    lookup,
  );
  const states: EndpointSetState[] = [];
  resolver.subscribe((state) => states.push(state));
  return { clock, resolver, states };
}

describe('dnsResolver refresh schedule (virtual clock)', () => {
  /** Advance to one ms before `ms`, check no new lookup, then to `ms` and check one. */
  async function expectNextLookupAfter(
    clock: VirtualClock,
    lookup: ScriptedLookup,
    ms: number,
  ): Promise<void> {
    const before = lookup.calls.length;
    await clock.advanceAsync(ms - 1);
    expect(lookup.calls.length).toBe(before);
    await clock.advanceAsync(1);
    expect(lookup.calls.length).toBe(before + 1);
  }

  it('resolves on the first subscribe and then after the TTL, bounded by min and max', async () => {
    const lookup = new ScriptedLookup().answer(
      4,
      v4(5, '10.0.0.1'),
      v4(0, '10.0.0.1'),
      v4(3600, '10.0.0.1'),
      [
        { address: '10.0.0.1', ttl: 9 },
        { address: '10.0.0.2', ttl: 2 },
      ],
      v4(1, '10.0.0.1'),
    );
    const { clock, resolver, states } = scripted(lookup);
    expect(lookup.calls).toEqual([4]);
    await clock.advanceAsync(0);
    expect(states[0]).toMatchObject({ kind: 'bound' });
    await expectNextLookupAfter(clock, lookup, 5_000); // TTL 5 s
    await expectNextLookupAfter(clock, lookup, 1_000); // TTL 0 → minRefreshMs
    await expectNextLookupAfter(clock, lookup, 30_000); // TTL 1 h → maxRefreshMs
    await expectNextLookupAfter(clock, lookup, 2_000); // min TTL of the answer (9 s, 2 s)
    expect(states).toHaveLength(5);
    resolver.close();
  });

  it('retries a failure after minRefreshMs, doubling up to maxRefreshMs, and resets on success', async () => {
    const lookup = new ScriptedLookup().answer(
      4,
      'ETIMEOUT',
      'ESERVFAIL',
      'ECONNREFUSED',
      'ETIMEOUT',
      'ETIMEOUT',
      'ETIMEOUT',
      v4(60, '10.0.0.1'),
      'ETIMEOUT',
    );
    const { clock, resolver, states } = scripted(lookup);
    await clock.advanceAsync(0);
    expect(states[0]).toMatchObject({ kind: 'failed' });
    const error = states[0]?.kind === 'failed' ? states[0].error : undefined;
    expect(error).toBeInstanceOf(DnsLookupError);
    expect((error as DnsLookupError).code).toBe('ETIMEOUT');
    for (const delay of [1_000, 2_000, 4_000, 8_000, 16_000, 30_000]) {
      await expectNextLookupAfter(clock, lookup, delay);
    }
    expect(states.at(-1)).toMatchObject({ kind: 'bound' });
    await expectNextLookupAfter(clock, lookup, 30_000); // TTL 60 s → max
    await expectNextLookupAfter(clock, lookup, 1_000); // backoff restarted
    resolver.close();
  });

  it('treats NXDOMAIN and NODATA as negative, retried with the backoff', async () => {
    const lookup = new ScriptedLookup().answer(4, 'ENOTFOUND', 'ENODATA', [], v4(10, '10.0.0.1'));
    const { clock, resolver, states } = scripted(lookup);
    await clock.advanceAsync(0);
    await expectNextLookupAfter(clock, lookup, 1_000);
    await expectNextLookupAfter(clock, lookup, 2_000);
    await expectNextLookupAfter(clock, lookup, 4_000);
    expect(states.map((s) => s.kind)).toEqual(['negative', 'negative', 'negative', 'bound']);
    expect(states[0]?.kind === 'negative' && states[0].reason).toMatch(/^api\.internal: A: NXDOMAIN/);
    expect(states[1]?.kind === 'negative' && states[1].reason).toMatch(/A: NODATA/);
    resolver.close();
  });

  it("with family 'any': merges, is negative only when both are absent, and keeps a partial answer", async () => {
    const lookup = new ScriptedLookup()
      .answer(4, v4(20, '10.0.0.1'), 'ENODATA', v4(20, '10.0.0.1'), 'ENOTFOUND', 'ETIMEOUT')
      .answer(6, v4(10, '::1'), v4(20, '::1'), 'ETIMEOUT', 'ENOTFOUND', 'ENODATA');
    const { clock, resolver, states } = scripted(lookup, 'any');
    await clock.advanceAsync(0);
    expect(states[0]?.kind === 'bound' && states[0].endpoints.map((e) => e.address)).toEqual([
      '10.0.0.1:80',
      '[::1]:80',
    ]);
    await clock.advanceAsync(10_000); // min TTL of both families
    expect(states[1]?.kind === 'bound' && states[1].endpoints.map((e) => e.address)).toEqual(['[::1]:80']);
    await clock.advanceAsync(20_000);
    // A answered, AAAA timed out: the A records are published, and asked again soon.
    expect(states[2]?.kind === 'bound' && states[2].endpoints.map((e) => e.address)).toEqual(['10.0.0.1:80']);
    await clock.advanceAsync(1_000);
    expect(states[3]).toMatchObject({ kind: 'negative' });
    expect(states[3]?.kind === 'negative' && states[3].reason).toMatch(/A: NXDOMAIN.*AAAA: NXDOMAIN/);
    await clock.advanceAsync(2_000);
    expect(states[4]).toMatchObject({ kind: 'failed' });
    expect(lookup.calls).toEqual([4, 6, 4, 6, 4, 6, 4, 6, 4, 6]);
    resolver.close();
  });

  it('close() cancels the timer and the lookup; later answers are dropped', async () => {
    let release: (records: { address: string; ttl: number }[]) => void = () => {};
    const lookup: DnsLookup & { cancelled: number; calls: number } = {
      cancelled: 0,
      calls: 0,
      resolve() {
        this.calls += 1;
        return new Promise((resolve) => {
          release = resolve;
        });
      },
      cancel() {
        this.cancelled += 1;
      },
    };
    const clock = new VirtualClock();
    const resolver = createDnsResolver({ hostname: 'api.internal', port: 80, clock }, lookup);
    const states: EndpointSetState[] = [];
    resolver.subscribe((state) => states.push(state));
    release([{ address: '10.0.0.1', ttl: 5 }]);
    await clock.advanceAsync(0);
    expect(clock.pendingTimers).toBe(1);
    await clock.advanceAsync(5_000);
    expect(lookup.calls).toBe(2);
    resolver.close();
    resolver.close();
    expect(lookup.cancelled).toBe(1);
    release([{ address: '10.0.0.2', ttl: 5 }]);
    await clock.advanceAsync(60_000);
    expect(states).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
    expect(lookup.calls).toBe(2);
  });

  it('delivers the last state to a later subscriber and resolves only once for both', async () => {
    const lookup = new ScriptedLookup().answer(4, v4(5, '10.0.0.1'));
    const { clock, resolver } = scripted(lookup);
    await clock.advanceAsync(0);
    const late: EndpointSetState[] = [];
    resolver.subscribe((state) => late.push(state));
    expect(late).toEqual([
      { kind: 'bound', endpoints: [expect.objectContaining({ address: '10.0.0.1:80' })] },
    ]);
    expect(lookup.calls).toEqual([4]);
    resolver.close();
  });
});

describe('dnsResolver options', () => {
  const base = { hostname: 'api.internal', port: 80 };
  it.each<[Record<string, unknown>, string]>([
    [{ hostname: '' }, 'dns.hostname'],
    [{ hostname: 'bad name' }, 'dns.hostname'],
    [{ hostname: '-lead.internal' }, 'dns.hostname'],
    [{ hostname: `${'a'.repeat(64)}.internal` }, 'dns.hostname'],
    [{ hostname: '10.0.0.1' }, 'dns.hostname'],
    [{ hostname: 42 }, 'dns.hostname'],
    [{ port: 0 }, 'dns.port'],
    [{ port: 70000 }, 'dns.port'],
    [{ port: '80' }, 'dns.port'],
    [{ family: 5 }, 'dns.family'],
    [{ servers: [] }, 'dns.servers'],
    [{ servers: ['127.0.0.1:53', 'dns.google'] }, 'dns.servers[1]'],
    [{ servers: ['127.0.0.1:99999'] }, 'dns.servers[0]'],
    [{ minRefreshMs: 0 }, 'dns.minRefreshMs'],
    [{ minRefreshMs: 5_000, maxRefreshMs: 1_000 }, 'dns.maxRefreshMs'],
    [{ timeoutMs: 1.5 }, 'dns.timeoutMs'],
    [{ tries: 0 }, 'dns.tries'],
  ])('rejects %j naming %s', (override, option) => {
    let thrown: unknown;
    try {
      dnsResolver({ ...base, ...override } as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).option).toBe(option);
  });

  it('accepts valid names and server forms', () => {
    for (const hostname of ['localhost', 'api.internal.', 'my_service', 'a-1.b-2.example.com']) {
      dnsResolver({ ...base, hostname }).close();
    }
    dnsResolver({ ...base, servers: ['127.0.0.1', '127.0.0.1:5353', '::1', '[::1]:5353'] }).close();
    expect(dnsResolver({ ...base, minRefreshMs: 60_000 }).description).toBe('dns:api.internal:80');
  });
});
