/**
 * A gRPC call as the stack sees it: what the filters, the classifiers and the transport share.
 * The caller's grpc-js call (./call.ts) builds one per call; every attempt sends it again from
 * its message log. The adapter (./adapter.ts) writes the attempt's deadline and number on it, and
 * the transport (./transport.ts) reads them when it starts the attempt's grpc-js call.
 */
import type { CallCredentials, Metadata, StatusObject } from '@grpc/grpc-js';
import type { MessageLog } from './message-log.js';
import type { GrpcMethod } from './method.js';

/** One gRPC call, for every attempt of it. */
export interface GrpcRequest {
  /** The method: path, kind, idempotency. */
  readonly method: GrpcMethod;
  /** The caller's metadata. Each attempt sends a copy (with `grpc-previous-rpc-attempts` on retries). */
  readonly metadata: Metadata;
  /** The messages the caller sent, kept for another attempt within the replay bound. */
  readonly messages: MessageLog;
  /** The caller's `host` for the call, if its grpc-js call gave one. */
  readonly host: string | undefined;
  /** Per-call credentials the caller set (`CallOptions.credentials`). */
  credentials: CallCredentials | undefined;
  /**
   * The absolute deadline the caller itself set (grpc-js `deadline`, a parent call's, the
   * ambient one), as epoch ms; `Infinity` for none. A streaming response lives until it, not
   * until the client's `timeoutMs`, which bounds only the wait for the stream to start.
   */
  readonly callerDeadline: number;
  /** The attempt's remaining time in ms, written by the deadline header layer; `Infinity` when none was written. */
  remainingMs: number;
  /** The attempt's number (1 for the first); `grpc-previous-rpc-attempts` is one less. */
  attempt: number;
  /** Read requests the caller made that no message answered yet (grpc-js `startRead`). */
  readsWanted: number;
  /** Response headers or a message came on some attempt: the call is committed (gRFC A6). */
  responseStarted: boolean;
}

/**
 * What an attempt produced. An attempt settles with its status for a method whose response is a
 * single message (unary, client-streaming), and at its commit (the first response headers or
 * message) for a streaming response, whose status comes later (`status` is undefined until then).
 */
export interface GrpcResponse {
  /** The attempt's final status, once known. */
  readonly status: StatusObject | undefined;
  /** Response headers or a message came: per gRFC A6 the call is committed and is never sent again. */
  readonly committed: boolean;
  /** Something of the request reached the connection (a message or the half-close was written). */
  readonly written: boolean;
  /** weft cancelled this attempt itself (the caller's cancel, a deadline, a hedge's loser). */
  readonly cancelledHere: boolean;
  /** The endpoint's address. */
  readonly endpoint: string;
}
