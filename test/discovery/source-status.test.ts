/**
 * Per-source status kept by DiscoveredEndpoints for a lone resolver, counted from the states it
 * receives (the source implements nothing): updates, errors, last error, when it last answered and
 * last confirmed a non-empty set, stale after a failure or an empty answer, serving since the set
 * was built; reachable from any snapshot the set published (discoverySourcesOf). A resolver that
 * lists its own sources (Resolver.sources) is asked instead.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { createEndpoint } from '../../src/discovery/endpoint.js';
import { DiscoveredEndpoints, discoverySourcesOf } from '../../src/discovery/endpoint-set.js';
import type { EndpointSetListener, EndpointSetState, Resolver } from '../../src/discovery/resolver.js';
import type { SourceStatus } from '../../src/discovery/source-status.js';

class HandResolver implements Resolver {
  readonly description = 'registry:api';
  #listener: EndpointSetListener | undefined;
  subscribe(listener: EndpointSetListener) {
    this.#listener = listener;
    return () => {
      this.#listener = undefined;
    };
  }
  publish(state: EndpointSetState) {
    this.#listener?.(state);
  }
  close() {}
}

const bound = (...ports: number[]): EndpointSetState => ({
  kind: 'bound',
  endpoints: ports.map((p) => createEndpoint('127.0.0.1', p)),
});

describe('per-source status of a lone resolver', () => {
  it('counts the states it receives, and tells fresh from stale', () => {
    const clock = new VirtualClock(100);
    const resolver = new HandResolver();
    const set = new DiscoveredEndpoints(resolver, clock);
    expect(set.sources()).toEqual([
      {
        description: 'registry:api',
        kind: 'pending',
        serving: true,
        servingSince: 100,
        updates: 0,
        errors: 0,
        lastError: undefined,
        lastUpdateAt: undefined,
        confirmedAt: undefined,
        stale: false,
        readAt: 100,
      },
    ]);
    clock.advance(50);
    resolver.publish(bound(1001));
    resolver.publish(bound(1001)); // a repeat is an update too: the source said it again
    clock.advance(1_000);
    const down = new Error('registry unreachable');
    resolver.publish({ kind: 'failed', error: down });
    const [failing] = set.sources() as [SourceStatus];
    expect(failing).toMatchObject({
      kind: 'failed',
      updates: 3,
      errors: 1,
      lastError: down,
      lastUpdateAt: 1_150,
      confirmedAt: 150,
      stale: true,
      readAt: 1_150,
    });
    clock.advance(10);
    resolver.publish(bound());
    expect(set.sources()[0]).toMatchObject({ kind: 'bound', stale: true, confirmedAt: 150, lastError: down });
    resolver.publish(bound(1002));
    expect(set.sources()[0]).toMatchObject({ kind: 'bound', stale: false, confirmedAt: 1_160, updates: 5 });
    resolver.publish({ kind: 'negative', reason: 'deleted' });
    expect(set.sources()[0]).toMatchObject({ kind: 'negative', stale: false, confirmedAt: undefined });
    resolver.publish({ kind: 'failed', error: new Error('again') });
    // After negative there is no set to keep: failing is not stale.
    expect(set.sources()[0]).toMatchObject({ kind: 'failed', stale: false, errors: 2 });
    set.close();
  });

  it('is reachable from any snapshot the set published, and only from those', () => {
    const clock = new VirtualClock();
    const resolver = new HandResolver();
    const set = new DiscoveredEndpoints(resolver, clock);
    const first = set.current;
    resolver.publish(bound(1001));
    expect(discoverySourcesOf(set.current)?.[0]?.updates).toBe(1);
    // Read when asked, not when the snapshot was made.
    expect(discoverySourcesOf(first)?.[0]?.updates).toBe(1);
    expect(discoverySourcesOf({ ...set.current })).toBeUndefined();
    set.close();
  });

  it('asks a resolver that lists its own sources, and falls back to its own count if that throws', async () => {
    const clock = new VirtualClock();
    const listed: SourceStatus[] = [
      {
        description: 'a',
        kind: 'bound',
        serving: true,
        servingSince: 0,
        updates: 7,
        errors: 0,
        lastError: undefined,
        lastUpdateAt: 0,
        confirmedAt: 0,
        stale: false,
        readAt: 0,
      },
    ];
    const composite = Object.assign(new HandResolver(), { sources: () => listed });
    const set = new DiscoveredEndpoints(composite, clock);
    expect(set.sources()).toBe(listed);
    set.close();
    const broken = Object.assign(new HandResolver(), {
      sources: (): SourceStatus[] => {
        throw new Error('bug');
      },
    });
    const other = new DiscoveredEndpoints(broken, clock);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      expect(other.sources().map((s) => s.description)).toEqual(['registry:api']);
    } finally {
      other.close();
    }
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    process.off('warning', onWarning);
    expect(warnings.some((w) => w.includes('sources() of registry:api threw'))).toBe(true);
  });
});
