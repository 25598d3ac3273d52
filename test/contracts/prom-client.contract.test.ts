/**
 * Contract tests: what weft's Prometheus metrics use of prom-client beyond its typed API,
 * asserted against the prom-client installed here. weft does not use prom-client's metric classes:
 * it registers objects of its own that have prom-client's metric shape (read at scrape time, no
 * label children on the hot path), with `as never` to get past the types, and it keeps a side
 * table on the Registry object itself. None of that is checked by the type checker, so a
 * prom-client release that changed how a Registry reads its metrics would lose users their metrics
 * with no compile error; these tests make it fail here first. The metric objects used below are
 * the ones weft registers, through the public `weft/prometheus` entry.
 *
 * Written against prom-client 15.1.3, the development pin; they also pass on 15.1.0, the lowest
 * version in weft's peer range (`^15.1.0`). When a test here fails after an upgrade, the upgrade
 * changed something weft relies on: adapt the weft file named in the test, then this test, in the
 * same change.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type RegistryContentType,
} from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpClient, type HttpClient } from '../../src/index.js';
import { prometheusMetrics } from '../../src/prometheus.js';
import { Backends, replyAfter } from '../support/http-servers.js';

const require = createRequire(import.meta.url);
const PROM_CLIENT_VERSION = (require('prom-client/package.json') as { version: string }).version;

/** The weft files that rely on what this file pins. */
const RELIES_ON_PROM_CLIENT = {
  prometheus: 'src/telemetry/prometheus.ts',
} as const;

const backends = new Backends();
const clients: HttpClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await backends.closeAll();
});

/** A registry with weft's metrics for one client named `name`, which has made `calls` calls. */
async function weftRegistry(name = 'api', calls = 1): Promise<Registry> {
  const registry = new Registry();
  const backend = await backends.start(replyAfter(0));
  const client = createHttpClient({
    name,
    endpoints: [backend.address],
    telemetry: prometheusMetrics({ registry }),
  });
  clients.push(client);
  for (let i = 0; i < calls; i++) await (await client.request({ path: '/' })).body.text();
  return registry;
}

/** What weft's metric object is, as prom-client sees it. */
interface WeftMetricShape {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  get(): {
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
  };
  reset(): void;
}

function weftMetric(registry: Registry, name: string): WeftMetricShape {
  const metric = registry.getSingleMetric(name);
  expect(metric, name).toBeDefined();
  return metric as unknown as WeftMetricShape;
}

