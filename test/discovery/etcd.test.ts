/**
 * etcdResolver against a real etcd (Debian's etcd-server, started by test/support/etcd.ts): the
 * list, puts and deletes picked up by the watch, both value layouts, malformed values skipped and
 * reported, a compaction during an outage (a TCP proxy in front of etcd cuts the stream) and a
 * compaction between list and watch (both re-list), an etcd that is down at start-up (failed,
 * then bound; the backoff on the VirtualClock), moving on to the next etcd endpoint, the watch
 * cycle's end re-listing, and close() ending the watch stream on the server.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DeadlineExceededError, NoEndpointsError } from '../../src/core/errors.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { DiscoveredEndpoints, type EndpointSetSnapshot } from '../../src/discovery/endpoint-set.js';
import {
  createEtcdResolver,
  EtcdRequestError,
  type EtcdResolver,
  type EtcdResolverOptions,
  etcdResolver,
} from '../../src/discovery/etcd.js';
import { type EtcdGateway, fetchGateway } from '../../src/discovery/etcd-gateway.js';
import type { EndpointSetState, Resolver } from '../../src/discovery/resolver.js';
import { createHttpClient } from '../../src/index.js';
import { type Etcd, startEtcd } from '../support/etcd.js';

const POLL_TIMEOUT_MS = 10_000;

/** Poll `read` every 10 ms until `done` holds; fail after POLL_TIMEOUT_MS (no speed assertion). */
async function eventually<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  what: string,
): Promise<T> {
  const deadline = Date.now() + POLL_TIMEOUT_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Every state a resolver publishes, in order. */
function record(resolver: Resolver): EndpointSetState[] {
  const states: EndpointSetState[] = [];
  resolver.subscribe((state) => states.push(state));
  return states;
}

/** The state at `index`, once published. */
async function stateAt(states: readonly EndpointSetState[], index: number): Promise<EndpointSetState> {
  await eventually(
    () => states.length,
    (n) => n > index,
    `state #${index}`,
  );
  return states[index] as EndpointSetState;
}

const addresses = (state: EndpointSetState | EndpointSetSnapshot | undefined): string[] =>
  state !== undefined && 'endpoints' in state ? state.endpoints.map((e) => e.address).sort() : [];

const naming = (addr: string): string => JSON.stringify({ Op: 0, Addr: addr, Metadata: null });

/**
 * A TCP proxy in front of etcd that a test can take down (connections cut, port closed: the
 * client sees ECONNREFUSED) and bring back up on the same port.
 */
class TcpProxy {
  readonly #targetPort: number;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;
  /** Connections accepted so far. */
  accepted = 0;

  constructor(targetPort: number) {
    this.#targetPort = targetPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const server = createServer((client) => {
      this.accepted++;
      const upstream = connect(this.#targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Cut every connection and stop listening. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('etcdResolver options', () => {
  const valid: EtcdResolverOptions = { endpoints: ['http://127.0.0.1:2379'], prefix: 'services/api/' };

  it.each([
    ['no endpoints', { ...valid, endpoints: [] }, 'etcd.endpoints'],
    ['endpoints not an array', { ...valid, endpoints: 'http://127.0.0.1:2379' }, 'etcd.endpoints'],
    ['an endpoint that is not a URL', { ...valid, endpoints: ['127.0.0.1:2379'] }, 'etcd.endpoints[0]'],
    [
      'an endpoint with a path',
      { ...valid, endpoints: ['http://a:2379', 'http://b:2379/v3'] },
      'etcd.endpoints[1]',
    ],
    ['an endpoint with credentials', { ...valid, endpoints: ['http://u:p@a:2379'] }, 'etcd.endpoints[0]'],
    ['a grpc endpoint', { ...valid, endpoints: ['grpc://a:2379'] }, 'etcd.endpoints[0]'],
    ['a prefix without "/"', { ...valid, prefix: 'services/api' }, 'etcd.prefix'],
    ['no prefix', { endpoints: valid.endpoints }, 'etcd.prefix'],
    ['a prefix of "/" only', { ...valid, prefix: '/' }, 'etcd.prefix'],
    ['requestTimeoutMs 0', { ...valid, requestTimeoutMs: 0 }, 'etcd.requestTimeoutMs'],
    ['watchTimeoutMs not a number', { ...valid, watchTimeoutMs: '60s' }, 'etcd.watchTimeoutMs'],
    ['a reconnect baseMs of -1', { ...valid, reconnect: { baseMs: -1 } }, 'etcd.reconnect.baseMs'],
    ['an unknown reconnect key', { ...valid, reconnect: { base: 10 } }, 'etcd.reconnect.base'],
    ['an unknown key', { ...valid, prefx: 'x/' }, 'etcd.prefx'],
    ['a clock without timers', { ...valid, clock: { now: Date.now } as unknown }, 'etcd.clock'],
  ])('rejects %s with a ConfigError naming the option', (_label, options, option) => {
    let caught: unknown;
    try {
      etcdResolver(options as unknown as EtcdResolverOptions);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).option).toBe(option);
  });

  it('suggests the known option for a typo', () => {
    expect(() => etcdResolver({ ...valid, requestTimeoutMS: 1 } as unknown as EtcdResolverOptions)).toThrow(
      /did you mean `etcd.requestTimeoutMs`/,
    );
  });

  it('describes itself by its prefix and starts nothing before a subscriber', () => {
    const resolver = etcdResolver(valid);
    expect(resolver.description).toBe('etcd:services/api/');
    resolver.close();
    resolver.close(); // idempotent
  });
});

describe('etcdResolver against etcd', () => {
  let etcd: Etcd;
  let prefixCount = 0;
  const closeAfter: { close(): void }[] = [];
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
  });

  afterEach(async () => {
    for (const item of closeAfter.splice(0)) item.close();
    for (const proxy of proxies.splice(0)) await proxy.down();
  });

  afterAll(async () => {
    await etcd?.stop();
  });

  /** A prefix no other test uses. */
  const freshPrefix = (): string => `services/test-${++prefixCount}/`;

  function resolver(
    options: Partial<EtcdResolverOptions> & { prefix: string },
    gateway?: EtcdGateway,
  ): EtcdResolver {
    const created = createEtcdResolver(
      {
        endpoints: [etcd.url],
        requestTimeoutMs: 2_000,
        reconnect: { baseMs: 20, maxMs: 100 },
        ...options,
      },
      gateway,
    );
    closeAfter.push(created);
    return created;
  }

  async function proxy(): Promise<TcpProxy> {
    const created = new TcpProxy(etcd.port);
    await created.up();
    proxies.push(created);
    return created;
  }

  it('lists the prefix: etcd naming values and weft values with weight and zone', async () => {
    const prefix = freshPrefix();
    await etcd.put(
      `${prefix}a`,
      JSON.stringify({ Op: 0, Addr: '127.0.0.1:8001', Metadata: { version: 'v2', tags: ['x'] } }),
    );
    await etcd.put(`${prefix}b`, JSON.stringify({ Addr: '[::1]:8002' })); // etcd 3.5's layout: no Op
    await etcd.put(
      `${prefix}c`,
      JSON.stringify({
        address: '127.0.0.3:8003',
        weight: 3,
        zone: 'eu-west-1a',
        metadata: { canary: true },
      }),
    );
    await etcd.put('services/test-other/x', naming('127.0.0.9:9999')); // another prefix: not ours
    const states = record(resolver({ prefix }));
    const bound = await stateAt(states, 0);
    expect(bound.kind).toBe('bound');
    const byAddress = new Map(bound.kind === 'bound' ? bound.endpoints.map((e) => [e.address, e]) : []);
    expect([...byAddress.keys()].sort()).toEqual(['127.0.0.1:8001', '127.0.0.3:8003', '[::1]:8002']);
    expect(byAddress.get('127.0.0.1:8001')).toEqual({
      address: '127.0.0.1:8001',
      host: '127.0.0.1',
      port: 8001,
      weight: 1,
      metadata: { version: 'v2' }, // the nested entry is left out
    });
    expect(byAddress.get('[::1]:8002')).toMatchObject({ host: '::1', port: 8002, weight: 1 });
    expect(byAddress.get('127.0.0.3:8003')).toEqual({
      address: '127.0.0.3:8003',
      host: '127.0.0.3',
      port: 8003,
      weight: 3,
      zone: 'eu-west-1a',
      metadata: { canary: true },
    });
  });

  it('publishes an empty prefix as bound([]), never negative', async () => {
    const states = record(resolver({ prefix: freshPrefix() }));
    const first = await stateAt(states, 0);
    expect(first).toEqual({ kind: 'bound', endpoints: [] });
  });

  it('picks up puts and deletes through the watch', async () => {
    const prefix = freshPrefix();
    await etcd.put(`${prefix}a`, naming('127.0.0.1:8001'));
    const set = new DiscoveredEndpoints(resolver({ prefix }));
    closeAfter.push(set);
    expect(addresses(await set.ready())).toEqual(['127.0.0.1:8001']);
    await etcd.put(`${prefix}b`, naming('127.0.0.1:8002'));
    await eventually(
      () => addresses(set.current).join(),
      (a) => a === '127.0.0.1:8001,127.0.0.1:8002',
      'the put',
    );
    await etcd.put(`${prefix}a`, naming('127.0.0.1:8011')); // the same instance moves
    await eventually(
      () => addresses(set.current).join(),
      (a) => a === '127.0.0.1:8002,127.0.0.1:8011',
      'the update',
    );
    await etcd.delete(`${prefix}b`);
    await eventually(
      () => addresses(set.current).join(),
      (a) => a === '127.0.0.1:8011',
      'the delete',
    );
    await etcd.delete(`${prefix}a`);
    // The resolver publishes the empty set; the client keeps the last one, stale (advisory).
    const last = await eventually(
      () => set.current,
      (s) => s.stale,
      'the stale set',
    );
    expect(addresses(last)).toEqual(['127.0.0.1:8011']);
  });

  it('skips and reports keys whose value is not an endpoint, and publishes the others', async () => {
    const prefix = freshPrefix();
    await etcd.put(`${prefix}good`, naming('127.0.0.1:8001'));
    await etcd.put(`${prefix}not-json`, 'hello');
    await etcd.put(`${prefix}bad-addr`, JSON.stringify({ Addr: 'no-port' }));
    await etcd.put(`${prefix}op-delete`, JSON.stringify({ Op: 1, Addr: '127.0.0.1:8002' }));
    await etcd.put(`${prefix}typo`, JSON.stringify({ address: '127.0.0.1:8003', wieght: 2 }));
    await etcd.put(`${prefix}zero-weight`, JSON.stringify({ address: '127.0.0.1:8004', weight: 0 }));
    const r = resolver({ prefix });
    const skipped: string[] = [];
    r.onSkippedKey(({ key }) => skipped.push(key));
    const states = record(r);
    const first = await stateAt(states, 0);
    expect(addresses(first)).toEqual(['127.0.0.1:8001']);
    expect(skipped.sort()).toEqual(
      ['bad-addr', 'not-json', 'op-delete', 'typo', 'zero-weight'].map((k) => prefix + k),
    );
    expect(r.skippedKeys.get(`${prefix}not-json`)).toMatch(/not JSON/);
    expect(r.skippedKeys.get(`${prefix}bad-addr`)).toMatch(/"Addr" is "no-port"/);
    expect(r.skippedKeys.get(`${prefix}op-delete`)).toMatch(/only 0 \(Add\)/);
    expect(r.skippedKeys.get(`${prefix}typo`)).toMatch(/unknown field "wieght"/);
    expect(r.skippedKeys.get(`${prefix}zero-weight`)).toMatch(/weight/);

    // A fixed value joins the set; a broken one leaves it; a deleted bad key is forgotten.
    await etcd.put(`${prefix}typo`, JSON.stringify({ address: '127.0.0.1:8003', weight: 2 }));
    await etcd.put(`${prefix}good`, '{"Addr":');
    await etcd.delete(`${prefix}not-json`);
    const last = await eventually(
      () => states.at(-1),
      (s) => addresses(s).join() === '127.0.0.1:8003',
      'the watched changes',
    );
    expect(last?.kind === 'bound' && last.endpoints[0]?.weight).toBe(2);
    // The delete is the last change written: once the bad key is forgotten, all three were seen.
    await eventually(
      () => r.skippedKeys.has(`${prefix}not-json`),
      (has) => !has,
      'the delete',
    );
    expect(addresses(states.at(-1))).toEqual(['127.0.0.1:8003']);
    expect([...r.skippedKeys.keys()].sort()).toEqual(
      ['bad-addr', 'good', 'op-delete', 'zero-weight'].map((k) => prefix + k),
    );
    expect(skipped.filter((k) => k === `${prefix}good`)).toHaveLength(1);
  });

  it('after an outage with a compaction, lists again and publishes the right set', async () => {
    const prefix = freshPrefix();
    await etcd.put(`${prefix}a`, naming('127.0.0.1:8001'));
    await etcd.put(`${prefix}b`, naming('127.0.0.1:8002'));
    const front = await proxy();
    const r = resolver({ prefix, endpoints: [front.url] });
    const set = new DiscoveredEndpoints(r);
    closeAfter.push(set);
    const states = record(r);
    expect(addresses(await set.ready())).toEqual(['127.0.0.1:8001', '127.0.0.1:8002']);
    await eventually(
      () => etcd.watchStreams(),
      (n) => n >= 1,
      'the watch stream',
    );

    await front.down(); // the stream breaks; reconnects are refused
    const failed = await eventually(
      () => states.find((s) => s.kind === 'failed'),
      (s) => s !== undefined,
      'failed',
    );
    expect(failed?.kind === 'failed' && failed.error).toBeInstanceOf(EtcdRequestError);
    expect(set.current).toMatchObject({ kind: 'bound', stale: true }); // the client keeps the last set

    await etcd.delete(`${prefix}a`);
    await etcd.put(`${prefix}c`, naming('127.0.0.1:8003'));
    await etcd.put(`${prefix}b`, naming('127.0.0.1:8012'));
    await etcd.delete(`${prefix}c`);
    await etcd.put(`${prefix}d`, naming('127.0.0.1:8004'));
    await etcd.compact(await etcd.revision()); // the history of the outage is gone
    await front.up();

    const healed = await eventually(
      () => set.current,
      (s) => !s.stale,
      'the re-listed set',
    );
    expect(addresses(healed)).toEqual(['127.0.0.1:8004', '127.0.0.1:8012']);
    // And the new watch works.
    await etcd.put(`${prefix}e`, naming('127.0.0.1:8005'));
    await eventually(
      () => addresses(set.current).length,
      (n) => n === 3,
      'a put after the outage',
    );
  });

  it('lists again, without failing, when a compaction cancels the watch before it starts', async () => {
    const prefix = freshPrefix();
    await etcd.put(`${prefix}a`, naming('127.0.0.1:8001'));
    await etcd.put(`${prefix}b`, naming('127.0.0.1:8002'));
    const real = fetchGateway(2_000);
    let ranges = 0;
    const compacted: number[] = [];
    // Between the first list and its watch: changes, then a compaction past the watch's start.
    const gateway: EtcdGateway = {
      async range(endpoint, p, signal) {
        const list = await real.range(endpoint, p, signal);
        if (++ranges === 1) {
          await etcd.delete(`${prefix}a`);
          await etcd.put(`${prefix}c`, naming('127.0.0.1:8003'));
          await etcd.compact(await etcd.revision());
        }
        return list;
      },
      async *watch(endpoint, p, start, signal) {
        for await (const message of real.watch(endpoint, p, start, signal)) {
          if (message.kind === 'compacted') compacted.push(message.compactRevision);
          yield message;
        }
      },
    };
    const states = record(resolver({ prefix }, gateway));
    await eventually(
      () => addresses(states.at(-1)).join(),
      (a) => a === '127.0.0.1:8002,127.0.0.1:8003',
      'the re-list',
    );
    expect(compacted).toHaveLength(1);
    expect(ranges).toBe(2);
    expect(states.map((s) => s.kind)).toEqual(['bound', 'bound']); // no failed in between
    expect(addresses(states[0])).toEqual(['127.0.0.1:8001', '127.0.0.1:8002']);
  });

  it('reports failed while etcd is down at start-up, then bound when it comes up; retries on the backoff', async () => {
    const prefix = freshPrefix();
    await etcd.put(`${prefix}a`, naming('127.0.0.1:8001'));
    const front = await proxy();
    await front.down(); // nothing listens on its port
    const clock = new VirtualClock();
    const r = resolver({
      prefix,
      endpoints: [front.url],
      clock,
      reconnect: { baseMs: 1_000, maxMs: 1_000, random: () => 1 },
    });
    const states = record(r);
    const failed = await stateAt(states, 0);
    expect(failed.kind).toBe('failed');
    const error = failed.kind === 'failed' ? (failed.error as EtcdRequestError) : undefined;
    expect(error).toBeInstanceOf(EtcdRequestError);
    expect(error?.endpoint).toBe(front.url);
    expect(error?.operation).toBe('range');
    expect(error?.code).toBe('ECONNREFUSED');
    expect(error?.message).toBe(`etcd range at ${front.url} failed: ECONNREFUSED`);

    await front.up();
    // The next try waits for the backoff (1 s on the virtual clock): nothing happens before.
    await new Promise((resolve) => setTimeout(resolve, 200));
    clock.advance(999);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(front.accepted).toBe(0);
    expect(states).toHaveLength(1);
    clock.advance(1);
    const bound = await eventually(
      () => states.at(-1),
      (s) => s?.kind === 'bound',
      'bound',
    );
    expect(addresses(bound)).toEqual(['127.0.0.1:8001']);
  });

  it("a client whose etcd is down at start-up waits within the call's deadline, then fails with an error that names the source", async () => {
    const dead = await proxy();
    await dead.down();
    const client = createHttpClient({
      resolver: etcdResolver({ endpoints: [dead.url], prefix: 'services/nowhere/' }),
      timeoutMs: 2_000,
    });
    try {
      const error = await client.request({ path: '/' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      // The call waits for discovery within its deadline (2 s), then fails: the deadline's error,
      // whose cause names the source and carries the source's own last error.
      expect(error).toBeInstanceOf(DeadlineExceededError);
      const noEndpoints = (error as Error).cause;
      expect(noEndpoints).toBeInstanceOf(NoEndpointsError);
      expect((noEndpoints as Error).message).toContain(
        'discovery (etcd:services/nowhere/) has failed and has no endpoint set yet',
      );
      expect((noEndpoints as Error).cause).toBeInstanceOf(EtcdRequestError);
      expect(((noEndpoints as Error).cause as Error).message).toBe(
        `etcd range at ${dead.url} failed: ECONNREFUSED`,
      );
    } finally {
      await client.close();
    }
  });

  it('moves on to the next etcd endpoint after a failure', async () => {
    const prefix = freshPrefix();
    await etcd.put(`${prefix}a`, naming('127.0.0.1:8001'));
    const dead = await proxy();
    await dead.down();
    const states = record(resolver({ prefix, endpoints: [dead.url, etcd.url] }));
    const bound = await eventually(
      () => states.at(-1),
      (s) => s?.kind === 'bound',
      'bound from the second endpoint',
    );
    expect(states[0]?.kind).toBe('failed');
    expect(addresses(bound)).toEqual(['127.0.0.1:8001']);
  });

  it('ends each list+watch cycle after watchTimeoutMs and lists again, without failing', async () => {
    const prefix = freshPrefix();
    await etcd.put(`${prefix}a`, naming('127.0.0.1:8001'));
    const real = fetchGateway(2_000);
    let ranges = 0;
    let watches = 0;
    const gateway: EtcdGateway = {
      range: (...args) => {
        ranges++;
        return real.range(...args);
      },
      watch: (...args) => {
        watches++;
        return real.watch(...args);
      },
    };
    const clock = new VirtualClock();
    const states = record(resolver({ prefix, clock, watchTimeoutMs: 60_000 }, gateway));
    await eventually(
      () => watches,
      (n) => n === 1,
      'the first watch',
    );
    await eventually(
      () => etcd.watchStreams(),
      (n) => n >= 1,
      'the watch stream',
    );
    clock.advance(59_999);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ranges).toBe(1);
    clock.advance(1);
    await eventually(
      () => watches,
      (n) => n === 2,
      'the second cycle',
    );
    expect(ranges).toBe(2);
    expect(states.map((s) => s.kind)).toEqual(['bound', 'bound']);
    await etcd.put(`${prefix}b`, naming('127.0.0.1:8002'));
    await eventually(
      () => addresses(states.at(-1)).length,
      (n) => n === 2,
      'a put seen by the second watch',
    );
  });

  it('close() ends the watch stream on the server and leaves no handle open', async () => {
    const handles = (): number =>
      process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap' || name === 'Timeout')
        .length;
    // Every earlier test's resolver was closed in afterEach; let the server see their streams end.
    await eventually(
      () => etcd.watchStreams(),
      (n) => n === 0,
      'no watch stream from earlier tests',
    );
    const before = handles();
    const streamsBefore = 0;
    const prefix = freshPrefix();
    const r = etcdResolver({ endpoints: [etcd.url], prefix });
    const states = record(r);
    await stateAt(states, 0);
    await eventually(
      () => etcd.watchStreams(),
      (n) => n === streamsBefore + 1,
      'the watch stream open',
    );
    r.close();
    await eventually(
      () => etcd.watchStreams(),
      (n) => n === streamsBefore,
      'the watch stream closed',
    );
    await etcd.put(`${prefix}a`, naming('127.0.0.1:8001'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(states).toHaveLength(1); // nothing published after close
    expect(await eventually(handles, (n) => n <= before, 'no handle left')).toBeLessThanOrEqual(before);
  });
});
