/**
 * Telemetry of gRPC clients against real grpc-js servers on loopback, with the OTel SDK's
 * in-memory exporter and private prom-client Registries: the RPC-convention spans of a unary
 * call and of a call retried once (one attempt span each, the trace context in each attempt's
 * metadata), a server stream whose spans and metrics wait for its final status, the labels that
 * tell a gRPC client's series from an HTTP client's on one registry, and gRPC clients on the
 * admin page (its JSON, and the page drawn by headless Chromium, /usr/bin/chromium, as in
 * ./admin-browser.test.ts). Every server, client, admin server and browser is closed.
 */
import * as grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { chromium } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGrpcClient, type WeftGrpcChannel } from '../../src/grpc.js';
import { roundRobin } from '../../src/index.js';
import { openTelemetryTracing } from '../../src/opentelemetry.js';
import { prometheusMetrics } from '../../src/prometheus.js';
import { createAdminHandler, startAdminServer } from '../../src/telemetry/admin.js';
import { type AdminState, adminState } from '../../src/telemetry/admin-state.js';
import { loopbackFixtures } from '../support/fixtures.js';
import {
  EchoClient,
  type EchoReply,
  echoUnary,
  failWith,
  GrpcBackends,
  unary,
} from '../support/grpc-servers.js';
import { replyAfter } from '../support/http-servers.js';
import { inMemoryTracing } from '../support/otel.js';

const http = loopbackFixtures();
const { exporter, provider } = inMemoryTracing();
const backends = new GrpcBackends();
const channels: WeftGrpcChannel[] = [];
beforeEach(() => exporter.reset());
afterEach(async () => {
  await Promise.all(channels.splice(0).map((c) => c.close()));
  await backends.closeAll();
});

/** A generated client on a weft channel, closed after the test. */
function client(options: Parameters<typeof createGrpcClient>[1]): grpc.Client {
  const c = createGrpcClient(EchoClient, {
    retry: { backoffInitialMs: 1, backoffMaxMs: 2 },
    ...options,
  }) as grpc.Client;
  channels.push(c.getChannel() as unknown as WeftGrpcChannel);
  return c;
}

type Methods = Record<string, (...args: unknown[]) => unknown>;

