/**
 * The server half of deadline propagation, in its smallest form: read the incoming
 * `weft-timeout-ms` header and run the handler inside an ambient context with that deadline, so
 * every weft call the handler makes inherits the remaining time. A malformed value is ignored and
 * one above `maxMs` is clamped (default 5 min): a peer's header is advice, never trusted blindly.
 * Express and Fastify middleware build on this.
 */
import { runWithAmbientContext } from '../core/ambient.js';
import { type Clock, realClock } from '../core/clock.js';
import { DEADLINE_HEADER, MAX_INCOMING_TIMEOUT_MS, parseDeadlineHeader } from '../core/deadline-header.js';
import { ConfigError } from '../core/errors.js';
import { objectOption, optionKeys, positiveNumber, rejectUnknownKeys } from '../core/options.js';

/** Options of {@link runWithIncomingDeadline}: the clamp on a peer's deadline, and the clock. */
export interface IncomingDeadlineOptions {
  /** Clamp for incoming values, in ms. Default 300 000 (5 min). */
  maxMs?: number;
  /** Clock the deadline is measured on. Default: the real clock. */
  clock?: Clock;
}

/** The keys of {@link IncomingDeadlineOptions}; any other key throws a ConfigError. */
export const INCOMING_DEADLINE_OPTION_KEYS = optionKeys<IncomingDeadlineOptions>({
  maxMs: true,
  clock: true,
});

/**
 * Run `handler` with the deadline carried by `headers` (e.g. `req.headers` of node:http) as the
 * ambient deadline. Without a valid header, `handler` runs with no ambient deadline.
 *
 * @example
 * http.createServer((req, res) => runWithIncomingDeadline(req.headers, () => handle(req, res)));
 */
export function runWithIncomingDeadline<T>(
  headers: Record<string, string | string[] | undefined>,
  handler: () => T,
  options: IncomingDeadlineOptions = {},
): T {
  if (headers === null || typeof headers !== 'object') {
    throw new ConfigError('headers', headers, 'expected the incoming request headers object');
  }
  // Once per incoming request: checking the keys allocates nothing unless one is unknown.
  const o = objectOption<IncomingDeadlineOptions>('options', options);
  rejectUnknownKeys('', o, INCOMING_DEADLINE_OPTION_KEYS);
  const maxMs = positiveNumber('maxMs', o.maxMs, MAX_INCOMING_TIMEOUT_MS);
  const clock = o.clock ?? realClock;
  const timeout = parseDeadlineHeader(headers[DEADLINE_HEADER], maxMs);
  if (timeout === undefined) return handler();
  return runWithAmbientContext({ deadline: clock.now() + timeout, clock }, handler);
}
