/**
 * What a protocol puts on weft's spans (./http-spans.ts, ./grpc-spans.ts): the span name, the
 * semantic-convention attributes of the call and attempt spans, how the trace context is written
 * into a request, and how a response sets the span's status. The tracing plugin
 * (../opentelemetry.ts) picks one by the scheme a client reports (`http`, `https`, `grpc`) and
 * adds weft's own attributes, which are the same for every protocol.
 */
import type { Context, Span } from '@opentelemetry/api';
import type { CallContext } from '../../core/context.js';
import type { Endpoint } from '../../core/endpoint.js';

export interface SpanProtocol {
  /** The name of the call's span and of each attempt's. */
  spanName(req: unknown): string;
  /** The protocol's attributes of the call span, set when it starts. */
  callAttributes(span: Span, req: unknown): void;
  /** The protocol's attributes of an attempt span (the server, the method), set when it starts. */
  attemptAttributes(span: Span, req: unknown, ctx: CallContext, endpoint: Endpoint): void;
  /** Write `context`'s trace context into the request's headers or metadata, with the global propagator. */
  inject(context: Context, req: unknown): void;
  /** A response came: its status attributes, and the span's status (ERROR for a failing one). */
  responded(span: Span, ctx: CallContext, response: unknown): void;
  /** The protocol's attributes of an error, beyond `error.type` (a gRPC caller's cancel: its status code). */
  failed(span: Span, error: unknown): void;
  /**
   * Whether a response the call returned ends later (an open gRPC stream): the call's span then
   * ends when that response's attempt does, with its final status.
   */
  endsLater(response: unknown): boolean;
}