/** The samples of metric `name` whose labels include `labels`. */
async function samples(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const base = name.replace(/_(count|sum)$/, '');
  const values = (await registry.getSingleMetric(base)?.get())?.values ?? [];
  return values.filter(
    (v) =>
      ((v as { metricName?: string }).metricName ?? base) === name &&
      Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
}

/** The one sample of `name` with exactly `labels`, or undefined. */
async function value(registry: Registry, name: string, labels: Record<string, string>) {
  const found = (await samples(registry, name, labels)).filter(
    (v) => Object.keys(v.labels).filter((k) => k !== 'le').length === Object.keys(labels).length,
  );
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

/** The span id the server saw as the parent in `traceparent`. */
function parentSeen(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get('traceparent')[0];
  return value === undefined ? undefined : String(value).split('-')[2];
}

/** Attributes with the numbers that vary from run to run replaced by their type. */
function steady(attributes: ReadableSpan['attributes']) {
  return {
    ...attributes,
    'weft.ewma_cost': typeof attributes['weft.ewma_cost'],
    'weft.deadline.remaining_ms': typeof attributes['weft.deadline.remaining_ms'],
  };
}

describe('traces of gRPC calls', () => {
  it('a unary call: a call span and an attempt span after the RPC conventions, the context in the metadata', async () => {
    const b = await backends.start('a');
    const c = client({
      name: 'echo',
      endpoints: [b.address],
      telemetry: openTelemetryTracing({ tracerProvider: provider }),
    });
    expect(await unary(c, 'unary', { message: 'hi' })).toEqual({ message: 'hi', server: 'a' });

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.kind])).toEqual([
      ['weft.test.Echo/Unary', SpanKind.CLIENT],
      ['weft.test.Echo/Unary', SpanKind.INTERNAL],
    ]);
    const [attempt, call] = spans as [ReadableSpan, ReadableSpan];
    expect(call.attributes).toEqual({
      'rpc.system': 'grpc',
      'rpc.service': 'weft.test.Echo',
      'rpc.method': 'Unary',
      'weft.client': 'echo',
      'weft.deadline.budget_ms': 15_000,
      'weft.attempts': 1,
      'rpc.grpc.status_code': 0,
    });
    expect(steady(attempt.attributes)).toEqual({
      'rpc.system': 'grpc',
      'rpc.service': 'weft.test.Echo',
      'rpc.method': 'Unary',
      'server.address': '127.0.0.1',
      'server.port': b.port,
      'weft.client': 'echo',
      'weft.endpoint': b.address,
      'weft.ewma_cost': 'number',
      'weft.attempt': 1,
      'weft.attempt.reason': 'initial',
      'weft.deadline.remaining_ms': 'number',
      'rpc.grpc.status_code': 0,
      'weft.classification': 'success',
    });
    expect(call.status.code).toBe(SpanStatusCode.UNSET);
    expect(attempt.status.code).toBe(SpanStatusCode.UNSET);
    expect(attempt.parentSpanContext?.spanId).toBe(call.spanContext().spanId);
    // The server saw the attempt's span as the parent, in the attempt's own trace.
    const traceparent = String(b.seen[0]!.metadata.get('traceparent')[0]).split('-');
    expect(traceparent[1]).toBe(attempt.spanContext().traceId);
    expect(traceparent[2]).toBe(attempt.spanContext().spanId);
  });

  it('a call retried once: two attempt spans under the call, each attempt carrying its own context', async () => {
    const unavailable = await backends.start('down', { idempotentUnary: failWith(grpc.status.UNAVAILABLE) });
    const healthy = await backends.start('up');
    const c = client({
      name: 'retried',
      endpoints: [unavailable.address, healthy.address],
      balancer: roundRobin(),
      failureAccrual: false,
      telemetry: openTelemetryTracing({ tracerProvider: provider }),
    });
    expect(await unary(c, 'idempotentUnary', { message: 'again' })).toEqual({
      message: 'again',
      server: 'up',
    });

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.kind])).toEqual([
      ['weft.test.Echo/IdempotentUnary', SpanKind.CLIENT],
      ['weft.test.Echo/IdempotentUnary', SpanKind.CLIENT],
      ['weft.test.Echo/IdempotentUnary', SpanKind.INTERNAL],
    ]);
    const [first, second, call] = spans as [ReadableSpan, ReadableSpan, ReadableSpan];
    const rpc = { 'rpc.system': 'grpc', 'rpc.service': 'weft.test.Echo', 'rpc.method': 'IdempotentUnary' };
    expect(steady(first.attributes)).toEqual({
      ...rpc,
      'server.address': '127.0.0.1',
      'server.port': unavailable.port,
      'weft.client': 'retried',
      'weft.endpoint': unavailable.address,
      'weft.ewma_cost': 'number',
      'weft.attempt': 1,
      'weft.attempt.reason': 'initial',
      'weft.deadline.remaining_ms': 'number',
      'rpc.grpc.status_code': grpc.status.UNAVAILABLE,
      'error.type': 'UNAVAILABLE',
      'weft.classification': 'retryable',
    });
    expect(first.status).toEqual({ code: SpanStatusCode.ERROR, message: 'failed with UNAVAILABLE' });
    expect(steady(second.attributes)).toEqual({
      ...rpc,
      'server.address': '127.0.0.1',
      'server.port': healthy.port,
      'weft.client': 'retried',
      'weft.endpoint': healthy.address,
      'weft.ewma_cost': 'number',
      'weft.attempt': 2,
      'weft.attempt.reason': 'retry',
      'weft.deadline.remaining_ms': 'number',
      'rpc.grpc.status_code': 0,
      'weft.classification': 'success',
    });
    expect(second.status.code).toBe(SpanStatusCode.UNSET);
    expect(call.attributes['weft.attempts']).toBe(2);
    expect(call.attributes['rpc.grpc.status_code']).toBe(0);
    expect(call.status.code).toBe(SpanStatusCode.UNSET);
    for (const attempt of [first, second]) {
      expect(attempt.parentSpanContext?.spanId).toBe(call.spanContext().spanId);
    }
    // Each attempt's metadata carried that attempt's span, not the other's.
    expect(parentSeen(unavailable.seen[0]!.metadata)).toBe(first.spanContext().spanId);
    expect(parentSeen(healthy.seen[0]!.metadata)).toBe(second.spanContext().spanId);
    expect(healthy.seen[0]!.metadata.get('grpc-previous-rpc-attempts')).toEqual(['1']);
  });

  it('a failed call: error.type is weft’s error, and a caller’s cancel carries its status', async () => {
    const silent = await backends.start('silent', {
      unary: () => {}, // never answers
    });
    const c = client({
      name: 'failing',
      endpoints: [silent.address],
      timeoutMs: 100,
      telemetry: openTelemetryTracing({ tracerProvider: provider }),
    });
    await expect(unary(c, 'unary', {})).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    const deadline = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.INTERNAL)!;
    expect(deadline.attributes['error.type']).toBe('WEFT_DEADLINE_EXCEEDED');
    // The status the caller got for weft's own error.
    expect(deadline.attributes['rpc.grpc.status_code']).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(deadline.status.code).toBe(SpanStatusCode.ERROR);
    exporter.reset();

    const cancelled = new Promise<grpc.ServiceError>((resolve) => {
      const call = (c as unknown as Methods).unary!({ message: '', count: 0 }, (error: grpc.ServiceError) =>
        resolve(error),
      ) as grpc.ClientUnaryCall;
      setImmediate(() => call.cancel());
    });
    expect((await cancelled).code).toBe(grpc.status.CANCELLED);
    const call = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.INTERNAL)!;
    expect(call.attributes['rpc.grpc.status_code']).toBe(grpc.status.CANCELLED);
    expect(call.attributes['error.type']).toBe('GRPC_CALL_CANCELLED');
  });
});

