/**
 * Prometheus metrics of the server half, driven through the documented contract between the
 * adapters and telemetry: a plain object implementing ObservedServer (its gauges changed between
 * scrapes) and the ServerObserver hooks `prometheusServerMetrics` returns, called as an adapter
 * would. Checks the exact series (requests by route and status class, the duration histogram on
 * OTel's buckets, in-flight, limit, draining, rejections by reason, incoming deadlines), sharing
 * a registry with client metrics and other servers, re-registration after `registry.clear()`, a
 * closed server's series going away, and the options' ConfigErrors. A plain object is an
 * ObservedServer (the contract in src/core/server-observer.ts).
 */
import { Registry } from 'prom-client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as contract from '../../src/core/server-observer.js';
import { ConfigError } from '../../src/index.js';
import { prometheusMetrics, prometheusServerMetrics, SERVER_DURATION_BUCKETS } from '../../src/prometheus.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';

const { backends, client } = loopbackFixtures();

/** A server as an adapter exposes it: plain fields the test changes between scrapes. */
interface FakeServer {
  name: string;
  inflight: number;
  limit: number | undefined;
  algorithm: string | undefined;
  draining: boolean;
}

function fakeServer(name: string, overrides: Partial<FakeServer> = {}): FakeServer {
  return { name, inflight: 0, limit: 20, algorithm: 'gradient2', draining: false, ...overrides };
}

/** Every sample of `name` (a histogram's `_bucket` series included) as `series{k="v",...} value`, sorted. */
async function series(registry: Registry, name: string): Promise<string[]> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values
    .map((v) => {
      const labels = Object.entries(v.labels)
        .map(([k, value]) => `${k}="${value}"`)
        .join(',');
      return `${(v as { metricName?: string }).metricName ?? name}{${labels}} ${v.value}`;
    })
    .sort();
}

describe('the contract between the adapters and telemetry', () => {
  it('is met by a plain object', () => {
    expectTypeOf<FakeServer>().toExtend<contract.ObservedServer>();
  });
});

