/**
 * DiscoveredEndpoints: every advisory rule (Finagle Addr semantics) driven by a hand-driven
 * resolver on the VirtualClock: failures and empty answers keep the last set stale, negative
 * empties it, unchanged sets do not notify, listeners are isolated, ready() and close().
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { createEndpoint, type Endpoint } from '../../src/discovery/endpoint.js';
import { DiscoveredEndpoints, type EndpointSetSnapshot } from '../../src/discovery/endpoint-set.js';
import type { EndpointSetListener, EndpointSetState, Resolver } from '../../src/discovery/resolver.js';
import { staticResolver } from '../../src/discovery/static.js';

/** The resolver contract, driven by the test. */
class ManualResolver implements Resolver {
  readonly description = 'manual';
  readonly listeners = new Set<EndpointSetListener>();
  closeCalls = 0;

  subscribe(listener: EndpointSetListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  publish(state: EndpointSetState): void {
    for (const listener of this.listeners) listener(state);
  }

  bound(...endpoints: Endpoint[]): void {
    this.publish({ kind: 'bound', endpoints });
  }

  close(): void {
    this.closeCalls += 1;
  }
}

const a = createEndpoint('10.0.0.1', 80);
const b = createEndpoint('10.0.0.2', 80);
const c = createEndpoint('10.0.0.3', 80);

function setup(start = 1_000) {
  const clock = new VirtualClock(start);
  const resolver = new ManualResolver();
  const set = new DiscoveredEndpoints(resolver, clock);
  const updates: EndpointSetSnapshot[] = [];
  set.onUpdate((snapshot) => updates.push(snapshot));
  return { clock, resolver, set, updates };
}

const addresses = (snapshot: EndpointSetSnapshot): string[] => snapshot.endpoints.map((e) => e.address);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('DiscoveredEndpoints', () => {
  it('notifies when only a zone or metadata changes, not when an equal copy arrives', () => {
    const { resolver, updates } = setup();
    const zoned = (zone: string, priority: number) =>
      createEndpoint('10.0.0.1', 80, 1, 'endpoint', { zone, metadata: { priority } });
    resolver.bound(zoned('z1', 0));
    resolver.bound(zoned('z1', 0));
    expect(updates).toHaveLength(1);
    resolver.bound(zoned('z2', 0));
    expect(updates).toHaveLength(2);
    expect(updates[1]?.endpoints[0]?.zone).toBe('z2');
    resolver.bound(zoned('z2', 1));
    expect(updates).toHaveLength(3);
    expect(updates[2]?.endpoints[0]?.metadata).toEqual({ priority: 1 });
    resolver.bound(createEndpoint('10.0.0.1', 80));
    expect(updates).toHaveLength(4);
  });

  it('createEndpoint validates zone and metadata, naming the option', () => {
    expect(() => createEndpoint('h', 1, 1, 'srv', { zone: '' })).toThrow(/srv\.zone/);
    expect(() => createEndpoint('h', 1, 1, 'srv', { metadata: { x: {} as never } })).toThrow(
      /srv\.metadata\.x/,
    );
    expect(() => createEndpoint('h', 1, 1, 'srv', { metadata: [] as never })).toThrow(/srv\.metadata/);
    const endpoint = createEndpoint('h', 1, 1, 'srv', { zone: 'a', metadata: { priority: 2, ready: true } });
    expect(endpoint).toEqual({
      address: 'h:1',
      host: 'h',
      port: 1,
      weight: 1,
      zone: 'a',
      metadata: { priority: 2, ready: true },
    });
    expect(Object.isFrozen(endpoint.metadata)).toBe(true);
  });

  it('subscribes on construction and starts pending, stamped with the clock', () => {
    const { resolver, set } = setup(1_000);
    expect(resolver.listeners.size).toBe(1);
    expect(set.current).toEqual({ kind: 'pending', endpoints: [], stale: false, updatedAt: 1_000 });
    expect(set.description).toBe('manual');
  });

  it('bound(non-empty) publishes that set, not stale, with boundAt', () => {
    const { clock, resolver, set, updates } = setup();
    clock.advance(5);
    resolver.bound(a, b);
    expect(set.current).toEqual({
      kind: 'bound',
      endpoints: [a, b],
      stale: false,
      updatedAt: 1_005,
      boundAt: 1_005,
    });
    expect(updates).toEqual([set.current]);
  });

  it('deduplicates endpoints by address, keeping the first', () => {
    const { resolver, set } = setup();
    const heavyA = createEndpoint('10.0.0.1', 80, 5);
    resolver.bound(a, b, heavyA, b);
    expect(addresses(set.current)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
    expect(set.current.endpoints[0]?.weight).toBe(1);
  });

  it('failed after a good set keeps the last set, marked stale, with the error', () => {
    const { clock, resolver, set, updates } = setup();
    resolver.bound(a, b);
    const good = set.current;
    clock.advance(100);
    const error = new Error('dns down');
    resolver.publish({ kind: 'failed', error });
    expect(set.current.kind).toBe('bound');
    expect(set.current.stale).toBe(true);
    expect(set.current.error).toBe(error);
    expect(set.current.endpoints).toBe(good.endpoints);
    expect(set.current.boundAt).toBe(1_000);
    expect(set.current.updatedAt).toBe(1_100);
    expect(updates).toHaveLength(2);

    // A second failure changes nothing the balancer cares about: no notification.
    clock.advance(100);
    resolver.publish({ kind: 'failed', error: new Error('still down') });
    expect(updates).toHaveLength(2);
    expect(set.current.updatedAt).toBe(1_200);
    expect(set.current.error?.message).toBe('still down');

    // Recovery with the same set clears the stale flag and notifies.
    resolver.bound(b, a);
    expect(set.current).toMatchObject({ kind: 'bound', stale: false, boundAt: 1_200 });
    expect(set.current.error).toBeUndefined();
    expect(updates).toHaveLength(3);
  });

  it('failed with no good set ever is failed, with no endpoints', () => {
    const { resolver, set, updates } = setup();
    const error = new Error('refused');
    resolver.publish({ kind: 'failed', error });
    expect(set.current).toMatchObject({ kind: 'failed', endpoints: [], stale: false, error });
    expect(set.current.boundAt).toBeUndefined();
    expect(updates).toHaveLength(1);
  });

  it('a suddenly empty set keeps the last non-empty set, marked stale', () => {
    const { clock, resolver, set, updates } = setup();
    resolver.bound(a, b);
    clock.advance(10);
    resolver.bound();
    expect(set.current.kind).toBe('bound');
    expect(addresses(set.current)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
    expect(set.current.stale).toBe(true);
    expect(set.current.reason).toMatch(/empty set/);
    expect(set.current.boundAt).toBe(1_000);
    expect(updates).toHaveLength(2);
  });

  it('an empty first answer is bound with no endpoints', () => {
    const { resolver, set, updates } = setup();
    resolver.bound();
    expect(set.current).toEqual({
      kind: 'bound',
      endpoints: [],
      stale: false,
      updatedAt: 1_000,
      boundAt: 1_000,
    });
    expect(updates).toHaveLength(1);
  });

  it('negative empties the pool and forgets the last set', () => {
    const { resolver, set, updates } = setup();
    resolver.bound(a, b);
    resolver.publish({ kind: 'negative', reason: 'NXDOMAIN' });
    expect(set.current).toMatchObject({ kind: 'negative', endpoints: [], stale: false, reason: 'NXDOMAIN' });
    expect(updates.map((u) => u.kind)).toEqual(['bound', 'negative']);

    // With the set forgotten, a failure or an empty answer has nothing to keep.
    const error = new Error('timeout');
    resolver.publish({ kind: 'failed', error });
    expect(set.current).toMatchObject({ kind: 'failed', endpoints: [], error });
    resolver.bound();
    expect(set.current).toMatchObject({ kind: 'bound', endpoints: [], stale: false });
  });

  it('does not notify when the same set arrives in another order, but refreshes updatedAt', () => {
    const { clock, resolver, set, updates } = setup();
    resolver.bound(a, b, c);
    const first = set.current;
    clock.advance(30);
    resolver.bound(c, a, b);
    expect(updates).toHaveLength(1);
    expect(set.current).not.toBe(first);
    expect(set.current.endpoints).toBe(first.endpoints);
    expect(set.current.updatedAt).toBe(1_030);
    expect(set.current.boundAt).toBe(1_030);
  });

  it('notifies when an address or a weight changes', () => {
    const { resolver, set, updates } = setup();
    resolver.bound(a, b);
    resolver.bound(a, c);
    expect(addresses(set.current)).toEqual(['10.0.0.1:80', '10.0.0.3:80']);
    resolver.bound(a, createEndpoint('10.0.0.3', 80, 3));
    expect(set.current.endpoints[1]?.weight).toBe(3);
    resolver.bound(a);
    expect(updates).toHaveLength(4);
  });

  it('ignores pending once an answer arrived', () => {
    const { resolver, set, updates } = setup();
    resolver.bound(a);
    const before = set.current;
    resolver.publish({ kind: 'pending' });
    expect(set.current).toBe(before);
    expect(updates).toHaveLength(1);
  });

  it('returns the same snapshot object on every read', () => {
    const { resolver, set } = setup();
    resolver.bound(a, b);
    const first = set.current;
    expect(set.current).toBe(first);
    expect(set.current.endpoints).toBe(first.endpoints);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.endpoints)).toBe(true);
  });

  it('isolates a throwing listener from the others and from the resolver', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const { resolver, set } = setup();
    const seen: string[] = [];
    set.onUpdate(() => {
      throw new Error('listener bug');
    });
    set.onUpdate((snapshot) => seen.push(snapshot.kind));
    expect(() => resolver.bound(a)).not.toThrow();
    expect(seen).toEqual(['bound']);
    expect(set.current.kind).toBe('bound');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/listener bug/);
  });

