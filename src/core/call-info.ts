/**
 * CallInfo: what a filter author may read of a call as it passes their filter, read-only. weft's
 * own layers work on the whole CallContext (./context.ts), whose other fields are each owned by
 * one layer; a filter given to the `stack` or `endpointStack` option sees the call through this
 * view, so nothing it does can break another layer's bookkeeping.
 */

import type { ResponseClass } from './classification.js';
import type { Clock } from './clock.js';
import type { AttemptRecord } from './errors.js';

/** Why an attempt exists: the first, a retry, a requeue (the server never saw the last one), a hedge. */
export type AttemptReason = 'initial' | 'retry' | 'requeue' | 'hedge';

/** One call as a filter sees it. Times are milliseconds on the client's clock (`clock`). */
export interface CallInfo {
  /** The logical destination (the client's name), for errors and telemetry. */
  readonly destination: string;
  /** The client's clock, on which `deadline`, `callStart` and `attemptDeadline` are measured. */
  readonly clock: Clock;
  /** When the call started. */
  readonly callStart: number;
  /** The call's absolute deadline; `Infinity` when it has none. */
  readonly deadline: number;
  /** The budget the deadline was set from: the total timeout narrowed by the ambient deadline. */
  readonly budgetMs: number;
  /** The caller's AbortSignal, combined with the deadline once a deadline is set; if any. */
  readonly signal: AbortSignal | undefined;
  /** Whether the request may be sent twice (RFC 9110 method, `Idempotency-Key`, or declared). */
  readonly idempotent: boolean;
  /** Most attempts this call may make (1: no retries). */
  readonly maxAttempts: number;
  /** The per-attempt timeout, in ms; `Infinity` when none. */
  readonly attemptTimeoutMs: number;
  /** 1 for the first attempt, 2 for the second, ...; 0 before the first. */
  readonly attempt: number;
  /** Why the current attempt exists. */
  readonly attemptReason: AttemptReason;
  /** The current attempt's absolute end (its own timeout, or the call's deadline). */
  readonly attemptDeadline: number;
  /** The endpoint (`host:port`) the current attempt went to, once the balancer picked it. */
  readonly endpoint: string | undefined;
  /** Whether the current attempt's whole request was handed to the connection. */
  readonly requestWritten: boolean;
  /** How the latest attempt was classified, once it ended. */
  readonly classification: ResponseClass | undefined;
  /** The endpoints this call has tried, oldest first; undefined before the first pick. */
  readonly tried: readonly string[] | undefined;
  /** What each failed attempt did, oldest first; undefined while none has failed. */
  readonly attempts: readonly AttemptRecord[] | undefined;
  /** Milliseconds left before the deadline at time `now` (may be negative; `Infinity` if none). */
  timeLeft(now: number): number;
  /** The reason the call was cancelled (deadline, attempt timeout, caller), or undefined. */
  cancelledReason(): unknown;
}
