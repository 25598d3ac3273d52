/**
 * dnsSrvResolver against a real DNS server (dnsmasq on 127.0.0.1 with `--srv-host` records, see
 * test/support/dnsmasq.ts): priorities and weights (RFC 2782), the target "." and NXDOMAIN/NODATA
 * as negative, changed records picked up on refresh, a stopped server as failed (the last set kept
 * stale by DiscoveredEndpoints). The TTL-bounded refresh schedule, the jittered retry backoff and
 * partial target failures run on the VirtualClock with a scripted lookup.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { DnsLookupError } from '../../src/discovery/dns.js';
import {
  createDnsSrvResolver,
  type DnsSrvLookup,
  DnsSrvLookupError,
  dnsSrvResolver,
  type SrvAnswer,
} from '../../src/discovery/dns-srv.js';
import { DiscoveredEndpoints, type EndpointSetSnapshot } from '../../src/discovery/endpoint-set.js';
import type { EndpointSetState, Resolver } from '../../src/discovery/resolver.js';
import { type Dnsmasq, type SrvRecords, startDnsmasq } from '../support/dnsmasq.js';

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

/** `address weight priority` per endpoint, sorted. */
const described = (state: EndpointSetSnapshot | EndpointSetState): string[] =>
  'endpoints' in state
    ? state.endpoints.map((e) => `${e.address} w=${e.weight} p=${e.metadata?.priority}`).sort()
    : [];

const HOSTS = {
  'a1.weft.test': ['127.0.0.11'],
  'a2.weft.test': ['127.0.0.12'],
  'b1.weft.test': ['127.0.0.13'],
  'multi.weft.test': ['127.0.0.14', '127.0.0.15'],
  'v6.weft.test': ['::1'],
};

const SRV: SrvRecords = {
  '_http._tcp.api.weft.test': [
    { target: 'a1.weft.test', port: 8080, priority: 10, weight: 60 },
    { target: 'a2.weft.test', port: 8081, priority: 10, weight: 0 },
    { target: 'b1.weft.test', port: 9090, priority: 20, weight: 5 },
  ],
  '_http._tcp.multi.weft.test': [{ target: 'multi.weft.test', port: 7000, priority: 1, weight: 30 }],
  '_http._tcp.gone.weft.test': [{ target: '.' }],
  '_http._tcp.v6.weft.test': [
    { target: 'v6.weft.test', port: 7001, priority: 1, weight: 1 },
    { target: 'a1.weft.test', port: 7002, priority: 1, weight: 1 },
  ],
  // The preferred group's target does not exist: the next group is the one that can be reached.
  '_http._tcp.fallback.weft.test': [
    { target: 'nowhere.weft.test', port: 8080, priority: 1, weight: 1 },
    { target: 'a2.weft.test', port: 8082, priority: 2, weight: 1 },
  ],
  '_http._tcp.partial.weft.test': [
    { target: 'nowhere.weft.test', port: 8080, priority: 1, weight: 1 },
    { target: 'a1.weft.test', port: 8083, priority: 1, weight: 1 },
  ],
  '_http._tcp.dangling.weft.test': [{ target: 'nowhere.weft.test', port: 8080, priority: 1, weight: 1 }],
};