  it('stops calling a listener once it unsubscribes', () => {
    const { resolver, set } = setup();
    const seen: string[] = [];
    const off = set.onUpdate((snapshot) => seen.push(snapshot.kind));
    resolver.bound(a);
    off();
    resolver.publish({ kind: 'negative', reason: 'gone' });
    expect(seen).toEqual(['bound']);
  });

  it('ready() resolves on the first answer, and at once when there is one', async () => {
    const { resolver, set } = setup();
    let resolved: EndpointSetSnapshot | undefined;
    const ready = set.ready().then((snapshot) => {
      resolved = snapshot;
      return snapshot;
    });
    await Promise.resolve();
    expect(resolved).toBeUndefined();
    resolver.publish({ kind: 'failed', error: new Error('x') });
    await expect(ready).resolves.toMatchObject({ kind: 'failed' });
    await expect(set.ready()).resolves.toBe(set.current);
  });

  it('ready() rejects with the abort reason', async () => {
    const { resolver, set } = setup();
    const controller = new AbortController();
    const ready = set.ready(controller.signal);
    const reason = new Error('gave up');
    controller.abort(reason);
    await expect(ready).rejects.toBe(reason);
    await expect(set.ready(AbortSignal.abort('already'))).rejects.toBe('already');
    // A later answer still resolves new waiters.
    resolver.bound(a);
    await expect(set.ready(controller.signal)).resolves.toMatchObject({ kind: 'bound' });
  });

