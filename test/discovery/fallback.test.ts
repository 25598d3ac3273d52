/**
 * fallbackResolver on the VirtualClock with hand-driven sources: the first source that is not
 * failed serves; negative and empty answers are authoritative (no fallback); a pending primary is
 * waited for during the start-up wait, then skipped until it answers; a recovered primary serves
 * again; when no source can answer, `failed` names every source; per-source status; close();
 * typed config errors. Then through DiscoveredEndpoints, as a client uses it.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { createEndpoint, type Endpoint } from '../../src/discovery/endpoint.js';
import { DiscoveredEndpoints, discoverySourcesOf } from '../../src/discovery/endpoint-set.js';
import {
  AllSourcesFailedError,
  DEFAULT_STARTUP_WAIT_MS,
  fallbackResolver,
} from '../../src/discovery/fallback.js';
import type { EndpointSetListener, EndpointSetState, Resolver } from '../../src/discovery/resolver.js';
import { staticResolver } from '../../src/discovery/static.js';

/** A source the test drives by hand; it remembers its subscribers and whether it was closed. */
class HandResolver implements Resolver {
  readonly listeners = new Set<EndpointSetListener>();
  state: EndpointSetState = { kind: 'pending' };
  closed = false;
  constructor(readonly description: string) {}
  subscribe(listener: EndpointSetListener) {
    this.listeners.add(listener);
    if (this.state.kind !== 'pending') listener(this.state);
    return () => this.listeners.delete(listener);
  }
  publish(state: EndpointSetState) {
    this.state = state;
    for (const l of [...this.listeners]) l(state);
  }
  bind(...ports: number[]) {
    this.publish({ kind: 'bound', endpoints: ports.map((p) => createEndpoint('127.0.0.1', p)) });
  }
  fail(message: string) {
    this.publish({ kind: 'failed', error: new Error(message) });
  }
  close() {
    this.closed = true;
    this.listeners.clear();
  }
}

function ports(state: EndpointSetState | undefined): number[] | string | undefined {
  if (state === undefined) return undefined;
  return state.kind === 'bound' ? state.endpoints.map((e: Endpoint) => e.port) : state.kind;
}

/** A fallback over `n` hand-driven sources, with what it published. */
function setup(n = 2, options: { startupWaitMs?: number } = {}) {
  const clock = new VirtualClock();
  const sources = Array.from(
    { length: n },
    (_, i) => new HandResolver(i === 0 ? 'primary' : `fallback-${i}`),
  );
  const resolver = fallbackResolver(sources, { clock, ...options });
  const published: EndpointSetState[] = [];
  const last = () => published.at(-1);
  return {
    clock,
    sources,
    resolver,
    published,
    last,
    start: () => resolver.subscribe((s) => published.push(s)),
  };
}

function serving(resolver: Resolver): string[] {
  return (resolver.sources?.() ?? []).filter((s) => s.serving).map((s) => s.description);
}

