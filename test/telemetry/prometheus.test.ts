/**
 * Prometheus metrics: a private registry (never the global one), no clash between two clients
 * or two plugins on one registry, per-endpoint labels that can be switched off and that go away
 * with the endpoint, and the event counters (ejections, breaker transitions, throttling).
 */
import { type OpenMetricsContentType, Registry, register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ConfigError, roundRobin, staticResolver } from '../../src/index.js';
import { prometheusMetrics } from '../../src/prometheus.js';
import { failingWhile, refusedPort } from '../support/chaos-servers.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';

const { backends, client } = loopbackFixtures();

async function samples(registry: Registry, name: string) {
  return (await registry.getSingleMetric(name)?.get())?.values ?? [];
}

async function call(c: ReturnType<typeof client>, n = 1) {
  for (let i = 0; i < n; i++) await (await c.request({ path: '/' })).body.text();
}

describe('prometheusMetrics', () => {
  it('needs a registry and never touches the global one', async () => {
    expect(() => prometheusMetrics({} as never)).toThrow(ConfigError);
    expect(() => prometheusMetrics({ registry: new Registry(), prefix: 'bad prefix' })).toThrow(ConfigError);
    const b = await backends.start(replyAfter(0));
    const registry = new Registry();
    await call(client({ endpoints: [b.address], telemetry: prometheusMetrics({ registry }) }));
    expect(register.getSingleMetric('weft_requests_total')).toBeUndefined();
    expect(registry.getSingleMetric('weft_requests_total')).toBeDefined();
  });

  it('lets two clients, and two plugins, share one registry without clashing', async () => {
    const b = await backends.start(replyAfter(0));
    const registry = new Registry();
    const one = client({ name: 'one', endpoints: [b.address], telemetry: prometheusMetrics({ registry }) });
    const two = client({ name: 'two', endpoints: [b.address], telemetry: prometheusMetrics({ registry }) });
    await call(one, 2);
    await call(two, 3);
    const requests = await samples(registry, 'weft_requests_total');
    expect(requests.find((v) => v.labels.client === 'one')?.value).toBe(2);
    expect(requests.find((v) => v.labels.client === 'two')?.value).toBe(3);
    const text = await registry.metrics();
    expect(text).toContain('weft_retry_budget_balance{client="one"}');
    expect(text).toContain('weft_retry_budget_balance{client="two"}');
  });

  it('registers again on a registry that was cleared, and keeps the clients attached before', async () => {
    const b = await backends.start(replyAfter(0));
    const registry = new Registry();
    const one = client({ name: 'one', endpoints: [b.address], telemetry: prometheusMetrics({ registry }) });
    await call(one);
    registry.clear();
    expect(registry.getSingleMetric('weft_requests_total')).toBeUndefined();
    const two = client({ name: 'two', endpoints: [b.address], telemetry: prometheusMetrics({ registry }) });
    await call(two, 2);
    const requests = await samples(registry, 'weft_requests_total');
    expect(requests.find((v) => v.labels.client === 'one')?.value).toBe(1);
    expect(requests.find((v) => v.labels.client === 'two')?.value).toBe(2);
  });

  it('takes an OpenMetrics registry as well (the option accepts either content type)', async () => {
    const b = await backends.start(replyAfter(0));
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    await call(client({ name: 'om', endpoints: [b.address], telemetry: prometheusMetrics({ registry }) }));
    const text = await registry.metrics();
    expect(text).toContain('weft_requests_total{client="om",class="success"} 1');
    expect(text.endsWith('# EOF\n')).toBe(true);
  });

  it('can leave endpoint labels out', async () => {
    const b = await backends.start(replyAfter(0));
    const registry = new Registry();
    await call(
      client({ endpoints: [b.address], telemetry: prometheusMetrics({ registry, perEndpoint: false }) }),
    );
    const attempts = await samples(registry, 'weft_attempts_total');
    expect(attempts.map((v) => Object.keys(v.labels).sort())).toEqual([['class', 'client']]);
    expect(await samples(registry, 'weft_endpoint_cost')).toEqual([]);
  });

  it('removes the series of an endpoint that leaves discovery', async () => {
    const a = await backends.start(replyAfter(0));
    const b = await backends.start(replyAfter(0));
    const registry = new Registry();
    const resolver = staticResolver([a.address, b.address]);
    const c = client({ resolver, balancer: roundRobin(), telemetry: prometheusMetrics({ registry }) });
    await call(c, 4);
    const endpoints = async () =>
      new Set((await samples(registry, 'weft_attempts_total')).map((v) => v.labels.endpoint));
    expect(await endpoints()).toEqual(new Set([a.address, b.address]));
    resolver.update([b.address]);
    expect(await endpoints()).toEqual(new Set([b.address]));
    expect((await samples(registry, 'weft_endpoint_cost')).map((v) => v.labels.endpoint)).toEqual([
      b.address,
    ]);
    expect(await samples(registry, 'weft_discovery_updates_total')).toContainEqual(
      expect.objectContaining({ labels: { client: c.name, kind: 'bound' } }),
    );
  });

  it('counts ejections and breaker transitions', async () => {
    const broken = await backends.start(failingWhile(() => true));
    const healthy = await backends.start(replyAfter(0));
    const registry = new Registry();
    const c = client({
      endpoints: [broken.address, healthy.address],
      failureAccrual: { minEjectionMs: 60_000 },
      circuitBreaker: { halfOpenAfterMs: 60_000 },
      telemetry: prometheusMetrics({ registry }),
    });
    await call(c, 30);
    const ejections = await samples(registry, 'weft_ejections_total');
    expect(ejections[0]?.value).toBe(1);
    const ejected = await samples(registry, 'weft_endpoint_ejected');
    expect(ejected.find((v) => v.labels.endpoint === broken.address)?.value).toBe(1);
    expect(await samples(registry, 'weft_breaker_state')).toEqual([expect.objectContaining({ value: 0 })]);
  });

  it('counts calls rejected by adaptive throttling', async () => {
    const broken = await backends.start(failingWhile(() => true));
    const registry = new Registry();
    const c = client({
      endpoints: [broken.address],
      retry: false,
      failureAccrual: false,
      adaptiveThrottle: { random: () => 0 },
      telemetry: prometheusMetrics({ registry }),
    });
    let throttled = 0;
    for (let i = 0; i < 20; i++) {
      try {
        await call(c);
      } catch {
        throttled++;
      }
    }
    expect(throttled).toBeGreaterThan(0);
    expect((await samples(registry, 'weft_throttled_total'))[0]?.value).toBe(throttled);
  });

  it('labels a call with the class the circuit breaker gives it (src/core/call-outcome.ts)', async () => {
    const slow = await backends.start(replyAfter(300));
    const port = await refusedPort();
    const registry = new Registry();
    const classes = async () =>
      Object.fromEntries(
        (await samples(registry, 'weft_requests_total')).map((v) => [v.labels.class, v.value]),
      );
    const aborted = client({
      name: 'aborted',
      endpoints: [slow.address],
      telemetry: prometheusMetrics({ registry }),
    });
    // The caller gave up through fetch(): nothing learned about the destination.
    await expect(aborted.fetch('/', { signal: AbortSignal.timeout(20) })).rejects.toThrow();
    expect(await classes()).toEqual({ ignorable: 1 });
    await aborted.close();
    const refused = client({
      name: 'refused',
      endpoints: [`127.0.0.1:${port}`],
      failureAccrual: false,
      retry: { budget: { minRetriesPerSecond: 0, percentCanRetry: 0 } },
      telemetry: prometheusMetrics({ registry }),
    });
    // A refused retry is judged by what its last attempt met: a refused connection, retryable.
    await expect(refused.request({ path: '/' })).rejects.toMatchObject({
      code: 'WEFT_RETRY_BUDGET_EXHAUSTED',
    });
    expect(
      (await samples(registry, 'weft_requests_total')).find((v) => v.labels.client === 'refused')?.labels
        .class,
    ).toBe('retryable');
  });
});
