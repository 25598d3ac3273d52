/**
 * Is an HTTP request idempotent, so that sending it twice is safe? Yes for the methods RFC 9110
 * §9.2.2 defines as idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE), for any request that
 * carries an `Idempotency-Key` header (the IETF httpapi idempotency-key draft: the server
 * deduplicates), and whenever the caller declares it in code. A declaration wins both ways.
 */
import type { HttpHeaders } from './request.js';

/** RFC 9110 §9.2.2 idempotent methods. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PUT',
  'DELETE',
]);

/** The header that makes any request idempotent (lower-case, as weft stores headers). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

export function isIdempotent(method: string, headers: HttpHeaders, declared: boolean | undefined): boolean {
  if (declared !== undefined) return declared;
  return IDEMPOTENT_METHODS.has(method) || headers[IDEMPOTENCY_KEY_HEADER] !== undefined;
}
