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

/** The four classes of an attempt, by name (Finagle's ResponseClass; the table above). */
export type ResponseClassName = 'success' | 'failure' | 'retryable' | 'ignorable';

/**
 * The verdict on one attempt: its class, whether it may be sent again whatever the method, why,
 * and the pause the server asked for. A classifier returns one, built with {@link SUCCESS},
 * {@link IGNORABLE}, {@link failure} or {@link retryable}.
 */
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

/**
 * The verdict `success` (reason `success`): the endpoint did its job. One frozen instance that
 * every success shares, so the hot path allocates nothing.
 */
export const SUCCESS: ResponseClass = Object.freeze({ kind: 'success', requeue: false, reason: 'success' });
/**
 * The verdict `ignorable` (reason `cancelled`): the attempt says nothing about the endpoint (the
 * caller cancelled) and is counted nowhere. One frozen, shared instance, like {@link SUCCESS}.
 */
export const IGNORABLE: ResponseClass = Object.freeze({
  kind: 'ignorable',
  requeue: false,
  reason: 'cancelled',
});

/**
 * A `failure` verdict with this `reason`: the endpoint failed, and sending the same request again
 * would not help or is not safe.
 */
export function failure(reason: string): ResponseClass {
  return { kind: 'failure', requeue: false, reason };
}

/**
 * A `retryable` verdict with this `reason`: another attempt may succeed. `requeue: true` says the
 * request provably never reached the server, so even a non-idempotent one may be sent again;
 * `retryAfterMs` is the pause the server asked for (Retry-After, pushback).
 */
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
