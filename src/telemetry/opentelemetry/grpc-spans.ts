/**
 * gRPC's spans, after OpenTelemetry's RPC and gRPC conventions as @opentelemetry/instrumentation-grpc
 * and the backends' RPC views read them (semantic conventions v1.37): the span name is
 * `package.Service/Method`; `rpc.system` = `grpc`, `rpc.service` and `rpc.method` on the call and
 * every attempt; `server.address` and `server.port` on attempts; `rpc.grpc.status_code` (the
 * number) once the status is known. A client span with any status but OK is an error (so is a
 * classified failure): `error.type` is the status's name (`UNAVAILABLE`) and the span status
 * ERROR with the status details as its message. A streaming response's attempt span ends with
 * the stream, and so does the call's span. The trace context goes into each attempt's metadata
 * with grpc-js Metadata `set`; the attempt sends a copy of the call's metadata, made as it starts.
 */
import { type Context, propagation, type Span, SpanStatusCode } from '@opentelemetry/api';
import type { ResponseClass } from '../../core/classification.js';
import type { CallContext } from '../../core/context.js';
import type { Endpoint } from '../../core/endpoint.js';
import {
  GRPC_OK,
  type GrpcRequestShape,
  grpcMethodName,
  grpcStatusCode,
  grpcStatusName,
  isOpenGrpcStream,
} from '../grpc-shapes.js';
import type { SpanProtocol } from './span-protocol.js';

const metadataSetter = {
  set(carrier: GrpcRequestShape['metadata'], key: string, value: string) {
    carrier.set(key, value);
  },
};

/** The RPC attributes every span of a gRPC call has. */
function rpcAttributes(span: Span, req: unknown): void {
  const method = (req as GrpcRequestShape).method;
  span.setAttribute('rpc.system', 'grpc');
  span.setAttribute('rpc.service', method.service);
  span.setAttribute('rpc.method', method.name);
}

export const grpcSpans: SpanProtocol = {
  spanName: (req) => grpcMethodName((req as GrpcRequestShape).method),
  callAttributes: rpcAttributes,
  attemptAttributes(span: Span, req: unknown, _ctx: CallContext, endpoint: Endpoint) {
    rpcAttributes(span, req);
    span.setAttribute('server.address', endpoint.host);
    span.setAttribute('server.port', endpoint.port);
  },
  inject(context: Context, req: unknown) {
    propagation.inject(context, (req as GrpcRequestShape).metadata, metadataSetter);
  },
  responded(span, ctx, response) {
    const code = grpcStatusCode(response, false);
    // An open stream (a span ended before its status came): nothing to say yet.
    if (code === undefined) return;
    span.setAttribute('rpc.grpc.status_code', code);
    if (code !== GRPC_OK || (ctx.classification as ResponseClass | undefined)?.kind === 'failure') {
      span.setAttribute('error.type', grpcStatusName(code));
      const details = (response as { status?: { details?: unknown } }).status?.details;
      span.setStatus(
        typeof details === 'string' && details !== ''
          ? { code: SpanStatusCode.ERROR, message: details }
          : { code: SpanStatusCode.ERROR },
      );
    }
  },
  failed(span, error) {
    // The caller's own cancel carries the status its call ends with; weft's errors carry none.
    const code = grpcStatusCode(error, true);
    if (code !== undefined) span.setAttribute('rpc.grpc.status_code', code);
  },
  endsLater: isOpenGrpcStream,
};