describe('a server stream', () => {
  it('its spans, and its call in the metrics, end with the stream and its final status', async () => {
    let end!: () => void;
    const released = new Promise<void>((resolve) => {
      end = resolve;
    });
    const b = await backends.start('s', {
      serverStream: (call) => {
        call.write({ message: 'first', server: 's' });
        void released.then(() =>
          call.emit('error', {
            code: grpc.status.DATA_LOSS,
            details: 'lost the rest',
            metadata: new grpc.Metadata(),
          }),
        );
      },
    });
    const registry = new Registry();
    const c = client({
      name: 'streams',
      endpoints: [b.address],
      telemetry: [prometheusMetrics({ registry }), openTelemetryTracing({ tracerProvider: provider })],
    });
    const stream = (c as unknown as Methods).serverStream!({
      message: 'm',
      count: 0,
    }) as grpc.ClientReadableStream<EchoReply>;
    const firstMessage = new Promise<string>((resolve) =>
      stream.once('data', (m: EchoReply) => resolve(m.message)),
    );
    const ended = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', () => {});

    expect(await firstMessage).toBe('first');
    // The call committed and the caller has its stream: still in flight, nothing ended yet.
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(await value(registry, 'weft_requests_in_flight', { client: 'streams', protocol: 'grpc' })).toBe(1);
    expect(await samples(registry, 'weft_requests_total', { client: 'streams' })).toEqual([]);
    expect(await samples(registry, 'weft_attempts_total', { client: 'streams' })).toEqual([]);

    end();
    expect((await ended).code).toBe(grpc.status.DATA_LOSS);

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.kind])).toEqual([
      ['weft.test.Echo/ServerStream', SpanKind.CLIENT],
      ['weft.test.Echo/ServerStream', SpanKind.INTERNAL],
    ]);
    const [attempt, call] = spans as [ReadableSpan, ReadableSpan];
    for (const span of [attempt, call]) {
      expect(span.attributes['rpc.grpc.status_code']).toBe(grpc.status.DATA_LOSS);
      expect(span.attributes['error.type']).toBe('DATA_LOSS');
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'lost the rest' });
    }
    expect(attempt.attributes['weft.classification']).toBe('failure');
    expect(attempt.parentSpanContext?.spanId).toBe(call.spanContext().spanId);
    expect(parentSeen(b.seen[0]!.metadata)).toBe(attempt.spanContext().spanId);

    const labels = { client: 'streams', protocol: 'grpc' };
    const method = { grpc_service: 'weft.test.Echo', grpc_method: 'ServerStream' };
    expect(await value(registry, 'weft_requests_in_flight', labels)).toBe(0);
    expect(
      await value(registry, 'weft_requests_total', {
        ...labels,
        class: 'failure',
        ...method,
        grpc_code: 'DATA_LOSS',
      }),
    ).toBe(1);
    expect(
      await value(registry, 'weft_request_duration_seconds_count', {
        ...labels,
        class: 'failure',
        ...method,
      }),
    ).toBe(1);
    expect(
      await value(registry, 'weft_attempts_total', {
        ...labels,
        endpoint: b.address,
        class: 'failure',
        grpc_code: 'DATA_LOSS',
      }),
    ).toBe(1);
  });
});