describe(`prom-client ${PROM_CLIENT_VERSION}: contract tests (${RELIES_ON_PROM_CLIENT.prometheus})`, () => {
  it.each(Object.values(RELIES_ON_PROM_CLIENT))('names %s, a weft file that exists', (file) => {
    // A weft file renamed or moved: update its name in RELIES_ON_PROM_CLIENT.
    expect(existsSync(new URL(`../../${file}`, import.meta.url))).toBe(true);
  });

  it('has registerMetric on every Registry (how weft recognises the `registry` option)', () => {
    expect(new Registry().registerMetric).toBeTypeOf('function');
  });

  it("registers weft's own objects, not prom-client metrics, and hands the same object back", async () => {
    const registry = await weftRegistry();
    const metric = registry.getSingleMetric('weft_requests_total');
    for (const cls of [Counter, Gauge, Histogram]) expect(metric).not.toBeInstanceOf(cls);
    // getSingleMetric returns the registered object itself: weft can tell its own from another's.
    expect(registry.getMetricsAsArray()).toContain(metric);
  });

  it("calls weft's get() at every scrape, so values are read then, not at registration", async () => {
    const registry = await weftRegistry('api', 1);
    const metric = weftMetric(registry, 'weft_requests_total');
    expect(metric.get().aggregator).toBe('sum');
    expect(await registry.metrics()).toContain('weft_requests_total{client="api",class="success"} 1');
    const [client] = clients;
    await (await client!.request({ path: '/' })).body.text();
    expect(await registry.metrics()).toContain('weft_requests_total{client="api",class="success"} 2');
  });

  it('renders the text format from HELP, TYPE and the samples, taking metricName and le as given', async () => {
    const registry = await weftRegistry();
    const text = await registry.metrics();
    expect(text).toContain('# HELP weft_requests_total Logical calls, after retries, by how they ended');
    expect(text).toContain('# TYPE weft_requests_total counter');
    expect(text).toContain('# TYPE weft_request_duration_seconds histogram');
    // A histogram's samples are weft's own: _bucket with le (a number, or '+Inf'), _sum, _count.
    expect(text).toMatch(
      /^weft_request_duration_seconds_bucket\{client="api",class="success",le="0\.001"\} \d+$/m,
    );
    expect(text).toContain('weft_request_duration_seconds_bucket{client="api",class="success",le="+Inf"} 1');
    expect(text).toMatch(/^weft_request_duration_seconds_sum\{client="api",class="success"\} [\d.e-]+$/m);
    expect(text).toContain('weft_request_duration_seconds_count{client="api",class="success"} 1');
    // A metric with no samples yet is HELP and TYPE alone.
    expect(text).toMatch(/# TYPE weft_retries_total counter\n(\n|$)/);
  });

  it('renders OpenMetrics, where prom-client renames counters: the name of a metric must be writable', async () => {
    const registry = await weftRegistry();
    const metric = weftMetric(registry, 'weft_requests_total');
    expect(Object.getOwnPropertyDescriptor(metric, 'name')?.writable).toBe(true);
    // weft's option is typed as a Prometheus-format Registry; the same object switches format.
    (registry as Registry<RegistryContentType>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const text = await registry.metrics();
    expect(metric.name).toBe('weft_requests'); // prom-client's own doing (standardizeCounterName)
    expect(text).toContain('# TYPE weft_requests counter');
    expect(text).toContain('weft_requests_total{client="api",class="success"} 1');
    expect(text.endsWith('# EOF\n')).toBe(true);
  });

  it("gives weft's get() results as they are from getMetricsAsJSON, which AggregatorRegistry sums (cluster mode)", async () => {
    const one = await weftRegistry('api', 1);
    const two = await weftRegistry('api', 2);
    const fromOne = await one.getMetricsAsJSON();
    const requests = fromOne.find((m) => m.name === 'weft_requests_total') as unknown as ReturnType<
      WeftMetricShape['get']
    >;
    expect(requests).toMatchObject({ type: 'counter', aggregator: 'sum' });
    expect(requests.values).toEqual([{ labels: { client: 'api', class: 'success' }, value: 1 }]);
    // The cluster master aggregates what each worker's getMetricsAsJSON gave, by each metric's `aggregator`.
    const aggregated = AggregatorRegistry.aggregate([fromOne, await two.getMetricsAsJSON()]);
    const text = await aggregated.metrics();
    expect(text).toContain('weft_requests_total{client="api",class="success"} 3');
    expect(text).toContain('weft_request_duration_seconds_count{client="api",class="success"} 3');
  });

  it("calls each metric's reset() from resetMetrics(), and weft's is there to be called", async () => {
    const registry = await weftRegistry();
    expect(weftMetric(registry, 'weft_requests_total').reset).toBeTypeOf('function');
    expect(() => registry.resetMetrics()).not.toThrow();
  });

  it('leaves alone what weft keeps on the Registry object under a symbol, through scrapes and resets', async () => {
    // weft keeps its metrics per registry and prefix on the registry itself, so every client (and
    // every copy of weft) on one registry shares them instead of registering a name twice.
    expect(Object.isExtensible(new Registry())).toBe(true);
    const registry = await weftRegistry();
    const symbols = Object.getOwnPropertySymbols(registry);
    expect(symbols.length).toBeGreaterThan(0);
    const kept = symbols.map((s) => (registry as unknown as Record<symbol, unknown>)[s]);
    const text = await registry.metrics();
    await registry.getMetricsAsJSON();
    registry.resetMetrics();
    expect(Object.getOwnPropertySymbols(registry)).toEqual(symbols);
    expect(symbols.map((s) => (registry as unknown as Record<symbol, unknown>)[s])).toEqual(kept);
    // Nothing of the side table shows in the output: every sample line is a weft metric.
    for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
      expect(line).toMatch(/^weft_/);
    }
  });
});
