/**
 * Client-side adaptive throttling (Google SRE book, "Handling Overload"): when the backend has been
 * turning calls away, reject a share of new calls locally, without sending them, with probability
 * max(0, (requests − K·accepts) / (requests + 1)) over a sliding window. It sits above retry (it
 * judges logical calls, and retrying a call it rejected would send the very load it sheds) and below
 * deadline. Defaults: K = 2 and a 2-minute window, both from the book. docs/circuit-breaker.md
 */

import { type CallOutcomeRecorder, recordingCallOutcome } from '../core/call-outcome.js';
import type { ResponseClass } from '../core/classification.js';
import type { Clock } from '../core/clock.js';
import { ConfigError, OverloadedError } from '../core/errors.js';
import { clockOption, functionOption, objectOption, optionKeys, positiveNumber } from '../core/options.js';
import { RollingCounts } from '../core/rolling-counts.js';
import type { Filter } from '../core/service.js';

/** Defaults of {@link adaptiveThrottle}; docs/circuit-breaker.md gives the source of each. */
export const ADAPTIVE_THROTTLE_DEFAULTS = {
  /** The SRE book's K: sending continues freely until requests reach K times accepts. */
  k: 2,
  /** History kept, in ms: "the last two minutes" (SRE book). */
  windowMs: 120_000,
} as const;

/** The window moves in steps of one bucket, in ms. */
const BUCKET_MS = 1_000;
/** The two counts of the window (../core/rolling-counts.ts). */
const REQUESTS = 0;
const ACCEPTS = 1;

/** Options of {@link adaptiveThrottle}. */
export interface AdaptiveThrottleOptions {
  /** Clock for the window (tests pass a VirtualClock). Default: the real clock. */
  clock?: Clock;
  /**
   * The SRE book's K, a number >= 1: calls are sent freely while requests < K × accepts. Lower is
   * more aggressive (1.1 sheds almost as soon as the backend rejects), higher is more lenient.
   * Default 2.
   */
  k?: number;
  /** History the counts cover, in ms (>= 1 000, counted in 1-second steps). Default 120 000. */
  windowMs?: number;
  /** Uniform random source in [0, 1), for deterministic tests. Default `Math.random`. */
  random?: () => number;
}

/** The keys of {@link AdaptiveThrottleOptions}; any other key throws a ConfigError. */
export const ADAPTIVE_THROTTLE_OPTION_KEYS = optionKeys<AdaptiveThrottleOptions>({
  clock: true,
  k: true,
  windowMs: true,
  random: true,
});

/** The counts behind the throttle's decision, over its window. */
export interface AdaptiveThrottleStats {
  /** Calls counted: those with a known outcome, plus those rejected locally. */
  readonly requests: number;
  /** Calls the backend accepted (processed, whether it succeeded or not). */
  readonly accepts: number;
  /** Probability that the next call is rejected locally. */
  readonly rejectionProbability: number;
}

/** The throttle's filter, with a way to read its counts (for metrics). */
export type AdaptiveThrottleFilter<Req, Res> = Filter<Req, Res> & {
  /** The current counts and rejection probability. */
  stats(): AdaptiveThrottleStats;
};

/**
 * Adaptive throttling for one client (one destination): a filter to place above retry, below
 * deadline. A call rejected locally fails with `OverloadedError` (`WEFT_OVERLOADED`), sending nothing.
 *
 * What counts, from the whole call's class (`resolvedCallClass`, `rejectedCallClass`):
 * - `success` and `failure`: a request the backend accepted (it processed it, even if it failed).
 * - `retryable` (503, 429, a nack, connection refused): a request, not accepted.
 * - `ignorable` (the caller cancelled, the client was closed): nothing.
 * - a call rejected locally: a request, at once, as the book says.
 *
 * A sent call is counted when its outcome is known, request and accept together (as grpc-go's
 * adaptive throttler does), so both land in the same bucket, and calls still in flight never look
 * like rejections: a burst of calls on a cold client is not throttled.
 *
 * Cost: two counters in a ring of 1-second buckets on the Clock; O(1) per call, no allocation for
 * the bookkeeping, and no random draw while nothing has been rejected.
 */
export function adaptiveThrottle<Req, Res>(
  options?: AdaptiveThrottleOptions,
): AdaptiveThrottleFilter<Req, Res> {
  const o = objectOption<AdaptiveThrottleOptions>('adaptiveThrottle', options, ADAPTIVE_THROTTLE_OPTION_KEYS);
  const clock = clockOption('adaptiveThrottle.clock', o.clock);
  const k = o.k ?? ADAPTIVE_THROTTLE_DEFAULTS.k;
  if (typeof k !== 'number' || !Number.isFinite(k) || k < 1) {
    throw new ConfigError('adaptiveThrottle.k', k, 'expected a finite number >= 1');
  }
  const windowMs = positiveNumber(
    'adaptiveThrottle.windowMs',
    o.windowMs,
    ADAPTIVE_THROTTLE_DEFAULTS.windowMs,
  );
  if (windowMs < BUCKET_MS) {
    throw new ConfigError('adaptiveThrottle.windowMs', windowMs, `expected a finite number >= ${BUCKET_MS}`);
  }
  const random = functionOption<() => number>('adaptiveThrottle.random', o.random, Math.random);
  const window = new RollingCounts(2, Math.ceil(windowMs / BUCKET_MS), BUCKET_MS);
  const recorder = new ThrottleRecorder(clock, window);

  const filter: Filter<Req, Res> = (req, ctx, next) => {
    const now = clock.now();
    window.advance(now);
    const requests = window.total(REQUESTS);
    const accepts = window.total(ACCEPTS);
    const p = rejectionProbability(requests, accepts, k);
    if (p > 0 && random() < p) {
      window.add(now, REQUESTS);
      return Promise.reject(
        new OverloadedError(
          `throttled locally: the backend accepted ${accepts} of ${requests} calls in the last ` +
            `${Math.round(windowMs / 1_000)} s, so ${(p * 100).toFixed(1)}% of calls are rejected ` +
            `without being sent (K = ${k})`,
          { destination: ctx.destination, timeLeftMs: ctx.timeLeft(now) },
        ),
      );
    }
    return recordingCallOutcome(req, ctx, next, recorder, 0);
  };
  return Object.assign(filter, {
    stats: (): AdaptiveThrottleStats => {
      window.advance(clock.now());
      const requests = window.total(REQUESTS);
      const accepts = window.total(ACCEPTS);
      return { requests, accepts, rejectionProbability: rejectionProbability(requests, accepts, k) };
    },
  });
}

/** The SRE book's client request rejection probability (eq. 21-1). */
function rejectionProbability(requests: number, accepts: number, k: number): number {
  return Math.max(0, (requests - k * accepts) / (requests + 1));
}

/** Counts each sent call when its outcome is known, request and accept together. */
class ThrottleRecorder implements CallOutcomeRecorder {
  constructor(
    private readonly clock: Clock,
    private readonly window: RollingCounts,
  ) {}

  recordCallOutcome(outcome: ResponseClass): void {
    if (outcome.kind === 'ignorable') return;
    const now = this.clock.now();
    this.window.add(now, REQUESTS);
    if (outcome.kind !== 'retryable') this.window.add(now, ACCEPTS);
  }
}
