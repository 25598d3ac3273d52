/**
 * OpenTelemetry traces for weft clients, through @opentelemetry/api only (no SDK at run time:
 * with none registered every span is the API's no-op span). One span for the logical call (kind
 * INTERNAL) and, under it, one CLIENT span per attempt, with the protocol's semantic conventions
 * (./opentelemetry/: HTTP's stable client conventions, gRPC's RPC conventions, chosen by the
 * scheme the client reports). weft adds weft.client, weft.endpoint, weft.ewma_cost, weft.attempt,
 * weft.attempt.reason (initial, retry, requeue, hedge) and weft.deadline.remaining_ms. The trace
 * context of each attempt is injected into its headers (HTTP) or metadata (gRPC) with the global
 * propagator. A gRPC stream's attempt span, and the call's span, end with the stream.
 * With @opentelemetry/instrumentation-undici also installed, each HTTP attempt would be traced
 * twice: set `attemptSpans: false` to keep only weft's call span and let the instrumentation
 * trace the attempts (docs/tracing.md).
 */
import {
  type Context,
  context,
  ProxyTracerProvider,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type { ClientTelemetry, ObservedClient, TelemetryPlugin } from '../client/telemetry.js';
import type { ResponseClass } from '../core/classification.js';
import type { CallContext } from '../core/context.js';
import { AttemptSlot, CallSlot } from '../core/context-slot.js';
import type { Endpoint } from '../core/endpoint.js';
import { ConfigError, errorCodeOrName } from '../core/errors.js';
import { optionKeys, rejectUnknownKeys } from '../core/options.js';
import { GRPC_SCHEME } from './grpc-shapes.js';
import { grpcSpans } from './opentelemetry/grpc-spans.js';
import { httpSpans } from './opentelemetry/http-spans.js';
import type { SpanProtocol } from './opentelemetry/span-protocol.js';

/** Options of `openTelemetryTracing`: where spans go, attempt spans, and trace context on the wire. */
export interface OpenTelemetryTracingOptions {
  /** Where spans go. Default: the global tracer provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** One CLIENT span per attempt. Default true; false when instrumentation-undici traces attempts. */
  attemptSpans?: boolean;
  /**
   * Inject each attempt's trace context into its headers or gRPC metadata (global propagator).
   * Default: true with attempt spans, false without (instrumentation-undici then injects its own;
   * both would join into one invalid `traceparent`).
   */
  propagate?: boolean;
}

/** The keys of {@link OpenTelemetryTracingOptions}; any other key throws a ConfigError naming `tracing.key`. */
export const OPEN_TELEMETRY_TRACING_OPTION_KEYS = optionKeys<OpenTelemetryTracingOptions>({
  tracerProvider: true,
  attemptSpans: true,
  propagate: true,
});

const TRACER_NAME = 'weft';

/** Marks a call whose spans are not recorded (no SDK, or sampled out). */
const NOT_RECORDING = Symbol('weft.notRecording');

/** The call's span, or NOT_RECORDING when the call is sampled out. */
const CALL_SPAN_SLOT = new CallSlot<Span | typeof NOT_RECORDING>('tracing: the call span');
/** The current attempt's span. */
const ATTEMPT_SPAN_SLOT = new AttemptSlot<Span>('tracing: the attempt span');

/** What a proxy provider delegates to while no SDK is registered (the API's no-op provider). */
const NO_SDK = new ProxyTracerProvider().getDelegate();

const CALL_SPAN: SpanOptions = { kind: SpanKind.INTERNAL };
const ATTEMPT_SPAN: SpanOptions = { kind: SpanKind.CLIENT };

/** Traces for every client that lists this plugin in `telemetry`. */
export function openTelemetryTracing(options: OpenTelemetryTracingOptions = {}): TelemetryPlugin {
  if (options === null || typeof options !== 'object')
    throw new ConfigError('tracing', options, 'expected options');
  rejectUnknownKeys('tracing', options, OPEN_TELEMETRY_TRACING_OPTION_KEYS);
  if (options.tracerProvider !== undefined && typeof options.tracerProvider.getTracer !== 'function') {
    throw new ConfigError(
      'tracing.tracerProvider',
      options.tracerProvider,
      'expected an OpenTelemetry TracerProvider',
    );
  }
  return {
    attach(client, info) {
      const provider = options.tracerProvider ?? trace.getTracerProvider();
      const attemptSpans = options.attemptSpans ?? true;
      return new ClientTracing(
        client,
        provider instanceof ProxyTracerProvider ? provider : undefined,
        provider.getTracer(TRACER_NAME),
        info.scheme === GRPC_SCHEME ? grpcSpans : httpSpans(info.scheme),
        attemptSpans,
        // Without attempt spans, instrumentation-undici (the reason to turn them off) injects its own.
        options.propagate ?? attemptSpans,
      );
    },
  };
}

class ClientTracing implements ClientTelemetry {
  readonly #client: ObservedClient;
  /** The global provider, when spans go there: while it has no SDK, no span is started at all. */
  readonly #proxy: ProxyTracerProvider | undefined;
  readonly #tracer: Tracer;
  readonly #protocol: SpanProtocol;
  readonly #attemptSpans: boolean;
  readonly #propagate: boolean;
  /**
   * Call spans waiting for their response's end (an open gRPC stream), by that response: the
   * balancer's late `attemptFinished` brings the same response object when the stream ends.
   */
  readonly #endsWith = new WeakMap<object, Span>();
  /**
   * How many call spans {@link #endsWith} holds: while none (always, for HTTP), an attempt's end
   * skips the lookup. A stream that is dropped unfinished leaves it above 0, which only costs the
   * lookup again.
   */
  #waiting = 0;

  constructor(
    client: ObservedClient,
    proxy: ProxyTracerProvider | undefined,
    tracer: Tracer,
    protocol: SpanProtocol,
    attemptSpans: boolean,
    propagate: boolean,
  ) {
    this.#client = client;
    this.#proxy = proxy;
    this.#tracer = tracer;
    this.#protocol = protocol;
    this.#attemptSpans = attemptSpans;
    this.#propagate = propagate;
  }

  callStarted(req: unknown, ctx: CallContext): void {
    // No SDK registered (yet): the API would hand out a no-op span; skip making one (the
    // attempts see the same and make none either).
    if (this.#noSdk()) return;
    const span = this.#tracer.startSpan(this.#protocol.spanName(req), CALL_SPAN, context.active());
    // Sampled out (or no SDK): the trace's spans would not be recorded either, so none are made;
    // the attempts still pass the caller's trace context on.
    if (!span.isRecording()) {
      CALL_SPAN_SLOT.set(ctx, NOT_RECORDING);
      return;
    }
    this.#protocol.callAttributes(span, req);
    span.setAttribute('weft.client', this.#client.name);
    if (ctx.budgetMs !== Number.POSITIVE_INFINITY) {
      span.setAttribute('weft.deadline.budget_ms', Math.round(ctx.budgetMs));
    }
    CALL_SPAN_SLOT.set(ctx, span);
  }

  /** Whether no SDK is registered, so that every span the API makes would be a no-op. */
  #noSdk(): boolean {
    return this.#proxy !== undefined && this.#proxy.getDelegate() === NO_SDK;
  }

  callFinished(ctx: CallContext, failed: boolean, outcome: unknown): void {
    const span = CALL_SPAN_SLOT.get(ctx);
    if (span === undefined) return;
    CALL_SPAN_SLOT.set(ctx, undefined);
    if (span === NOT_RECORDING) return;
    if (span.isRecording()) span.setAttribute('weft.attempts', ctx.attempt);
    if (!failed && this.#protocol.endsLater(outcome)) {
      // The caller has its stream; the call is over when the stream is (see attemptFinished).
      this.#endsWith.set(outcome as object, span);
      this.#waiting++;
      return;
    }
    this.#finishSpan(span, ctx, failed, outcome);
    span.end();
  }

  attemptStarted(req: unknown, ctx: CallContext, endpoint: Endpoint, cost: number): void {
    if (this.#noSdk() || CALL_SPAN_SLOT.get(ctx) === NOT_RECORDING) {
      if (this.#propagate) this.#protocol.inject(context.active(), req);
      return;
    }
    const parent = parentContext(ctx);
    if (!this.#attemptSpans) {
      if (this.#propagate) this.#protocol.inject(parent, req);
      return;
    }
    const span = this.#tracer.startSpan(this.#protocol.spanName(req), ATTEMPT_SPAN, parent);
    if (span.isRecording()) {
      this.#protocol.attemptAttributes(span, req, ctx, endpoint);
      span.setAttribute('weft.client', this.#client.name);
      span.setAttribute('weft.endpoint', endpoint.address);
      span.setAttribute('weft.ewma_cost', cost);
      span.setAttribute('weft.attempt', ctx.attempt);
      span.setAttribute('weft.attempt.reason', ctx.attemptReason);
      if (ctx.deadline !== Number.POSITIVE_INFINITY) {
        span.setAttribute(
          'weft.deadline.remaining_ms',
          Math.max(0, Math.round(ctx.deadline - ctx.clock.now())),
        );
      }
    }
    if (this.#propagate) this.#protocol.inject(trace.setSpan(parent, span), req);
    ATTEMPT_SPAN_SLOT.set(ctx, span);
  }

  attemptFinished(ctx: CallContext, _endpoint: Endpoint, failed: boolean, outcome: unknown): void {
    const span = ATTEMPT_SPAN_SLOT.get(ctx);
    if (span !== undefined) {
      ATTEMPT_SPAN_SLOT.set(ctx, undefined);
      this.#finishSpan(span, ctx, failed, outcome);
      if (span.isRecording()) {
        const verdict = ctx.classification as ResponseClass | undefined;
        if (verdict !== undefined) span.setAttribute('weft.classification', verdict.kind);
      }
      span.end();
    }
    // The end of a stream the call returned: the call's span ends with it.
    if (this.#waiting === 0 || typeof outcome !== 'object' || outcome === null) return;
    const callSpan = this.#endsWith.get(outcome);
    if (callSpan === undefined) return;
    this.#endsWith.delete(outcome);
    this.#waiting--;
    this.#finishSpan(callSpan, ctx, failed, outcome);
    callSpan.end();
  }

  /** The outcome's attributes and status: the protocol's for a response, error.type for an error. */
  #finishSpan(span: Span, ctx: CallContext, failed: boolean, outcome: unknown): void {
    if (!span.isRecording()) return;
    if (!failed) {
      this.#protocol.responded(span, ctx, outcome);
      return;
    }
    span.setAttribute('error.type', errorCodeOrName(outcome) ?? '_OTHER');
    this.#protocol.failed(span, outcome);
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: outcome instanceof Error ? outcome.message : String(outcome),
    });
  }
}

/** The parent of an attempt span: the call's span, under whatever context was active. */
function parentContext(ctx: CallContext): Context {
  const callSpan = CALL_SPAN_SLOT.get(ctx);
  return callSpan === undefined || callSpan === NOT_RECORDING
    ? context.active()
    : trace.setSpan(context.active(), callSpan);
}
