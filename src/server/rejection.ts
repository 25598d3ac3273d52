/**
 * The answers a server gives without running the handler, and the one it gives for a handler
 * that ran out of time, as protocol-neutral descriptions the adapters write:
 *
 *   overload   503, `weft-nack: 1`, `Retry-After: 0`   over the concurrency limit
 *   draining   503, `weft-nack: 1`, `Retry-After: 0`,  shutting down; the connection closes after
 *              `Connection: close`
 *   expired    504                                      its deadline had passed when it arrived
 *   deadline   504                                      a DeadlineExceededError escaped the handler
 *
 * A nack is Finagle's (`HttpNackFilter`: 503, `finagle-http-nack`, `Retry-After: 0`): the request
 * was not processed and is safe to send again, for any method, and `Retry-After: 0` because it is
 * this replica that is full (another can take the request now; weft's retry waits
 * `max(backoff, Retry-After)`). An expired request is not nacked: Finagle's `DeadlineFilter` fails
 * it `NonRetryable | Rejected` (a non-retryable nack), since a requeue would reach another replica
 * with no time left either. weft has no non-retryable nack, so it answers what happened: 504, no
 * nack header (docs/server.md, "The caller's deadline").
 */

import { NACK_HEADER } from '../core/nack.js';

export { NACK_HEADER };

/** Why a request was answered at once; see the table at the top of the file. */
export type RejectionKind = 'overload' | 'draining' | 'expired';

/** An answer written without the handler. */
export interface Rejection {
  readonly kind: RejectionKind;
  readonly status: number;
  /** Lowercase header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const TEXT = 'text/plain; charset=utf-8';

/** Over the concurrency limit: a nack. */
export const OVERLOAD_NACK: Rejection = Object.freeze({
  kind: 'overload',
  status: 503,
  headers: Object.freeze({ 'content-type': TEXT, [NACK_HEADER]: '1', 'retry-after': '0' }),
  body: 'Request not processed: the server is at its concurrency limit. It is safe to retry.\n',
});

/** Draining: a nack, and the connection closes after it, so the client moves to another replica. */
export const DRAINING_NACK: Rejection = Object.freeze({
  kind: 'draining',
  status: 503,
  headers: Object.freeze({
    'content-type': TEXT,
    [NACK_HEADER]: '1',
    'retry-after': '0',
    connection: 'close',
  }),
  body: 'Request not processed: the server is shutting down. It is safe to retry.\n',
});

/** The deadline had passed on arrival (`weft-timeout-ms: 0`). */
export const EXPIRED_ON_ARRIVAL: Rejection = Object.freeze({
  kind: 'expired',
  status: 504,
  headers: Object.freeze({ 'content-type': TEXT }),
  body: 'Request not processed: its deadline had passed when it arrived.\n',
});

/** A DeadlineExceededError escaped the handler. */
export const DEADLINE_EXCEEDED_RESPONSE = Object.freeze({
  status: 504,
  headers: Object.freeze({ 'content-type': TEXT }),
  body: "The request's deadline passed while it was served.\n",
});

/** Is `error` weft's DeadlineExceededError (by its code, so from any copy of weft)? */
export function isDeadlineExceeded(error: unknown): boolean {
  return (
    error !== null &&
    typeof error === 'object' &&
    (error as { code?: unknown }).code === 'WEFT_DEADLINE_EXCEEDED'
  );
}
