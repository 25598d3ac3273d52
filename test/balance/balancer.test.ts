/**
 * The balancer over a live endpoint set: history survives updates, endpoints that leave are
 * closed without failing their in-flight calls, calls wait for a pending or failing resolver within
 * the deadline (then fail naming the source), and an empty or negative set fails fast with a
 * typed error.
 */
import { describe, expect, it } from 'vitest';
import { Balancer } from '../../src/balance/balancer.js';
import { p2cPeakEwma, roundRobin } from '../../src/balance/strategies.js';
import { CallContext } from '../../src/core/context.js';
import { ClientClosedError, DeadlineExceededError, NoEndpointsError } from '../../src/core/errors.js';
import type { Service, ServiceStatus } from '../../src/core/service.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import type { Endpoint } from '../../src/discovery/endpoint.js';
import { DiscoveredEndpoints } from '../../src/discovery/endpoint-set.js';
import type { EndpointSetListener, EndpointSetState, Resolver } from '../../src/discovery/resolver.js';
import { staticResolver } from '../../src/discovery/static.js';
import { deadlineFilter } from '../../src/policies/deadline.js';

/** A resolver the test drives by hand. */
class ManualResolver implements Resolver {
  readonly description = 'manual';
  #listeners = new Set<EndpointSetListener>();
  #state: EndpointSetState = { kind: 'pending' };
  subscribe(listener: EndpointSetListener) {
    this.#listeners.add(listener);
    listener(this.#state);
    return () => this.#listeners.delete(listener);
  }
  publish(state: EndpointSetState) {
    this.#state = state;
    for (const l of this.#listeners) l(state);
  }
  close() {}
}

/** An endpoint service whose calls the test resolves by hand. */
class FakeEndpoint implements Service<string, string> {
  status: ServiceStatus = 'open';
  closed = false;
  readonly pending: Array<(value: string) => void> = [];
  constructor(readonly endpoint: Endpoint) {}
  call(): Promise<string> {
    return new Promise((resolve) => this.pending.push(resolve));
  }
  async close() {
    this.closed = true;
    this.status = 'closed';
  }
}

function setup(resolver: Resolver, clock = new VirtualClock(), strategy = roundRobin()) {
  const made = new Map<string, FakeEndpoint>();
  const endpoints = new DiscoveredEndpoints(resolver, clock);
  const balancer = new Balancer<string, string>({
    destination: 'svc',
    endpoints,
    strategy,
    clock,
    makeEndpoint: (endpoint) => {
      const fake = new FakeEndpoint(endpoint);
      made.set(endpoint.address, fake);
      return fake;
    },
  });
  return { balancer, made, endpoints, clock };
}

const ctx = () => new CallContext('svc');

describe('Balancer', () => {
  it('keeps the node (and its load history) of an endpoint that stays across updates', async () => {
    const resolver = staticResolver(['127.0.0.1:1001', '127.0.0.1:1002']);
    const { balancer, made } = setup(resolver, new VirtualClock(), p2cPeakEwma());
    const before = balancer.nodes.find((n) => n.address === '127.0.0.1:1001')!;
    resolver.update(['127.0.0.1:1001', '127.0.0.1:1003']);
    const after = balancer.nodes.find((n) => n.address === '127.0.0.1:1001')!;
    expect(after).toBe(before);
    expect(after.load).toBe(before.load);
    expect(made.get('127.0.0.1:1002')!.closed).toBe(true);
    expect(made.get('127.0.0.1:1001')!.closed).toBe(false);
    expect(balancer.nodes.map((n) => n.address)).toEqual(['127.0.0.1:1001', '127.0.0.1:1003']);
    await balancer.close();
  });

  it('never fails an in-flight call when its endpoint leaves the set', async () => {
    const resolver = staticResolver(['127.0.0.1:1001']);
    const { balancer, made } = setup(resolver);
    const call = balancer.call('req', ctx());
    const fake = made.get('127.0.0.1:1001')!;
    expect(fake.pending).toHaveLength(1);
    resolver.update(['127.0.0.1:1002']);
    fake.pending[0]!('answer');
    await expect(call).resolves.toBe('answer');
    expect(balancer.nodes[0]!.load.pending).toBe(0);
    await balancer.close();
  });

  it('reports every outcome to the endpoint service (Service.settled)', async () => {
    const resolver = staticResolver(['127.0.0.1:1001']);
    const { balancer, made } = setup(resolver);
    const fake = made.get('127.0.0.1:1001')!;
    const reports: unknown[][] = [];
    (fake as unknown as { settled: (...a: unknown[]) => void }).settled = (ctx, outcome, failed) =>
      reports.push([ctx instanceof CallContext, outcome, failed]);
    const ok = balancer.call('a', ctx());
    fake.pending[0]!('fine');
    await ok;
    expect(reports).toEqual([[true, 'fine', false]]);
    await balancer.close();
  });

  it('a classifier that throws counts the attempt as a failure and leaves nothing pending', async () => {
    const made = new Map<string, FakeEndpoint>();
    const clock = new VirtualClock();
    const balancer = new Balancer<string, string>({
      destination: 'svc',
      endpoints: new DiscoveredEndpoints(staticResolver(['127.0.0.1:1001']), clock),
      strategy: roundRobin(),
      clock,
      makeEndpoint: (endpoint) => {
        const fake = new FakeEndpoint(endpoint);
        made.set(endpoint.address, fake);
        return fake;
      },
      classify: () => {
        throw new Error('classifier bug');
      },
    });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const c = ctx();
      const call = balancer.call('a', c);
      made.get('127.0.0.1:1001')!.pending[0]!('ok');
      await call;
      expect(c.classification?.kind).toBe('failure');
      expect(balancer.nodes[0]!.load.pending).toBe(0);
      await new Promise((r) => setImmediate(r));
      expect(warnings.some((w) => w.includes('classifier bug'))).toBe(true);
    } finally {
      process.off('warning', onWarning);
      await balancer.close();
    }
  });

  it('accounts in-flight requests per endpoint', async () => {
    const resolver = staticResolver(['127.0.0.1:1001']);
    const { balancer, made } = setup(resolver);
    const calls = [balancer.call('a', ctx()), balancer.call('b', ctx())];
    expect(balancer.nodes[0]!.load.pending).toBe(2);
    for (const resolve of made.get('127.0.0.1:1001')!.pending) resolve('ok');
    await Promise.all(calls);
    expect(balancer.nodes[0]!.load.pending).toBe(0);
    await balancer.close();
  });

  it('makes calls wait for a pending resolver, then sends them', async () => {
    const resolver = new ManualResolver();
    const { balancer, made, clock } = setup(resolver);
    const c = ctx();
    c.clock = clock;
    const call = balancer.call('req', c);
    await Promise.resolve();
    clock.advance(200);
    resolver.publish({
      kind: 'bound',
      endpoints: [{ address: '127.0.0.1:1001', host: '127.0.0.1', port: 1001, weight: 1 }],
    });
    await new Promise((r) => setImmediate(r));
    made.get('127.0.0.1:1001')!.pending[0]!('late');
    await expect(call).resolves.toBe('late');
    // The attempt started when discovery answered: the wait is not part of its RTT.
    expect(c.attemptStart).toBe(200);
    await balancer.close();
  });

  it('fails a call waiting on a pending resolver when its deadline passes, saying why', async () => {
    const resolver = new ManualResolver();
    const clock = new VirtualClock();
    const { balancer } = setup(resolver, clock);
    const withDeadline = deadlineFilter<string, string>({ clock, inheritAmbient: false });
    const c = ctx();
    c.budgetMs = 200;
    const outcome = withDeadline('req', c, (req, cc) => balancer.call(req, cc)).catch((e: unknown) => e);
    await clock.advanceAsync(199);
    await clock.advanceAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect((error as DeadlineExceededError).cause).toBeInstanceOf(NoEndpointsError);
    expect(((error as DeadlineExceededError).cause as Error).message).toContain('has not answered yet');
    await balancer.close();
  });

  it('a caller abort ends the wait for discovery', async () => {
    const resolver = new ManualResolver();
    const { balancer } = setup(resolver);
    const controller = new AbortController();
    const outcome = balancer.call('req', new CallContext('svc', controller.signal)).catch((e: unknown) => e);
    controller.abort(new Error('gave up'));
    const error = await outcome;
    expect(error).toBeInstanceOf(NoEndpointsError);
    expect(((error as Error).cause as Error).message).toBe('gave up');
    await balancer.close();
  });

  it('fails fast with NoEndpointsError when the name does not exist', async () => {
    const resolver = new ManualResolver();
    const { balancer } = setup(resolver);
    resolver.publish({ kind: 'negative', reason: 'NXDOMAIN' });
    const error = await balancer.call('req', ctx()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoEndpointsError);
    expect((error as NoEndpointsError).code).toBe('WEFT_NO_ENDPOINTS');
    expect((error as Error).message).toContain(': NXDOMAIN');
    expect((error as Error).message).toContain('destination svc');
    await balancer.close();
  });

  it('makes calls wait while discovery has only failed: a source that fails 3 times, then binds', async () => {
    // Before issue 17 such a call failed at once ("failed and no endpoint set was ever resolved").
    const resolver = new ManualResolver();
    const clock = new VirtualClock();
    const { balancer, made } = setup(resolver, clock);
    const withDeadline = deadlineFilter<string, string>({ clock, inheritAmbient: false });
    const c = ctx();
    c.budgetMs = 2_000;
    const outcome = withDeadline('req', c, (req, cc) => balancer.call(req, cc));
    for (let i = 1; i <= 3; i++) {
      await clock.advanceAsync(300);
      resolver.publish({ kind: 'failed', error: new Error(`connect ECONNREFUSED (try ${i})`) });
    }
    expect(made.size).toBe(0);
    await clock.advanceAsync(300);
    resolver.publish({
      kind: 'bound',
      endpoints: [{ address: '127.0.0.1:1001', host: '127.0.0.1', port: 1001, weight: 1 }],
    });
    await clock.advanceAsync(0);
    made.get('127.0.0.1:1001')!.pending[0]!('after the outage');
    await expect(outcome).resolves.toBe('after the outage');
    expect(c.attemptStart).toBe(1_200);
    await balancer.close();
  });

  it('fails a call at its deadline when the source never binds, naming the source, with its last error as cause', async () => {
    const resolver = new ManualResolver();
    const clock = new VirtualClock();
    const { balancer } = setup(resolver, clock);
    const withDeadline = deadlineFilter<string, string>({ clock, inheritAmbient: false });
    const last = new Error('connect ECONNREFUSED 127.0.0.1:2379');
    resolver.publish({ kind: 'failed', error: new Error('first failure') });
    const c = ctx();
    c.budgetMs = 500;
    const outcome = withDeadline('req', c, (req, cc) => balancer.call(req, cc)).catch((e: unknown) => e);
    await clock.advanceAsync(250);
    resolver.publish({ kind: 'failed', error: last });
    let settled = false;
    void outcome.then(() => {
      settled = true;
    });
    await clock.advanceAsync(249);
    expect(settled).toBe(false);
    await clock.advanceAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(DeadlineExceededError);
    const cause = (error as DeadlineExceededError).cause as NoEndpointsError;
    expect(cause).toBeInstanceOf(NoEndpointsError);
    expect(cause.message).toContain('discovery (manual) has failed and has no endpoint set yet');
    expect(cause.message).toContain('ECONNREFUSED 127.0.0.1:2379');
    expect(cause.cause).toBe(last);
    await balancer.close();
  });

  it('ends the wait at once when the source says the name does not exist', async () => {
    const resolver = new ManualResolver();
    const { balancer } = setup(resolver);
    resolver.publish({ kind: 'failed', error: new Error('SERVFAIL') });
    const outcome = balancer.call('req', ctx()).catch((e: unknown) => e);
    await Promise.resolve();
    resolver.publish({ kind: 'negative', reason: 'NXDOMAIN' });
    const error = await outcome;
    expect(error).toBeInstanceOf(NoEndpointsError);
    expect((error as Error).message).toContain(': NXDOMAIN');
    await balancer.close();
  });

  it('rejects the calls still waiting for discovery when it closes', async () => {
    const resolver = new ManualResolver();
    const { balancer } = setup(resolver);
    resolver.publish({ kind: 'failed', error: new Error('SERVFAIL') });
    const outcome = balancer.call('req', ctx()).catch((e: unknown) => e);
    await balancer.close();
    expect(await outcome).toBeInstanceOf(ClientClosedError);
  });

  it('keeps sending to the last set when discovery fails later', async () => {
    const resolver = new ManualResolver();
    const { balancer, made, endpoints } = setup(resolver);
    resolver.publish({
      kind: 'bound',
      endpoints: [{ address: '127.0.0.1:1001', host: '127.0.0.1', port: 1001, weight: 1 }],
    });
    resolver.publish({ kind: 'failed', error: new Error('timeout') });
    expect(endpoints.current.stale).toBe(true);
    const call = balancer.call('req', ctx());
    made.get('127.0.0.1:1001')!.pending[0]!('still here');
    await expect(call).resolves.toBe('still here');
    await balancer.close();
  });

  it('closes every endpoint on close', async () => {
    const resolver = staticResolver(['127.0.0.1:1001', '127.0.0.1:1002']);
    const { balancer, made } = setup(resolver);
    await balancer.close();
    expect([...made.values()].every((f) => f.closed)).toBe(true);
    expect(balancer.status).toBe('closed');
  });
});
