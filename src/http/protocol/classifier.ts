/**
 * The default HTTP response classifier (see src/core/classification.ts for the classes):
 *
 *   connect errors (refused, timeout, unreachable), or any error before the request was
 *   fully written                                     retryable + requeue, for every method
 *   a response carrying `weft-nack` (a server nack)   retryable + requeue, for every method
 *   502, 503, 504, 429, a per-attempt timeout,
 *   a reset after the request was written             retryable if idempotent, else failure
 *   other 5xx                                         failure
 *   anything else (1xx–4xx)                           success
 *   the caller's abort, a deadline that had passed    ignorable
 *
 * Retry-After on any retryable response (429, 502, 503, 504, a nack) becomes `retryAfterMs`. The nack header is weft's counterpart of
 * Finagle's `finagle-http-nack`: the server states it rejected the request without processing it.
 */
import {
  type Classifier,
  failure,
  IGNORABLE,
  type Outcome,
  type ResponseClass,
  retryable,
  SUCCESS,
} from '../../core/classification.js';
import { errorCode, errorCodeOrName, WeftError } from '../../core/errors.js';
import { NACK_HEADER, NACK_REASON } from '../../core/nack.js';
import type { HttpRequest, HttpResponse } from './request.js';
import { parseRetryAfter } from './retry-after.js';

export { NACK_HEADER };

/** Errors raised before a connection existed: the server never saw the request. */
const CONNECT_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

const RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** A classifier of HTTP attempts. */
export type HttpClassifier = Classifier<HttpRequest, HttpResponse>;

/** A status the default classifier judges `success` whatever the headers: below 500, except 429. */
export function isPlainSuccessStatus(status: number): boolean {
  return status < 500 && status !== 429;
}

/**
 * Whether the default classifier calls `res` a success without looking any further. The client's
 * classify hook asks this first, so a plain success needs no outcome object
 * (src/client/classify-attempt.ts).
 */
export function isPlainSuccess(res: HttpResponse): boolean {
  return isPlainSuccessStatus(res.statusCode);
}

/** The default classifier for HTTP. */
export const defaultHttpClassifier: Classifier<HttpRequest, HttpResponse> = (
  _req: HttpRequest,
  outcome: Outcome<HttpResponse>,
  idempotent: boolean,
): ResponseClass => {
  const res = outcome.response;
  if (res !== undefined) {
    if (isPlainSuccess(res)) return SUCCESS;
    const status = res.statusCode;
    if (res.headers[NACK_HEADER] !== undefined) {
      return retryable(NACK_REASON, true, parseRetryAfter(res.headers['retry-after']));
    }
    if (!RETRYABLE_STATUS.has(status)) return failure(`status ${status}`);
    return idempotent
      ? retryable(`status ${status}`, false, parseRetryAfter(res.headers['retry-after']))
      : failure(`status ${status}`);
  }
  return classifyError(outcome.error, outcome.written, idempotent);
};

function classifyError(error: unknown, written: boolean, idempotent: boolean): ResponseClass {
  const code = codeToClassify(error);
  if (code === 'WEFT_DEADLINE_EXCEEDED') return written ? failure(code) : IGNORABLE;
  if (code === 'WEFT_ATTEMPT_TIMEOUT') {
    if (!written) return retryable(code, true);
    return idempotent ? retryable(code) : failure(code);
  }
  if (error instanceof WeftError) return failure(code);
  if (CONNECT_ERRORS.has(code)) return retryable(code, true);
  if (!written) {
    // Aborted by the caller before anything went out: says nothing about the endpoint.
    if (code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR' || code === 'error') return IGNORABLE;
    return retryable(code, true);
  }
  return idempotent ? retryable(code) : failure(code);
}

/** The error's code; an AbortError without one is `ABORT_ERR`, anything else without one `error`. */
function codeToClassify(error: unknown): string {
  const code = errorCode(error);
  if (code !== undefined) return code;
  return errorCodeOrName(error) === 'AbortError' ? 'ABORT_ERR' : 'error';
}
