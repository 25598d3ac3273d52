/**
 * gRPC as the stack client sees it (src/client/protocol.ts): the adapter (./adapter.ts), one
 * grpc-js channel per endpoint (./transport.ts), idempotency from the method (./method.ts) or the
 * call, the default classifier (./classifier.ts) and late outcomes: a streaming response settles
 * its attempt at the commit, and its final status reaches failure accrual, the load metric and
 * telemetry when the stream ends (src/balance/completion.ts).
 */
import type { AnsweringClassifier } from '../client/classify-attempt.js';
import type { ClientProtocol } from '../client/protocol.js';
import { grpcAdapter } from './adapter.js';
import type { GrpcAttempt } from './attempt.js';
import { grpcClassifier, isPlainGrpcSuccess, type RetryableCodesOf } from './classifier.js';
import type { GrpcRequest, GrpcResponse } from './request.js';
import { GrpcEndpoint, type GrpcTransportSettings } from './transport.js';

/** The gRPC protocol over `transport`; `retryableCodes` finds a method's own retryable codes. */
export function grpcProtocol(
  transport: GrpcTransportSettings,
  retryableCodes: RetryableCodesOf | undefined,
): ClientProtocol<GrpcRequest, GrpcResponse> {
  return {
    adapter: grpcAdapter,
    makeTransport: (endpoint) => new GrpcEndpoint(endpoint, transport),
    isIdempotent: (req, declared) =>
      declared ?? (req.method.idempotent || req.metadata.getOptions().idempotentRequest === true),
    defaultClassifier: grpcClassifier(retryableCodes) as AnsweringClassifier<GrpcRequest, GrpcResponse>,
    plainSuccess: isPlainGrpcSuccess,
    completion: {
      completesLater: (res) => res.status === undefined,
      track: (res, completion) =>
        (res as GrpcAttempt).whenEnded((ended) => completion.complete(ended, false)),
    },
    scheme: 'grpc',
  };
}
