/**
 * The gRPC protocol adapter (src/core/protocol.ts): what the protocol-agnostic filters do to a
 * gRPC request. The deadline and the attempt number are noted on the request and reach the wire
 * when the transport starts the attempt's grpc-js call: the deadline as that call's own (grpc-js
 * writes `grpc-timeout` from it), the number as `grpc-previous-rpc-attempts` (gRFC A6). The
 * messages are always kept (./message-log.ts), so there is nothing to prepare; a call can be sent
 * again while they fit the bound and no response has started.
 */
import { status as Status } from '@grpc/grpc-js';
import type { ProtocolAdapter } from '../core/protocol.js';
import type { GrpcAttempt } from './attempt.js';
import type { GrpcRequest, GrpcResponse } from './request.js';

export const grpcAdapter: ProtocolAdapter<GrpcRequest, GrpcResponse> = {
  writeDeadline(req, remainingMs) {
    req.remainingMs = remainingMs;
  },
  writeAttempt(req, attempt) {
    req.attempt = attempt;
  },
  prepareReplay() {},
  hasInMemoryBody(req) {
    // One request message (unary, server-streaming), or a client stream already half-closed
    // within the bound: either way the whole request can go out twice at once.
    const messages = req.messages;
    return messages.replayable && (!req.method.requestStream || messages.halfClosed);
  },
  rewind(req) {
    return req.messages.replayable && !req.responseStarted;
  },
  discard(res) {
    (res as GrpcAttempt).cancel(Status.CANCELLED, 'Discarded by weft (a retried or losing attempt)');
  },
};