describe('dnsSrvResolver against dnsmasq', () => {
  let dnsmasq: Dnsmasq;
  const closeAfter: { close(): void }[] = [];

  beforeAll(async () => {
    dnsmasq = await startDnsmasq(HOSTS, SRV);
  });

  afterEach(() => {
    for (const item of closeAfter.splice(0)) item.close();
  });

  afterAll(async () => {
    await dnsmasq?.stop();
  });

  function resolver(
    name: string,
    options: { family?: 4 | 6 | 'any'; priorities?: 'lowest' | 'all'; servers?: string[] } = {},
  ): Resolver {
    const created = dnsSrvResolver({
      name,
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

  it('publishes the lowest priority group, weights per RFC 2782, priority in metadata', async () => {
    const r = resolver('_http._tcp.api.weft.test');
    expect(r.description).toBe('dns-srv:_http._tcp.api.weft.test');
    const state = await firstState(r);
    expect(state.kind).toBe('bound');
    // weight 0 → 1/100 of the smallest non-zero weight of its group (60 → 0.6).
    expect(described(state)).toEqual(['127.0.0.11:8080 w=60 p=10', '127.0.0.12:8081 w=0.6 p=10']);
    const a1 = state.kind === 'bound' ? state.endpoints.find((e) => e.port === 8080) : undefined;
    expect(a1?.metadata).toEqual({ priority: 10, srvWeight: 60, target: 'a1.weft.test' });
  });

  it("publishes every priority group with priorities: 'all'", async () => {
    const state = await firstState(resolver('_http._tcp.api.weft.test', { priorities: 'all' }));
    expect(described(state)).toEqual([
      '127.0.0.11:8080 w=60 p=10',
      '127.0.0.12:8081 w=0.6 p=10',
      '127.0.0.13:9090 w=5 p=20',
    ]);
  });

  it("shares a record's weight among its target's addresses", async () => {
    const state = await firstState(resolver('_http._tcp.multi.weft.test'));
    expect(described(state)).toEqual(['127.0.0.14:7000 w=15 p=1', '127.0.0.15:7000 w=15 p=1']);
  });

  it('resolves targets to AAAA with family 6 and to both with any', async () => {
    const v6 = await firstState(resolver('_http._tcp.v6.weft.test', { family: 6 }));
    // a1 has no AAAA record: left out, the IPv6 target is published.
    expect(described(v6)).toEqual(['[::1]:7001 w=1 p=1']);
    const any = await firstState(resolver('_http._tcp.v6.weft.test', { family: 'any' }));
    expect(described(any)).toEqual(['127.0.0.11:7002 w=1 p=1', '[::1]:7001 w=1 p=1']);
  });

  it('reports the target "." as negative', async () => {
    const state = await firstState(resolver('_http._tcp.gone.weft.test'));
    expect(state.kind).toBe('negative');
    expect(state.kind === 'negative' && state.reason).toMatch(
      /_http\._tcp\.gone\.weft\.test: SRV target "\."/,
    );
  });

  it('reports NXDOMAIN and NODATA on the SRV name as negative', async () => {
    const missing = await firstState(resolver('_http._tcp.missing.weft.test'));
    expect(missing.kind === 'negative' && missing.reason).toMatch(/missing\.weft\.test: SRV: NXDOMAIN/);
    // a1.weft.test exists (it has an A record) but has no SRV record.
    const nodata = await firstState(resolver('a1.weft.test'));
    expect(nodata.kind === 'negative' && nodata.reason).toMatch(/a1\.weft\.test: SRV: NODATA/);
  });

  it('falls to the next priority group when no target of the preferred one resolves', async () => {
    const state = await firstState(resolver('_http._tcp.fallback.weft.test'));
    expect(described(state)).toEqual(['127.0.0.12:8082 w=1 p=2']);
  });

  it('publishes the targets that resolve when another does not', async () => {
    const state = await firstState(resolver('_http._tcp.partial.weft.test'));
    expect(described(state)).toEqual(['127.0.0.11:8083 w=1 p=1']);
  });

  it('reports records whose targets all fail to resolve as failed, naming them', async () => {
    const state = await firstState(resolver('_http._tcp.dangling.weft.test'));
    expect(state.kind).toBe('failed');
    const error = state.kind === 'failed' ? state.error : undefined;
    expect(error).toBeInstanceOf(DnsSrvLookupError);
    expect(error?.message).toMatch(/no target resolved \(nowhere\.weft\.test A: ENOTFOUND\)/);
    expect((error as DnsSrvLookupError).targetErrors[0]).toBeInstanceOf(DnsLookupError);
  });

  it('picks up changed SRV records and changed target addresses on refresh', async () => {
    const other = await startDnsmasq(HOSTS, SRV);
    try {
      const set = new DiscoveredEndpoints(resolver('_http._tcp.api.weft.test', { servers: [other.server] }));
      closeAfter.push(set);
      expect(described(await set.ready())).toEqual([
        '127.0.0.11:8080 w=60 p=10',
        '127.0.0.12:8081 w=0.6 p=10',
      ]);
      await other.setSrv({
        '_http._tcp.api.weft.test': [
          { target: 'a1.weft.test', port: 8080, priority: 10, weight: 10 },
          { target: 'b1.weft.test', port: 9091, priority: 10, weight: 30 },
        ],
      });
      await eventually(
        () => set.current,
        (s) => !s.stale && described(s).join() === '127.0.0.11:8080 w=10 p=10,127.0.0.13:9091 w=30 p=10',
        'the changed SRV records',
      );
      await other.setHosts({ ...HOSTS, 'b1.weft.test': ['127.0.0.23'] });
      await eventually(
        () => set.current,
        (s) => described(s).join() === '127.0.0.11:8080 w=10 p=10,127.0.0.23:9091 w=30 p=10',
        "the target's changed address",
      );
      await other.setSrv({ '_http._tcp.api.weft.test': [{ target: '.' }] });
      const gone = await eventually(
        () => set.current,
        (s) => s.kind === 'negative',
        'the target "."',
      );
      expect(gone.endpoints).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('reports a server that does not answer as failed; the client keeps the last set, stale', async () => {
    const other = await startDnsmasq(HOSTS, SRV);
    try {
      const set = new DiscoveredEndpoints(resolver('_http._tcp.api.weft.test', { servers: [other.server] }));
      closeAfter.push(set);
      const good = await set.ready();
      expect(good.kind).toBe('bound');
      await other.stop();
      const stale = await eventually(
        () => set.current,
        (s) => s.stale,
        'the stale flag after the server stopped',
      );
      expect(stale.kind).toBe('bound');
      expect(stale.endpoints).toBe(good.endpoints);
      expect(stale.error).toBeInstanceOf(DnsSrvLookupError);
      expect(stale.error?.message).toMatch(/DNS SRV lookup of _http\._tcp\.api\.weft\.test failed: E[A-Z]+/);
      expect((stale.error as DnsSrvLookupError).targetErrors).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});

type Addresses = { address: string; ttl: number }[] | string;

/** A scripted lookup: each SRV call takes the next SRV answer; each target the next of its own. */
class ScriptedSrvLookup implements DnsSrvLookup {
  readonly srvCalls: string[] = [];
  readonly targetCalls: string[] = [];
  cancelled = 0;
  readonly #srv: (SrvAnswer[] | string)[] = [];
  readonly #targets = new Map<string, Addresses[]>();

  srv(...answers: (SrvAnswer[] | string)[]): this {
    this.#srv.push(...answers);
    return this;
  }

  target(name: string, ...answers: Addresses[]): this {
    this.#targets.set(name, [...(this.#targets.get(name) ?? []), ...answers]);
    return this;
  }

  resolveSrv(name: string): Promise<readonly SrvAnswer[]> {
    this.srvCalls.push(name);
    return settle(this.#srv.shift());
  }

  resolve(family: 4 | 6, hostname: string): Promise<readonly { address: string; ttl: number }[]> {
    this.targetCalls.push(`${hostname}/${family}`);
    return settle(this.#targets.get(hostname)?.shift());
  }

  cancel(): void {
    this.cancelled += 1;
  }
}

function settle<T>(next: T | string | undefined): Promise<T> {
  if (next === undefined) return Promise.reject(Object.assign(new Error('unscripted'), { code: 'ESCRIPT' }));
  if (typeof next === 'string')
    return Promise.reject(Object.assign(new Error(`query ${next}`), { code: next }));
  return Promise.resolve(next);
}

const record = (name: string, port: number, priority = 1, weight = 1): SrvAnswer => ({
  name,
  port,
  priority,
  weight,
});
const at = (ttl: number, ...addresses: string[]): Addresses => addresses.map((address) => ({ address, ttl }));

function scripted(lookup: ScriptedSrvLookup, random = () => 1) {
  const clock = new VirtualClock();
  const resolver = createDnsSrvResolver(
    {
      name: '_http._tcp.api.internal',
      minRefreshMs: 1_000,
      maxRefreshMs: 30_000,
      backoff: { random },
      clock,
    },
    lookup,
  );
  const states: EndpointSetState[] = [];
  resolver.subscribe((state) => states.push(state));
  return { clock, resolver, states };
}

/** Advance to one ms before `ms`, check no new SRV lookup, then to `ms` and check one. */
async function expectNextLookupAfter(
  clock: VirtualClock,
  lookup: ScriptedSrvLookup,
  ms: number,
): Promise<void> {
  const before = lookup.srvCalls.length;
  await clock.advanceAsync(ms - 1);
  expect(lookup.srvCalls.length).toBe(before);
  await clock.advanceAsync(1);
  expect(lookup.srvCalls.length).toBe(before + 1);
}

describe('dnsSrvResolver refresh schedule (virtual clock)', () => {
  it('refreshes after the lowest target TTL, clamped to the bounds', async () => {
    const lookup = new ScriptedSrvLookup()
      .srv([record('a', 80), record('b', 81)], [record('a', 80)], [record('a', 80)], [record('a', 80)])
      .target('a', at(9, '10.0.0.1'), at(0, '10.0.0.1'), at(3600, '10.0.0.1'))
      .target('b', at(4, '10.0.0.2'));
    const { clock, resolver, states } = scripted(lookup);
    await clock.advanceAsync(0);
    expect(described(states[0]!)).toEqual(['10.0.0.1:80 w=1 p=1', '10.0.0.2:81 w=1 p=1']);
    await expectNextLookupAfter(clock, lookup, 4_000); // min(9 s, 4 s)
    await expectNextLookupAfter(clock, lookup, 1_000); // TTL 0 → minRefreshMs
    await expectNextLookupAfter(clock, lookup, 30_000); // TTL 1 h → maxRefreshMs
    expect(lookup.targetCalls).toEqual(['a/4', 'b/4', 'a/4', 'a/4', 'a/4']);
    resolver.close();
  });

  it('retries failures with the jittered backoff, doubling to maxRefreshMs, reset by an answer', async () => {
    const lookup = new ScriptedSrvLookup()
      .srv(
        'ETIMEOUT',
        'ESERVFAIL',
        'ENOTFOUND',
        'ECONNREFUSED',
        'ETIMEOUT',
        'ETIMEOUT',
        [record('a', 80)],
        'ETIMEOUT',
      )
      .target('a', at(60, '10.0.0.1'));
    // random() = 1: every delay is the backoff's ceiling.
    const { clock, resolver, states } = scripted(lookup);
    await clock.advanceAsync(0);
    const error = states[0]?.kind === 'failed' ? states[0].error : undefined;
    expect(error).toBeInstanceOf(DnsSrvLookupError);
    expect((error as DnsSrvLookupError).code).toBe('ETIMEOUT');
    expect((error as DnsSrvLookupError).srvName).toBe('_http._tcp.api.internal');
    for (const delay of [1_000, 2_000, 4_000, 8_000, 16_000, 30_000]) {
      await expectNextLookupAfter(clock, lookup, delay);
    }
    expect(states.map((s) => s.kind)).toEqual([
      'failed',
      'failed',
      'negative',
      'failed',
      'failed',
      'failed',
      'bound',
    ]);
    await expectNextLookupAfter(clock, lookup, 30_000); // TTL 60 s → max
    await expectNextLookupAfter(clock, lookup, 1_000); // backoff restarted
    resolver.close();
  });

  it('draws each retry delay at random below the ceiling (full jitter)', async () => {
    const lookup = new ScriptedSrvLookup().srv('ETIMEOUT', 'ETIMEOUT', 'ETIMEOUT');
    const { clock, resolver } = scripted(lookup, () => 0.5);
    await clock.advanceAsync(0);
    await expectNextLookupAfter(clock, lookup, 500); // 0.5 × 1 s
    await expectNextLookupAfter(clock, lookup, 1_000); // 0.5 × 2 s
    resolver.close();
  });

  it('publishes the targets that answered when one times out, and asks again after the backoff', async () => {
    const lookup = new ScriptedSrvLookup()
      .srv([record('a', 80), record('b', 81)], [record('a', 80), record('b', 81)])
      .target('a', at(20, '10.0.0.1'), at(20, '10.0.0.1'))
      .target('b', 'ETIMEOUT', at(20, '10.0.0.2'));
    const { clock, resolver, states } = scripted(lookup);
    await clock.advanceAsync(0);
    expect(described(states[0]!)).toEqual(['10.0.0.1:80 w=1 p=1']);
    await expectNextLookupAfter(clock, lookup, 1_000); // the backoff, not the 20 s TTL
    expect(described(states[1]!)).toEqual(['10.0.0.1:80 w=1 p=1', '10.0.0.2:81 w=1 p=1']);
    await expectNextLookupAfter(clock, lookup, 20_000);
    resolver.close();
  });

  it('weights: a group of zero weights is equal; "." among real targets is ignored', async () => {
    const lookup = new ScriptedSrvLookup()
      .srv([record('a', 80, 1, 0), record('b', 81, 1, 0), record('', 1, 0, 0)])
      .target('a', at(5, '10.0.0.1'))
      .target('b', at(5, '10.0.0.2'));
    const { clock, resolver, states } = scripted(lookup);
    await clock.advanceAsync(0);
    expect(described(states[0]!)).toEqual(['10.0.0.1:80 w=1 p=1', '10.0.0.2:81 w=1 p=1']);
    resolver.close();
  });

  it('an empty SRV answer is negative', async () => {
    const lookup = new ScriptedSrvLookup().srv([]);
    const { clock, resolver, states } = scripted(lookup);
    await clock.advanceAsync(0);
    expect(states[0]).toEqual({ kind: 'negative', reason: expect.stringMatching(/SRV: NODATA/) });
    resolver.close();
  });

  it('close() cancels the timer and the lookup; later answers are dropped', async () => {
    let release: (records: SrvAnswer[]) => void = () => {};
    const lookup: DnsSrvLookup & { cancelled: number } = {
      cancelled: 0,
      resolveSrv: () =>
        new Promise((resolve) => {
          release = resolve;
        }),
      resolve: () => Promise.resolve([{ address: '10.0.0.1', ttl: 5 }]),
      cancel() {
        this.cancelled += 1;
      },
    };
    const clock = new VirtualClock();
    const resolver = createDnsSrvResolver({ name: '_x._tcp.api.internal', clock }, lookup);
    const states: EndpointSetState[] = [];
    resolver.subscribe((state) => states.push(state));
    release([record('a', 80)]);
    await clock.advanceAsync(0);
    expect(states).toHaveLength(1);
    expect(clock.pendingTimers).toBe(1);
    await clock.advanceAsync(5_000);
    resolver.close();
    resolver.close();
    expect(lookup.cancelled).toBe(1);
    release([record('b', 81)]);
    await clock.advanceAsync(60_000);
    expect(states).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('dnsSrvResolver options', () => {
  const base = { name: '_http._tcp.api.internal' };
  it.each<[Record<string, unknown>, string]>([
    [{ name: '' }, 'dnsSrv.name'],
    [{ name: 'bad name' }, 'dnsSrv.name'],
    [{ name: '10.0.0.1' }, 'dnsSrv.name'],
    [{ name: undefined }, 'dnsSrv.name'],
    [{ family: 5 }, 'dnsSrv.family'],
    [{ priorities: 'first' }, 'dnsSrv.priorities'],
    [{ servers: [] }, 'dnsSrv.servers'],
    [{ servers: ['127.0.0.1:53', 'dns.google'] }, 'dnsSrv.servers[1]'],
    [{ minRefreshMs: 0 }, 'dnsSrv.minRefreshMs'],
    [{ minRefreshMs: 5_000, maxRefreshMs: 1_000 }, 'dnsSrv.maxRefreshMs'],
    [{ timeoutMs: 1.5 }, 'dnsSrv.timeoutMs'],
    [{ tries: 0 }, 'dnsSrv.tries'],
    [{ backoff: 5 }, 'dnsSrv.backoff'],
    [{ backoff: { baseMS: 5 } }, 'dnsSrv.backoff.baseMS'],
    [{ backoff: { baseMs: -1 } }, 'dnsSrv.backoff.baseMs'],
    [{ backoff: { random: 1 } }, 'dnsSrv.backoff.random'],
    [{ clock: {} }, 'dnsSrv.clock'],
    [{ hostname: 'api' }, 'dnsSrv.hostname'],
  ])('rejects %j naming %s', (override, option) => {
    let thrown: unknown;
    try {
      dnsSrvResolver({ ...base, ...override } as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).option).toBe(option);
  });

  it('accepts valid options', () => {
    const r = dnsSrvResolver({
      ...base,
      family: 'any',
      priorities: 'all',
      servers: ['127.0.0.1:5353'],
      minRefreshMs: 60_000,
      backoff: { baseMs: 100, maxMs: 200 },
    });
    expect(r.description).toBe('dns-srv:_http._tcp.api.internal');
    r.close();
  });
});
