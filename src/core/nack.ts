/**
 * The nack: a server's answer that it did not process a request, so the request is safe to send
 * again, to another replica, whatever its method (Finagle's `finagle-http-nack`). weft's server
 * half sends it (src/server/rejection.ts: 503, this header, `Retry-After: 0`); weft's HTTP
 * classifier requeues any response that carries it (src/http/protocol/classifier.ts).
 */

/** The response header of a nack. */
export const NACK_HEADER = 'weft-nack';

/**
 * The reason of the classification a nack gets (`retryable`, requeue). A nack says the endpoint
 * is alive and full, not failing: failure accrual counts it neither way (../policies/
 * failure-accrual), while the load metric still sees a fast answer that did no work.
 */
export const NACK_REASON = 'nack';
