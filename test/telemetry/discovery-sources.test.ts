/**
 * Discovery per source, as telemetry shows it: Prometheus series per client and source (updates,
 * errors, stale seconds, serving and serving seconds) and the admin JSON's line per source, for a
 * real HTTP client on loopback whose fallback resolver switches from a failing primary to a static
 * fallback and back, and for a lone resolver (one source, always serving). Times on a VirtualClock
 * shared by the client and the resolver, so the seconds are exact.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { fallbackResolver } from '../../src/discovery/fallback.js';
import type { EndpointSetListener, EndpointSetState, Resolver } from '../../src/discovery/resolver.js';
import { createEndpoint, staticResolver } from '../../src/index.js';
import { prometheusMetrics } from '../../src/prometheus.js';
import { adminState } from '../../src/telemetry/admin-state.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';

const { backends, client } = loopbackFixtures();

/** A primary source the test drives by hand. */
class HandResolver implements Resolver {
  readonly description = 'etcd:/services/api';
  readonly #listeners = new Set<EndpointSetListener>();
  #state: EndpointSetState = { kind: 'pending' };
  subscribe(listener: EndpointSetListener) {
    this.#listeners.add(listener);
    if (this.#state.kind !== 'pending') listener(this.#state);
    return () => this.#listeners.delete(listener);
  }
  publish(state: EndpointSetState) {
    this.#state = state;
    for (const l of [...this.#listeners]) l(state);
  }
  close() {
    this.#listeners.clear();
  }
}

/** The value of `name`'s series with these labels; undefined when there is none. */
async function metric(registry: Registry, name: string, labels: Record<string, string>) {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value;
}

/** Which backend answers a call: each backend replies with its own port. */
async function answeredBy(c: ReturnType<typeof client>): Promise<string> {
  const res = await c.request({ path: '/' });
  return res.body.text();
}

describe('discovery per source in telemetry', () => {
  it('shows which source serves, since when, and each source’s updates, errors and staleness', async () => {
    const primaryBackend = await backends.start(replyAfter(0, 'primary'));
    const fallbackBackend = await backends.start(replyAfter(0, 'fallback'));
    const clock = new VirtualClock(1_000);
    const primary = new HandResolver();
    primary.publish({ kind: 'bound', endpoints: [createEndpoint('127.0.0.1', primaryBackend.port)] });
    const registry = new Registry();
    const api = client({
      name: 'api',
      clock,
      resolver: fallbackResolver(
        [primary, staticResolver([fallbackBackend.address], { description: 'static(api)' })],
        { clock },
      ),
      telemetry: prometheusMetrics({ registry }),
    });
    const m = (name: string, source: string) => metric(registry, `weft_${name}`, { client: 'api', source });

    expect(await answeredBy(api)).toBe('primary');
    expect(await m('discovery_serving', 'etcd:/services/api')).toBe(1);
    expect(await m('discovery_serving', 'static(api)')).toBe(0);
    expect(await m('discovery_source_updates_total', 'etcd:/services/api')).toBe(1);
    expect(await m('discovery_source_updates_total', 'static(api)')).toBe(1);

    clock.advance(2_000);
    primary.publish({ kind: 'failed', error: new Error('connect ECONNREFUSED 127.0.0.1:2379') });
    clock.advance(500);
    expect(await answeredBy(api)).toBe('fallback');
    expect(await m('discovery_serving', 'etcd:/services/api')).toBe(0);
    expect(await m('discovery_serving', 'static(api)')).toBe(1);
    expect(await m('discovery_serving_seconds', 'static(api)')).toBe(0.5);
    expect(await m('discovery_serving_seconds', 'etcd:/services/api')).toBe(0);
    expect(await m('discovery_source_errors_total', 'etcd:/services/api')).toBe(1);
    expect(await m('discovery_source_errors_total', 'static(api)')).toBe(0);
    // The primary last confirmed its set at 1 000 ms; it is read at 3 500 ms.
    expect(await m('discovery_source_stale_seconds', 'etcd:/services/api')).toBe(2.5);
    expect(await m('discovery_source_stale_seconds', 'static(api)')).toBe(0);
    // The client's own set is the fallback's, fresh.
    expect(await metric(registry, 'weft_discovery_stale', { client: 'api' })).toBe(0);

    const [state] = adminState([api], clock).clients;
    expect(state?.discovery.sources).toEqual([
      {
        description: 'etcd:/services/api',
        kind: 'failed',
        serving: false,
        servingForMs: null,
        stale: true,
        staleForMs: 2_500,
        updates: 2,
        errors: 1,
        lastError: 'connect ECONNREFUSED 127.0.0.1:2379',
        updatedAgoMs: 500,
      },
      {
        description: 'static(api)',
        kind: 'bound',
        serving: true,
        servingForMs: 500,
        stale: false,
        staleForMs: null,
        updates: 1,
        errors: 0,
        lastError: null,
        updatedAgoMs: 2_500,
      },
    ]);

    clock.advance(1_000);
    primary.publish({ kind: 'bound', endpoints: [createEndpoint('127.0.0.1', primaryBackend.port)] });
    expect(await answeredBy(api)).toBe('primary');
    expect(await m('discovery_serving', 'etcd:/services/api')).toBe(1);
    expect(await m('discovery_serving', 'static(api)')).toBe(0);
    expect(await m('discovery_source_stale_seconds', 'etcd:/services/api')).toBe(0);
    const text = await registry.metrics();
    expect(text).toContain('weft_discovery_serving{client="api",source="etcd:/services/api"} 1');
    expect(text).toContain('# TYPE weft_discovery_source_updates_total counter');
    expect(text).toContain('# TYPE weft_discovery_serving_seconds gauge');
  });

  it('shows a lone resolver as one source, always serving, counted by the client', async () => {
    const b = await backends.start(replyAfter(0));
    const clock = new VirtualClock();
    const registry = new Registry();
    const resolver = staticResolver([b.address], { description: 'static(users)' });
    const users = client({ name: 'users', clock, resolver, telemetry: prometheusMetrics({ registry }) });
    await answeredBy(users);
    resolver.update([b.address]);
    clock.advance(4_000);
    const labels = { client: 'users', source: 'static(users)' };
    expect(await metric(registry, 'weft_discovery_serving', labels)).toBe(1);
    expect(await metric(registry, 'weft_discovery_serving_seconds', labels)).toBe(4);
    expect(await metric(registry, 'weft_discovery_source_updates_total', labels)).toBe(2);
    expect(await metric(registry, 'weft_discovery_source_errors_total', labels)).toBe(0);
    const [state] = adminState([users], clock).clients;
    expect(state?.discovery.sources).toMatchObject([
      { description: 'static(users)', serving: true, servingForMs: 4_000, kind: 'bound', updates: 2 },
    ]);
  });
});
