/**
 * One call, retried once (a 503 from the first endpoint, a 200 from the second): the exact spans
 * (the call's, and one per attempt, with the HTTP semantic-convention attributes and weft's own)
 * and the exact metric values it leaves, with the OTel SDK's in-memory exporter and a private
 * prom-client Registry.
 */
import { SpanKind } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { roundRobin } from '../../src/index.js';
import { openTelemetryTracing } from '../../src/opentelemetry.js';
import { prometheusMetrics } from '../../src/prometheus.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { inMemoryTracing } from '../support/otel.js';

const { backends, client } = loopbackFixtures();
const { exporter, provider } = inMemoryTracing();

/** A sample's value (histograms: name the `_count`/`_sum` series), or undefined when absent. */
async function value(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const base = name.replace(/_(count|sum)$/, '');
  const metric = await registry.getSingleMetric(base)?.get();
  return metric?.values.find(
    (v) =>
      ((v as { metricName?: string }).metricName ?? base) === name &&
      Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  )?.value;
}

describe('telemetry of a call retried once', () => {
  it('leaves exactly these spans and metric values', async () => {
    const unavailable = await backends.start((_req, res) => {
      res.statusCode = 503;
      res.end('busy');
    });
    const healthy = await backends.start((_req, res) => res.end('ok'));
    const registry = new Registry();
    const c = client({
      name: 'orders',
      endpoints: [unavailable.address, healthy.address],
      balancer: roundRobin(),
      failureAccrual: false,
      telemetry: [prometheusMetrics({ registry }), openTelemetryTracing({ tracerProvider: provider })],
    });

    const res = await c.request({ path: '/orders/7' });
    expect(await res.body.text()).toBe('ok');

    // Spans: the call (INTERNAL) and its two attempts (CLIENT), in the order they ended.
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.kind])).toEqual([
      ['GET', SpanKind.CLIENT],
      ['GET', SpanKind.CLIENT],
      ['GET', SpanKind.INTERNAL],
    ]);
    const [first, second, call] = spans as [(typeof spans)[0], (typeof spans)[0], (typeof spans)[0]];
    expect(call.attributes).toEqual({
      'http.request.method': 'GET',
      'weft.client': 'orders',
      'weft.deadline.budget_ms': 15_000,
      'http.response.status_code': 200,
      'weft.attempts': 2,
    });
    const callId = call.spanContext().spanId;
    for (const attempt of [first, second]) {
      expect(attempt.parentSpanContext?.spanId).toBe(callId);
      expect(attempt.spanContext().traceId).toBe(call.spanContext().traceId);
    }
    const numbers = (a: Record<string, unknown>) => ({
      ...a,
      'weft.ewma_cost': typeof a['weft.ewma_cost'],
      'weft.deadline.remaining_ms': typeof a['weft.deadline.remaining_ms'],
    });
    expect(numbers(first.attributes)).toEqual({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': unavailable.port,
      'url.full': `http://${unavailable.address}/orders/7`,
      'weft.client': 'orders',
      'weft.endpoint': unavailable.address,
      'weft.ewma_cost': 'number',
      'weft.attempt': 1,
      'weft.attempt.reason': 'initial',
      'weft.deadline.remaining_ms': 'number',
      'http.response.status_code': 503,
      'error.type': '503',
      'weft.classification': 'retryable',
    });
    expect(numbers(second.attributes)).toEqual({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': healthy.port,
      'url.full': `http://${healthy.address}/orders/7`,
      'http.request.resend_count': 1,
      'weft.client': 'orders',
      'weft.endpoint': healthy.address,
      'weft.ewma_cost': 'number',
      'weft.attempt': 2,
      'weft.attempt.reason': 'retry',
      'weft.deadline.remaining_ms': 'number',
      'http.response.status_code': 200,
      'weft.classification': 'success',
    });
    expect(second.attributes['weft.deadline.remaining_ms']).toBeLessThanOrEqual(15_000);

    // The trace context went out on each attempt: the servers saw each attempt's own span id.
    const traceparent = (headers: Record<string, unknown>) => String(headers.traceparent).split('-');
    expect(traceparent(unavailable.seen[0]!.headers)[2]).toBe(first.spanContext().spanId);
    expect(traceparent(healthy.seen[0]!.headers)[2]).toBe(second.spanContext().spanId);
    expect(healthy.seen[0]!.headers['weft-attempt']).toBe('2');

    // Metrics.
    const m = (name: string, labels: Record<string, string>) => value(registry, name, labels);
    expect(await m('weft_requests_total', { client: 'orders', class: 'success' })).toBe(1);
    expect(await m('weft_requests_total', { client: 'orders', class: 'failure' })).toBeUndefined(); // never counted
    expect(await m('weft_requests_in_flight', { client: 'orders' })).toBe(0);
    expect(await m('weft_request_duration_seconds_count', { client: 'orders', class: 'success' })).toBe(1);
    expect(
      await m('weft_attempts_total', { client: 'orders', endpoint: unavailable.address, class: 'retryable' }),
    ).toBe(1);
    expect(
      await m('weft_attempts_total', { client: 'orders', endpoint: healthy.address, class: 'success' }),
    ).toBe(1);
    expect(
      await m('weft_attempt_duration_seconds_count', { client: 'orders', endpoint: healthy.address }),
    ).toBe(1);
    expect(await m('weft_retries_total', { client: 'orders', kind: 'retry' })).toBe(1);
    expect(await m('weft_retries_total', { client: 'orders', kind: 'requeue' })).toBeUndefined();
    expect(await m('weft_retry_budget_balance', { client: 'orders' })).toBeCloseTo(100 + 0.2 - 1, 9);
    expect(await m('weft_balancer_endpoints', { client: 'orders', status: 'open' })).toBe(2);
    expect(await m('weft_discovery_stale', { client: 'orders' })).toBe(0);
  });
});
