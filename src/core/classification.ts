/**
 * Response classification: what one attempt's outcome means, decided once, at the bottom of the
 * endpoint stack, and read by everything above it: the load metric (a fast failure must not look
 * cheap), failure accrual, retry, the circuit breaker and throttling. Finagle's ResponseClass:
 *
 *   success     the endpoint did its job (HTTP: anything below 500 but 429)
 *   failure     it failed, and sending the same request again would not help, or is not safe
 *   retryable   it failed in a way another attempt may fix; `requeue` says the request provably
 *               never reached the server (connection refused, not written, a server nack), so
 *               even a non-idempotent request may be sent again
 *   ignorable   says nothing about the endpoint (the caller cancelled); counted nowhere
 *
 * Protocol adapters supply the default classifier (src/http/protocol/classifier.ts); users override it
 * per client and per call.
 */

export type ResponseClassName = 'success' | 'failure' | 'retryable' | 'ignorable';

export interface ResponseClass {
  readonly kind: ResponseClassName;
  /** Safe to send again whatever the method: the server never processed the request. */
  readonly requeue: boolean;
  /** A short reason, e.g. `status 503`, `ECONNREFUSED`, `nack` (for errors and traces). */
  readonly reason: string;
  /** The server asked for this pause before another attempt (Retry-After, pushback), in ms. */
  readonly retryAfterMs?: number | undefined;
}

/**
 * What one attempt produced: a response, or an error together with whether the whole request had
 * been written to the connection when it happened (if not, the server cannot have processed it).
 */
export type Outcome<Res> =
  | { readonly response: Res; readonly error?: undefined; readonly written: true }
  | { readonly response?: undefined; readonly error: unknown; readonly written: boolean };

/**
 * Classify one attempt. `idempotent` says whether the request may be sent twice (the retry layer
 * still checks that its body can be replayed). Return `undefined` to defer to the default.
 */
export type Classifier<Req, Res> = (
  req: Req,
  outcome: Outcome<Res>,
  idempotent: boolean,
) => ResponseClass | undefined;

/** Shared instances for the common answers, so that the hot path allocates nothing. */
export const SUCCESS: ResponseClass = Object.freeze({ kind: 'success', requeue: false, reason: 'success' });
export const IGNORABLE: ResponseClass = Object.freeze({
  kind: 'ignorable',
  requeue: false,
  reason: 'cancelled',
});

export function failure(reason: string): ResponseClass {
  return { kind: 'failure', requeue: false, reason };
}

export function retryable(reason: string, requeue = false, retryAfterMs?: number): ResponseClass {
  return { kind: 'retryable', requeue, reason, retryAfterMs };
}

/**
 * The class of an attempt that ended, by name: its classification, or, when nothing classified it
 * (a balancer without a classifier), `failure` if it failed and `success` if it did not.
 */
export function attemptClassName(c: ResponseClass | undefined, failed: boolean): ResponseClassName {
  return c === undefined ? (failed ? 'failure' : 'success') : c.kind;
}

/** Does this class count against the endpoint (failure accrual, breaker, load metric)? */
export function isFailure(c: ResponseClass): boolean {
  return c.kind === 'failure' || c.kind === 'retryable';
}