describe('metrics of a gRPC client beside an HTTP client', () => {
  it('labels the gRPC series with protocol, method and status code, and leaves the HTTP ones as they were', async () => {
    const registry = new Registry();
    const metrics = prometheusMetrics({ registry });
    const web = await http.backends.start(replyAfter(0, 'ok'));
    const site = http.client({ name: 'site', endpoints: [web.address], telemetry: metrics });
    await (await site.request({ path: '/' })).body.text();

    const missing = failWith(grpc.status.NOT_FOUND);
    const b = await backends.start('g', {
      unary: (call, callback) =>
        call.request.message === 'missing' ? missing(call, callback) : echoUnary('g')(call, callback),
      idempotentUnary: () => {}, // never answers: the caller cancels
    });
    const c = client({ name: 'rpc', endpoints: [b.address], telemetry: metrics });
    await unary(c, 'unary', { message: 'one' });
    await unary(c, 'unary', { message: 'two' });
    await expect(unary(c, 'unary', { message: 'missing' })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    const cancelled = new Promise<grpc.ServiceError>((resolve) => {
      const call = (c as unknown as Methods).idempotentUnary!(
        { message: '', count: 0 },
        (error: grpc.ServiceError) => resolve(error),
      ) as grpc.ClientUnaryCall;
      setImmediate(() => call.cancel());
    });
    expect((await cancelled).code).toBe(grpc.status.CANCELLED);

    const g = { client: 'rpc', protocol: 'grpc' };
    const unaryMethod = { grpc_service: 'weft.test.Echo', grpc_method: 'Unary' };
    const requests = (labels: Record<string, string>) =>
      value(registry, 'weft_requests_total', { ...g, ...labels });
    expect(await requests({ class: 'success', ...unaryMethod, grpc_code: 'OK' })).toBe(2);
    // NOT_FOUND is the application's answer: a success for the endpoint, its code on the series.
    expect(await requests({ class: 'success', ...unaryMethod, grpc_code: 'NOT_FOUND' })).toBe(1);
    expect(
      await requests({
        class: 'ignorable',
        grpc_service: 'weft.test.Echo',
        grpc_method: 'IdempotentUnary',
        grpc_code: 'CANCELLED',
      }),
    ).toBe(1);
    expect(
      await value(registry, 'weft_request_duration_seconds_count', {
        ...g,
        class: 'success',
        ...unaryMethod,
      }),
    ).toBe(3);
    expect(
      await value(registry, 'weft_attempts_total', {
        ...g,
        endpoint: b.address,
        class: 'success',
        grpc_code: 'OK',
      }),
    ).toBe(2);
    expect(
      await value(registry, 'weft_attempts_total', {
        ...g,
        endpoint: b.address,
        class: 'success',
        grpc_code: 'NOT_FOUND',
      }),
    ).toBe(1);
    // The cancelled call's attempt: cut short by the caller, nothing learned of the endpoint.
    expect(
      await value(registry, 'weft_attempts_total', {
        ...g,
        endpoint: b.address,
        class: 'ignorable',
        grpc_code: 'CANCELLED',
      }),
    ).toBe(1);
    expect(await value(registry, 'weft_attempt_duration_seconds_count', { ...g, endpoint: b.address })).toBe(
      4,
    );
    expect(await value(registry, 'weft_requests_in_flight', g)).toBe(0);
    expect(await value(registry, 'weft_balancer_endpoints', { ...g, status: 'open' })).toBe(1);
    expect(await value(registry, 'weft_endpoint_in_flight', { ...g, endpoint: b.address })).toBe(0);

    // The HTTP client's series on the same registry keep exactly their labels.
    const keys = async (name: string, client: string) =>
      (await samples(registry, name, { client })).map((v) => Object.keys(v.labels).sort());
    expect(await keys('weft_requests_total', 'site')).toEqual([['class', 'client']]);
    expect(await keys('weft_attempts_total', 'site')).toEqual([['class', 'client', 'endpoint']]);
    expect(await keys('weft_requests_in_flight', 'site')).toEqual([['client']]);
    const text = await registry.metrics();
    expect(text).toContain('weft_requests_total{client="site",class="success"} 1');
    expect(text).toContain(
      'weft_requests_total{client="rpc",protocol="grpc",class="success",grpc_service="weft.test.Echo",grpc_method="Unary",grpc_code="OK"} 2',
    );
  });
});

describe('gRPC clients on the admin page', () => {
  it('shows a generated client (or its channel) with its protocol and connectivity, beside an HTTP client', async () => {
    const b = await backends.start('a');
    const c = client({ name: 'echo-admin', endpoints: [b.address] });
    const web = await http.backends.start(replyAfter(0));
    const site = http.client({ name: 'site', endpoints: [web.address] });
    const before = adminState([c]).clients[0]!;
    expect(before.protocol).toBe('grpc');
    expect(before.connectivity).toBe('IDLE');

    await unary(c, 'unary', { message: 'hi' });
    const admin = await startAdminServer({
      clients: [c, c.getChannel() as unknown as WeftGrpcChannel, site],
    });
    try {
      const state = (await (await fetch(`${admin.url}state.json`)).json()) as AdminState;
      const [generated, channel, httpClient] = state.clients;
      for (const grpcClient of [generated!, channel!]) {
        expect(grpcClient).toMatchObject({ name: 'echo-admin', protocol: 'grpc', connectivity: 'READY' });
        expect(grpcClient.endpoints).toEqual([
          expect.objectContaining({
            address: b.address,
            status: 'open',
            pending: 0,
            attempts: 1,
            successRate: 1,
          }),
        ]);
      }
      expect(httpClient).toMatchObject({ name: 'site', protocol: 'http', connectivity: null });
    } finally {
      await admin.close();
    }
    expect(() => createAdminHandler({ clients: [{ getChannel: () => ({}) }] })).toThrow(/clients\[0\]/);
  });

  it('draws a gRPC client on the page with its protocol and connectivity', async () => {
    const b = await backends.start('a');
    const c = client({ name: 'echo-page', endpoints: [b.address] });
    await unary(c, 'unary', { message: 'hi' });
    const web = await http.backends.start(replyAfter(0));
    const site = http.client({ name: 'site', endpoints: [web.address] });
    const admin = await startAdminServer({ clients: [c, site] });
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run'],
      timeout: 15_000,
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(admin.url);
      const grpcSection = page.locator('section.client[data-client="echo-page"]');
      await grpcSection.locator('tr[data-address]').first().waitFor({ timeout: 10_000 });
      expect(((await grpcSection.locator('h2').textContent()) ?? '').trim()).toBe(
        'echo-page grpc READY p2c-peak-ewma',
      );
      expect(await grpcSection.locator('h2 .connectivity').getAttribute('class')).toBe('connectivity');
      expect(await grpcSection.locator('tr[data-address]').getAttribute('data-address')).toBe(b.address);
      const httpTitle = page.locator('section.client[data-client="site"] h2');
      expect(((await httpTitle.textContent()) ?? '').trim()).toBe('site p2c-peak-ewma');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await admin.close();
    }
  }, 30_000);
});