describe('prometheusServerMetrics', () => {
  it('counts finished requests by route and status class, with their latency on OTel buckets', async () => {
    const registry = new Registry();
    const hooks = prometheusServerMetrics({ registry }).attach(fakeServer('api'));
    hooks.requestFinished?.('/users/:id', 200, 3);
    hooks.requestFinished?.('/users/:id', 204, 75); // on a bound: counted in that bucket
    hooks.requestFinished?.('/users/:id', 404, 12);
    hooks.requestFinished?.('/users/:id', 503, 2_000);
    hooks.requestFinished?.('/orders', 500, 30_000); // past the last bound: +Inf only
    hooks.requestFinished?.('/orders', 0, 40); // the connection closed first
    hooks.requestFinished?.('/orders', 302, 1);

    expect(await series(registry, 'weft_server_requests_total')).toEqual([
      'weft_server_requests_total{server="api",route="/orders",class="3xx"} 1',
      'weft_server_requests_total{server="api",route="/orders",class="5xx"} 1',
      'weft_server_requests_total{server="api",route="/orders",class="closed"} 1',
      'weft_server_requests_total{server="api",route="/users/:id",class="2xx"} 2',
      'weft_server_requests_total{server="api",route="/users/:id",class="4xx"} 1',
      'weft_server_requests_total{server="api",route="/users/:id",class="5xx"} 1',
    ]);

    const users = (await series(registry, 'weft_server_request_duration_seconds')).filter((s) =>
      s.includes('route="/users/:id"'),
    );
    const bucket = (le: number | string, n: number) =>
      `weft_server_request_duration_seconds_bucket{server="api",route="/users/:id",le="${le}"} ${n}`;
    const cumulative: Record<string, number> = {
      0.005: 1,
      0.01: 1,
      0.025: 2,
      0.05: 2,
      0.075: 3,
      0.1: 3,
      0.25: 3,
      0.5: 3,
      0.75: 3,
      1: 3,
      2.5: 4,
      5: 4,
      7.5: 4,
      10: 4,
    };
    expect(users).toEqual(
      [
        ...SERVER_DURATION_BUCKETS.map((le) => bucket(le, cumulative[String(le)]!)),
        bucket('+Inf', 4),
        'weft_server_request_duration_seconds_count{server="api",route="/users/:id"} 4',
        'weft_server_request_duration_seconds_sum{server="api",route="/users/:id"} 2.09',
      ].sort(),
    );
    const orders = await series(registry, 'weft_server_request_duration_seconds');
    expect(orders).toContain(
      'weft_server_request_duration_seconds_bucket{server="api",route="/orders",le="10"} 2',
    );
    expect(orders).toContain(
      'weft_server_request_duration_seconds_bucket{server="api",route="/orders",le="+Inf"} 3',
    );
  });

  it('uses OTel’s advised server buckets by default', () => {
    expect(SERVER_DURATION_BUCKETS).toEqual([
      0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
    ]);
  });

  it('reads in-flight, the limit and draining from the server at scrape time', async () => {
    const registry = new Registry();
    const server = fakeServer('api', { inflight: 3, limit: 20 });
    prometheusServerMetrics({ registry }).attach(server);
    expect(await series(registry, 'weft_server_in_flight')).toEqual([
      'weft_server_in_flight{server="api"} 3',
    ]);
    expect(await series(registry, 'weft_server_concurrency_limit')).toEqual([
      'weft_server_concurrency_limit{server="api"} 20',
    ]);
    expect(await series(registry, 'weft_server_draining')).toEqual(['weft_server_draining{server="api"} 0']);

    server.inflight = 17;
    server.limit = 24;
    server.draining = true;
    expect(await series(registry, 'weft_server_in_flight')).toEqual([
      'weft_server_in_flight{server="api"} 17',
    ]);
    expect(await series(registry, 'weft_server_concurrency_limit')).toEqual([
      'weft_server_concurrency_limit{server="api"} 24',
    ]);
    expect(await series(registry, 'weft_server_draining')).toEqual(['weft_server_draining{server="api"} 1']);

    // No limiter: no limit series, the other gauges stay.
    server.limit = undefined;
    server.algorithm = undefined;
    expect(await series(registry, 'weft_server_concurrency_limit')).toEqual([]);
    expect(await series(registry, 'weft_server_in_flight')).toHaveLength(1);
  });

  it('counts rejections by reason, and only the reasons of the contract', async () => {
    const registry = new Registry();
    const hooks = prometheusServerMetrics({ registry }).attach(fakeServer('api'));
    expect(await series(registry, 'weft_server_rejected_total')).toEqual([]);
    hooks.requestRejected?.('/users/:id', 'overload');
    hooks.requestRejected?.('/orders', 'overload');
    hooks.requestRejected?.('/orders', 'expired');
    hooks.requestRejected?.('/orders', 'draining');
    hooks.requestRejected?.('/orders', 'draining');
    hooks.requestRejected?.('/orders', 'bored' as never);
    expect(await series(registry, 'weft_server_rejected_total')).toEqual([
      'weft_server_rejected_total{server="api",reason="draining"} 2',
      'weft_server_rejected_total{server="api",reason="expired"} 1',
      'weft_server_rejected_total{server="api",reason="overload"} 2',
    ]);
    // A rejection is not a finished request.
    expect(await series(registry, 'weft_server_requests_total')).toEqual([]);
  });

  it('keeps a histogram of incoming deadlines, a passed one counted as 0 s left', async () => {
    const registry = new Registry();
    const hooks = prometheusServerMetrics({ registry }).attach(fakeServer('api'));
    expect(await series(registry, 'weft_server_deadline_remaining_seconds')).toEqual([]);
    hooks.deadlineReceived?.(800);
    hooks.deadlineReceived?.(60_000);
    hooks.deadlineReceived?.(-5);
    const deadlines = await series(registry, 'weft_server_deadline_remaining_seconds');
    const line = (suffix: string) =>
      deadlines.find((s) => s.startsWith(`weft_server_deadline_remaining_seconds_${suffix}`));
    expect(line('count')).toBe('weft_server_deadline_remaining_seconds_count{server="api"} 3');
    expect(line('sum')).toBe('weft_server_deadline_remaining_seconds_sum{server="api"} 60.8');
    expect(deadlines).toContain('weft_server_deadline_remaining_seconds_bucket{server="api",le="0.005"} 1');
    expect(deadlines).toContain('weft_server_deadline_remaining_seconds_bucket{server="api",le="0.75"} 1');
    expect(deadlines).toContain('weft_server_deadline_remaining_seconds_bucket{server="api",le="1"} 2');
    expect(deadlines).toContain('weft_server_deadline_remaining_seconds_bucket{server="api",le="10"} 2');
    expect(deadlines).toContain('weft_server_deadline_remaining_seconds_bucket{server="api",le="+Inf"} 3');
  });

  it('shares a registry with client metrics and other servers, and drops a closed server', async () => {
    const b = await backends.start(replyAfter(0));
    const registry = new Registry();
    const c = client({ name: 'users', endpoints: [b.address], telemetry: prometheusMetrics({ registry }) });
    await (await c.request({ path: '/' })).body.text();
    const api = prometheusServerMetrics({ registry }).attach(fakeServer('api', { inflight: 1 }));
    const admin = prometheusServerMetrics({ registry }).attach(fakeServer('admin', { limit: undefined }));
    api.requestFinished?.('/', 200, 1);
    admin.requestFinished?.('/', 200, 1);
    admin.requestFinished?.('/', 200, 1);

    expect(await series(registry, 'weft_server_requests_total')).toEqual([
      'weft_server_requests_total{server="admin",route="/",class="2xx"} 2',
      'weft_server_requests_total{server="api",route="/",class="2xx"} 1',
    ]);
    expect(await series(registry, 'weft_requests_total')).toEqual([
      'weft_requests_total{client="users",class="success"} 1',
    ]);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE weft_server_request_duration_seconds histogram');
    expect(text).toContain('weft_server_in_flight{server="api"} 1');
    expect(text).toContain('weft_server_in_flight{server="admin"} 0');

    admin.close?.();
    expect(await series(registry, 'weft_server_in_flight')).toEqual([
      'weft_server_in_flight{server="api"} 1',
    ]);
    expect(await series(registry, 'weft_server_requests_total')).toEqual([
      'weft_server_requests_total{server="api",route="/",class="2xx"} 1',
    ]);
    expect(await series(registry, 'weft_requests_total')).toHaveLength(1);
  });

  it('registers again on a registry that was cleared, keeping the servers attached before', async () => {
    const registry = new Registry();
    const one = prometheusServerMetrics({ registry }).attach(fakeServer('one'));
    one.requestFinished?.('/', 200, 1);
    registry.clear();
    expect(registry.getSingleMetric('weft_server_requests_total')).toBeUndefined();
    const two = prometheusServerMetrics({ registry }).attach(fakeServer('two'));
    two.requestFinished?.('/', 500, 1);
    expect(await series(registry, 'weft_server_requests_total')).toEqual([
      'weft_server_requests_total{server="one",route="/",class="2xx"} 1',
      'weft_server_requests_total{server="two",route="/",class="5xx"} 1',
    ]);
  });

  it('takes a prefix and buckets', async () => {
    const registry = new Registry();
    const hooks = prometheusServerMetrics({ registry, prefix: 'edge_', buckets: [0.1, 1] }).attach(
      fakeServer('api'),
    );
    hooks.requestFinished?.('/', 200, 500);
    expect(registry.getSingleMetric('weft_server_requests_total')).toBeUndefined();
    expect(await series(registry, 'edge_server_request_duration_seconds')).toEqual([
      'edge_server_request_duration_seconds_bucket{server="api",route="/",le="+Inf"} 1',
      'edge_server_request_duration_seconds_bucket{server="api",route="/",le="0.1"} 0',
      'edge_server_request_duration_seconds_bucket{server="api",route="/",le="1"} 1',
      'edge_server_request_duration_seconds_count{server="api",route="/"} 1',
      'edge_server_request_duration_seconds_sum{server="api",route="/"} 0.5',
    ]);
  });

  it('names a bad option in a ConfigError', () => {
    const registry = new Registry();
    const fails = (options: unknown, option: string) => {
      let error: unknown;
      try {
        prometheusServerMetrics(options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
    };
    fails(undefined, 'metrics.registry');
    fails({}, 'metrics.registry');
    fails({ registry: {} }, 'metrics.registry');
    fails({ registry, prefix: 'bad prefix' }, 'metrics.prefix');
    fails({ registry, buckets: [1, 0.5] }, 'metrics.buckets');
    fails({ registry, buckets: [] }, 'metrics.buckets');
    fails({ registry, perEndpoint: false }, 'metrics.perEndpoint');
  });
});
