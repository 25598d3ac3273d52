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
  const trimmed = text.trim();
  if (!INTEGER.test(trimmed)) return undefined;
  const ms = Number(trimmed);
  return Math.min(ms, maxMs);
}

/** Format the remaining time for the wire: whole ms, rounded down, never negative. */
export function formatDeadlineHeader(remainingMs: number): string {
  return String(remainingMs > 0 ? Math.floor(remainingMs) : 0);
}