describe('fallbackResolver: choosing a trusted source', () => {
  it('serves the primary while it answers; the fallback is subscribed to, never served', () => {
    const { sources, resolver, published, start } = setup();
    const [primary, fallback] = sources as [HandResolver, HandResolver];
    primary.bind(1001);
    fallback.bind(2001);
    expect(primary.listeners.size).toBe(0); // nothing starts before the first subscriber
    start();
    expect(primary.listeners.size).toBe(1);
    expect(fallback.listeners.size).toBe(1);
    expect(published.map(ports)).toEqual([[1001]]);
    fallback.bind(2002);
    primary.bind(1001, 1002);
    expect(published.map(ports)).toEqual([[1001], [1001, 1002]]);
    expect(serving(resolver)).toEqual(['primary']);
    expect(resolver.description).toBe('fallback(primary, fallback-1)');
  });

  it('falls back when the primary fails, and switches back when it recovers', () => {
    const { clock, sources, resolver, last, start } = setup();
    const [primary, fallback] = sources as [HandResolver, HandResolver];
    primary.bind(1001);
    fallback.bind(2001);
    start();
    clock.advance(1_000);
    primary.fail('connect ECONNREFUSED');
    expect(ports(last())).toEqual([2001]);
    expect(serving(resolver)).toEqual(['fallback-1']);
    expect(resolver.sources!()[1]).toMatchObject({ serving: true, servingSince: 1_000 });
    fallback.bind(2001, 2002); // the serving fallback's changes go through
    expect(ports(last())).toEqual([2001, 2002]);
    clock.advance(500);
    primary.bind(1003);
    expect(ports(last())).toEqual([1003]);
    expect(resolver.sources!()).toMatchObject([
      { description: 'primary', serving: true, servingSince: 1_500, kind: 'bound', updates: 3, errors: 1 },
      { description: 'fallback-1', serving: false, servingSince: undefined, kind: 'bound', updates: 2 },
    ]);
  });

  it('does not fall back when the primary says the name does not exist, nor when it answers empty', () => {
    const { sources, last, start } = setup();
    const [primary, fallback] = sources as [HandResolver, HandResolver];
    fallback.bind(2001);
    start();
    primary.publish({ kind: 'negative', reason: 'NXDOMAIN' });
    expect(last()).toEqual({ kind: 'negative', reason: 'NXDOMAIN' });
    primary.publish({ kind: 'bound', endpoints: [] });
    expect(last()).toEqual({ kind: 'bound', endpoints: [] });
  });

  it('waits for a pending primary during the start-up wait, then lets the fallback serve until the primary answers', () => {
    const { clock, sources, resolver, published, last, start } = setup();
    const [primary, fallback] = sources as [HandResolver, HandResolver];
    fallback.bind(2001);
    start();
    expect(published).toEqual([]);
    clock.advance(DEFAULT_STARTUP_WAIT_MS - 1);
    expect(published).toEqual([]);
    expect(serving(resolver)).toEqual([]);
    clock.advance(1);
    expect(ports(last())).toEqual([2001]);
    expect(serving(resolver)).toEqual(['fallback-1']);
    primary.bind(1001);
    expect(ports(last())).toEqual([1001]);
    expect(serving(resolver)).toEqual(['primary']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('serves a primary that answers within the start-up wait, and never the fallback', () => {
    const { clock, sources, published, start } = setup();
    const [primary, fallback] = sources as [HandResolver, HandResolver];
    fallback.bind(2001);
    start();
    clock.advance(3_000);
    primary.bind(1001);
    clock.advance(10_000);
    expect(published.map(ports)).toEqual([[1001]]);
  });

  it('falls back at once when the primary fails during the start-up wait', () => {
    const { sources, last, start } = setup();
    const [primary, fallback] = sources as [HandResolver, HandResolver];
    fallback.bind(2001);
    start();
    primary.fail('ECONNREFUSED');
    expect(ports(last())).toEqual([2001]);
  });

  it('publishes failed while the primary failed and the fallback has not answered yet, then the fallback', () => {
    const { clock, sources, last, start } = setup();
    const [primary, fallback] = sources as [HandResolver, HandResolver];
    start();
    primary.fail('ECONNREFUSED');
    const state = last();
    expect(state?.kind).toBe('failed');
    const error = (state as { error: Error }).error;
    expect(error).toBeInstanceOf(AllSourcesFailedError);
    expect(error.message).toBe(
      'no discovery source can answer: primary failed (ECONNREFUSED); waiting for fallback-1',
    );
    clock.advance(100);
    fallback.bind(2001);
    expect(ports(last())).toEqual([2001]);
  });

  it('when every source has failed, publishes failed naming each one, and serves the first to recover', () => {
    const { clock, sources, resolver, last, start } = setup(3);
    const [primary, second, third] = sources as [HandResolver, HandResolver, HandResolver];
    primary.bind(1001);
    start();
    primary.fail('etcd: connect ECONNREFUSED');
    second.fail('SERVFAIL');
    expect(last()?.kind).toBe('failed'); // the third has not answered: it is still waited for
    clock.advance(DEFAULT_STARTUP_WAIT_MS);
    const error = (last() as { error: Error }).error as AllSourcesFailedError;
    expect(error.message).toBe(
      'no discovery source can answer: primary failed (etcd: connect ECONNREFUSED); fallback-1 failed (SERVFAIL); fallback-2 has not answered',
    );
    expect(error.errors.map((e: Error) => e.message)).toEqual(['etcd: connect ECONNREFUSED', 'SERVFAIL']);
    expect(error.sources).toEqual(['primary', 'fallback-1', 'fallback-2']);
    // The set in use is still the primary's (the client keeps it, stale): it is still the one serving.
    expect(resolver.sources!()).toMatchObject([
      { serving: true, stale: true, kind: 'failed', lastError: { message: 'etcd: connect ECONNREFUSED' } },
      { serving: false, stale: false, kind: 'failed' },
      { serving: false, kind: 'pending', updates: 0 },
    ]);
    third.bind(3001);
    expect(ports(last())).toEqual([3001]);
    second.bind(2001);
    expect(ports(last())).toEqual([2001]);
  });

  it('stays pending while no source has answered or failed, after the wait too', () => {
    const { clock, published, start } = setup();
    start();
    clock.advance(60_000);
    expect(published).toEqual([]);
  });

  it('with startupWaitMs 0, the first source to answer serves until an earlier one answers', () => {
    const { sources, last, start } = setup(2, { startupWaitMs: 0 });
    const [primary, fallback] = sources as [HandResolver, HandResolver];
    fallback.bind(2001);
    start();
    expect(ports(last())).toEqual([2001]);
    primary.bind(1001);
    expect(ports(last())).toEqual([1001]);
  });

  it('with startupWaitMs Infinity, waits for a pending primary as long as it takes (Finagle Alt)', () => {
    const { clock, sources, published, start } = setup(2, { startupWaitMs: Number.POSITIVE_INFINITY });
    const [, fallback] = sources as [HandResolver, HandResolver];
    fallback.bind(2001);
    start();
    clock.advance(3_600_000);
    expect(published).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('gives a later subscriber the current state first', () => {
    const { sources, resolver, start } = setup();
    (sources[0] as HandResolver).bind(1001);
    start();
    const seen: EndpointSetState[] = [];
    resolver.subscribe((s) => seen.push(s));
    expect(seen.map(ports)).toEqual([[1001]]);
  });

  it('counts a source whose subscribe throws as failed', () => {
    const clock = new VirtualClock();
    const broken: Resolver = {
      description: 'broken',
      subscribe() {
        throw new Error('cannot start');
      },
      close() {},
    };
    const resolver = fallbackResolver([broken, staticResolver(['127.0.0.1:2001'])], { clock });
    const seen: EndpointSetState[] = [];
    resolver.subscribe((s) => seen.push(s));
    expect(seen.map(ports)).toEqual([[2001]]);
    expect(resolver.sources!()[0]).toMatchObject({
      kind: 'failed',
      errors: 1,
      lastError: { message: 'cannot start' },
    });
  });

  it('closes every source, unsubscribes, and cancels the start-up wait', () => {
    const { clock, sources, resolver, published, start } = setup(3);
    start();
    expect(clock.pendingTimers).toBe(1);
    resolver.close();
    resolver.close();
    expect(sources.every((s) => (s as HandResolver).closed)).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    expect(resolver.subscribe(() => {})).toBeTypeOf('function');
    expect(published).toEqual([]);
  });

  it('rejects bad configuration with a ConfigError naming the option', () => {
    const a = new HandResolver('a');
    const cases: Array<[() => unknown, string]> = [
      [() => fallbackResolver([]), 'fallback.sources'],
      [() => fallbackResolver('a' as never), 'fallback.sources'],
      [() => fallbackResolver([a, {} as never]), 'fallback.sources[1]'],
      [() => fallbackResolver([a, new HandResolver('a')]), 'fallback.sources[1]'],
      [() => fallbackResolver([a], { startupWaitMs: -1 }), 'fallback.startupWaitMs'],
      [() => fallbackResolver([a], { startupWaitMs: Number.NaN }), 'fallback.startupWaitMs'],
      [() => fallbackResolver([a], { description: '' }), 'fallback.description'],
      [() => fallbackResolver([a], { clock: {} as never }), 'fallback.clock'],
      [() => fallbackResolver([a], { startupWait: 1 } as never), 'fallback.startupWait'],
      [() => fallbackResolver([a], null as never), 'fallback'],
    ];
    for (const [make, option] of cases) {
      let error: unknown;
      try {
        make();
      } catch (e) {
        error = e;
      }
      expect(error, option).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option, option).toBe(option);
    }
    expect(() => fallbackResolver([a, new HandResolver('a')])).toThrow(
      /give each source its own description/,
    );
  });
});

describe('fallbackResolver under DiscoveredEndpoints (as a client uses it)', () => {
  it('hands the client the fallback set, then the primary again, and lists the sources through the snapshot', () => {
    const clock = new VirtualClock();
    const primary = new HandResolver('etcd:/services/api');
    const fallback = staticResolver(['127.0.0.1:2001'], { description: 'static(api)' });
    const set = new DiscoveredEndpoints(fallbackResolver([primary, fallback], { clock }), clock);
    expect(set.current.kind).toBe('pending');
    clock.advance(DEFAULT_STARTUP_WAIT_MS);
    expect(set.current).toMatchObject({ kind: 'bound', stale: false });
    expect(set.current.endpoints.map((e) => e.port)).toEqual([2001]);
    primary.bind(1001);
    expect(set.current.endpoints.map((e) => e.port)).toEqual([1001]);
    primary.fail('etcd down');
    expect(set.current.endpoints.map((e) => e.port)).toEqual([2001]);
    expect(set.current.stale).toBe(false);
    const sources = discoverySourcesOf(set.current);
    expect(sources?.map((s) => [s.description, s.serving, s.kind])).toEqual([
      ['etcd:/services/api', false, 'failed'],
      ['static(api)', true, 'bound'],
    ]);
    set.close();
    expect(primary.closed).toBe(true);
  });
});