  it('close() unsubscribes, closes the resolver once, rejects waiters and ignores later states', async () => {
    const { resolver, set, updates } = setup();
    const waiting = set.ready();
    set.close();
    set.close();
    expect(resolver.listeners.size).toBe(0);
    expect(resolver.closeCalls).toBe(1);
    await expect(waiting).rejects.toMatchObject({ code: 'WEFT_CLIENT_CLOSED' });
    await expect(set.ready()).rejects.toMatchObject({ code: 'WEFT_CLIENT_CLOSED' });
    // A resolver that keeps a stale reference to the listener is ignored.
    const late = new ManualResolver();
    const other = new DiscoveredEndpoints(late, new VirtualClock());
    const [listener] = late.listeners;
    other.close();
    listener?.({ kind: 'bound', endpoints: [a] });
    expect(other.current.kind).toBe('pending');
    expect(updates).toHaveLength(0);
  });

  it('applies the rules to a static resolver, which answers synchronously', () => {
    const resolver = staticResolver(['10.0.0.1:80', '10.0.0.2:80']);
    const set = new DiscoveredEndpoints(resolver, new VirtualClock());
    expect(set.current.kind).toBe('bound');
    resolver.update([]);
    expect(set.current).toMatchObject({ kind: 'bound', stale: true });
    expect(addresses(set.current)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
    set.close();
  });
});
