/**
 * Tracing: with no SDK registered weft's spans are the API's no-ops and calls work as before;
 * `attemptSpans: false` leaves the attempts to instrumentation-undici (only the call span, but
 * the trace context still goes out); a failed call's span carries error.type; options are checked.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/index.js';
import { openTelemetryTracing } from '../../src/opentelemetry.js';
import { refusedPort } from '../support/chaos-servers.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';
import { inMemoryTracing } from '../support/otel.js';

const { backends, client } = loopbackFixtures();
const { exporter, provider } = inMemoryTracing();
beforeEach(() => exporter.reset());

describe('openTelemetryTracing', () => {
  it('works with no SDK: no-op spans, nothing recorded, the call unchanged', async () => {
    const b = await backends.start(replyAfter(0, 'fine'));
    const c = client({ endpoints: [b.address], telemetry: openTelemetryTracing() });
    const res = await c.request({ path: '/' });
    expect(await res.body.text()).toBe('fine');
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('picks up an SDK registered globally after the client was made', async () => {
    const b = await backends.start(replyAfter(0));
    const c = client({ endpoints: [b.address], telemetry: openTelemetryTracing() });
    await (await c.request({ path: '/' })).body.text();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    trace.setGlobalTracerProvider(provider);
    try {
      await (await c.request({ path: '/' })).body.text();
      const kinds = exporter.getFinishedSpans().map((s) => s.kind);
      expect(kinds.sort()).toEqual([SpanKind.INTERNAL, SpanKind.CLIENT].sort());
    } finally {
      trace.disable();
    }
  });

  it('with attemptSpans: false, records only the call span and leaves propagation to instrumentation', async () => {
    const b = await backends.start(replyAfter(0));
    const quiet = client({
      endpoints: [b.address],
      telemetry: openTelemetryTracing({ tracerProvider: provider, attemptSpans: false }),
    });
    await (await quiet.request({ path: '/' })).body.text();
    expect(b.seen[0]!.headers.traceparent).toBeUndefined();
    exporter.reset();
    b.seen.length = 0;
    const c = client({
      endpoints: [b.address],
      telemetry: openTelemetryTracing({ tracerProvider: provider, attemptSpans: false, propagate: true }),
    });
    await (await c.request({ path: '/' })).body.text();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.kind)).toEqual([SpanKind.INTERNAL]);
    const [, traceId, parentId] = String(b.seen[0]!.headers.traceparent).split('-');
    expect(traceId).toBe(spans[0]!.spanContext().traceId);
    expect(parentId).toBe(spans[0]!.spanContext().spanId);
  });

  it('marks a failed call with error.type and an error status', async () => {
    const c = client({
      endpoints: [`127.0.0.1:${await refusedPort()}`],
      retry: false,
      telemetry: openTelemetryTracing({ tracerProvider: provider }),
    });
    await expect(c.request({ path: '/' })).rejects.toThrow();
    const [attempt, call] = exporter.getFinishedSpans();
    expect(attempt!.attributes['error.type']).toBe('ECONNREFUSED');
    expect(call!.attributes['error.type']).toBe('WEFT_REQUEST_FAILED');
    expect(call!.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('checks its options', () => {
    expect(() => openTelemetryTracing({ tracerProvider: {} as never })).toThrow(ConfigError);
  });
});
