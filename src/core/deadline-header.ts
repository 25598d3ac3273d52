/**
 * The deadline on the wire: a relative timeout in whole milliseconds, so clock skew between hosts
 * does not matter (gRPC's `grpc-timeout`; Envoy's `x-envoy-expected-rq-timeout-ms`). A value that
 * is not a plain non-negative integer is ignored; one above the cap is clamped to it, so a peer
 * cannot pin our work open for days.
 */

/** The header that carries the remaining time, in ms, e.g. `weft-timeout-ms: 1830`. */
export const DEADLINE_HEADER = 'weft-timeout-ms';

/** Incoming values above this are clamped (5 minutes; an hour-long RPC is a bug, not a deadline). */
export const MAX_INCOMING_TIMEOUT_MS = 300_000;

const INTEGER = /^[0-9]{1,32}$/;
/** Digits the fast path of {@link parseDeadlineHeader} reads: below 2^53, so the sum it builds is exact. */
const MAX_DIGITS_FAST = 15;
/** The character code of `0`. */
const ZERO = 48;

/**
 * Parse an incoming header value. Returns the timeout in ms, clamped to `maxMs`, or `undefined`
 * when the value is absent or malformed (never trusted blindly: `-5`, `1e3`, `12abc`, `` are ignored).
 */
export function parseDeadlineHeader(
  value: string | readonly string[] | undefined,
  maxMs: number = MAX_INCOMING_TIMEOUT_MS,
): number | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value : value.length === 1 ? value[0] : undefined;
  if (text === undefined) return undefined;
  // Read once per incoming request: a header of plain digits (what a weft client sends) is read
  // without trimming, a RegExp or string-to-number parsing; anything else takes the general path.
  const length = text.length;
  if (length > 0 && length <= MAX_DIGITS_FAST) {
    let ms = 0;
    for (let i = 0; i < length; i++) {
      const digit = text.charCodeAt(i) - ZERO;
      if (digit < 0 || digit > 9) return parseGeneral(text, maxMs);
      ms = ms * 10 + digit;
    }
    return Math.min(ms, maxMs);
  }
  return parseGeneral(text, maxMs);
}

/** {@link parseDeadlineHeader} for any string: trimmed, then 1 to 32 digits, else ignored. */
function parseGeneral(text: string, maxMs: number): number | undefined {
  const trimmed = text.trim();
  if (!INTEGER.test(trimmed)) return undefined;
  const ms = Number(trimmed);
  return Math.min(ms, maxMs);
}

/** Format the remaining time for the wire: whole ms, rounded down, never negative. */
export function formatDeadlineHeader(remainingMs: number): string {
  return String(remainingMs > 0 ? Math.floor(remainingMs) : 0);
}
