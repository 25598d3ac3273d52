/**
 * Windowed sampling for a concurrency limit (Netflix concurrency-limits' `WindowedLimit`,
 * commit 78a74b9): instead of moving the limit on every request, collect a window of samples
 * and hand the algorithm one summary per window: the window's average RTT, its largest in-flight
 * count, and whether any request in it was dropped. One slow request then moves nothing; a
 * window's worth of them does.
 *
 *   a sample with rtt < discardRttBelowMs      is discarded (0.1 ms: WindowedLimit's 100 µs)
 *   otherwise it joins the window, and if it ended (start + rtt) after the window's end:
 *     the window closes (this sample included), a new one opens, ending at
 *       end + clamp(2 · the closed window's smallest rtt, minWindowMs, maxWindowMs)
 *     and the algorithm gets the closed window if it holds ≥ minSamples samples (else nothing)
 *
 * Defaults, all WindowedLimit's: minWindowMs 1 000 and maxWindowMs 1 000 (so every window lasts
 * 1 s; both must be ≥ 100 ms), minSamples 10 (its `windowSize`, ≥ 10). The first window closes
 * with the first sample (WindowedLimit starts with its end at 0), so the first full window starts
 * there. Windows close on samples, never on a timer: an idle server keeps its limit.
 * The summary's RTT is the exact mean in ms (WindowedLimit's is whole nanoseconds).
 */
import { ConfigError } from '../../core/errors.js';
import { integerAtLeast, objectOption, optionKeys, positiveNumber } from '../../core/options.js';
import type { ConcurrencyLimit, LimitSample } from './limit.js';

/** Defaults of {@link windowedLimit}: Netflix concurrency-limits' `WindowedLimit` (78a74b9). */
export const WINDOWED_LIMIT_DEFAULTS = {
  /** Shortest window, in ms (`DEFAULT_MIN_WINDOW_TIME`, 1 s). */
  minWindowMs: 1_000,
  /** Longest window, in ms (`DEFAULT_MAX_WINDOW_TIME`, 1 s). */
  maxWindowMs: 1_000,
  /** Samples a window needs to count (`DEFAULT_WINDOW_SIZE`, 10). */
  minSamples: 10,
  /** Samples faster than this, in ms, are discarded (`DEFAULT_MIN_RTT_THRESHOLD`, 100 µs). */
  discardRttBelowMs: 0.1,
} as const;

/** The shortest window either bound may set, in ms (WindowedLimit's precondition). */
const SHORTEST_WINDOW_MS = 100;

/** Options of {@link windowedLimit} (and the `window` option of `gradient2`, `vegas`, `aimd`). */
export interface WindowOptions {
  /** Shortest window, in ms, ≥ 100. Default 1 000. */
  minWindowMs?: number;
  /** Longest window, in ms, ≥ 100 and ≥ minWindowMs. Default 1 000. */
  maxWindowMs?: number;
  /** Samples a window needs for the algorithm to see it: an integer ≥ 10. Default 10. */
  minSamples?: number;
  /** Samples with an RTT below this, in ms, are discarded: a number ≥ 0. Default 0.1. */
  discardRttBelowMs?: number;
}

/** The keys of {@link WindowOptions}; any other key throws a ConfigError. */
export const WINDOW_OPTION_KEYS = optionKeys<WindowOptions>({
  minWindowMs: true,
  maxWindowMs: true,
  minSamples: true,
  discardRttBelowMs: true,
});

/**
 * `delegate`, fed one summary per window of samples instead of every sample (Netflix's
 * `WindowedLimit`). Its `name` and `limit` are the delegate's. `gradient2` and `vegas` are built
 * windowed already (their `window` option); use this for an algorithm of your own.
 * `prefix` names the options in errors (default `window`).
 */
export function windowedLimit(
  delegate: ConcurrencyLimit,
  options?: WindowOptions,
  prefix = 'window',
): ConcurrencyLimit {
  const o = objectOption<WindowOptions>(prefix, options, WINDOW_OPTION_KEYS);
  const minWindowMs = positiveNumber(
    `${prefix}.minWindowMs`,
    o.minWindowMs,
    WINDOWED_LIMIT_DEFAULTS.minWindowMs,
  );
  if (minWindowMs < SHORTEST_WINDOW_MS) {
    throw new ConfigError(
      `${prefix}.minWindowMs`,
      minWindowMs,
      `expected a finite number >= ${SHORTEST_WINDOW_MS}`,
    );
  }
  const maxWindowMs = positiveNumber(
    `${prefix}.maxWindowMs`,
    o.maxWindowMs,
    Math.max(WINDOWED_LIMIT_DEFAULTS.maxWindowMs, minWindowMs),
  );
  if (maxWindowMs < minWindowMs) {
    throw new ConfigError(
      `${prefix}.maxWindowMs`,
      maxWindowMs,
      `expected at least ${prefix}.minWindowMs (${minWindowMs})`,
    );
  }
  const minSamples = integerAtLeast(
    `${prefix}.minSamples`,
    o.minSamples,
    10,
    WINDOWED_LIMIT_DEFAULTS.minSamples,
  );
  const discardRttBelowMs = o.discardRttBelowMs ?? WINDOWED_LIMIT_DEFAULTS.discardRttBelowMs;
  if (typeof discardRttBelowMs !== 'number' || !Number.isFinite(discardRttBelowMs) || discardRttBelowMs < 0) {
    throw new ConfigError(`${prefix}.discardRttBelowMs`, discardRttBelowMs, 'expected a finite number >= 0');
  }
  if (typeof delegate !== 'object' || delegate === null || typeof delegate.update !== 'function') {
    throw new ConfigError(prefix, delegate, 'expected a ConcurrencyLimit to window');
  }
  return new WindowedLimit(delegate, minWindowMs, maxWindowMs, minSamples, discardRttBelowMs);
}

/**
 * The `window` option of an algorithm: `false` for per-sample updates, an object (or undefined,
 * when `windowedByDefault`) for {@link windowedLimit} with those options.
 */
export function withWindowOption(
  prefix: string,
  limit: ConcurrencyLimit,
  window: WindowOptions | false | undefined,
  windowedByDefault: boolean,
): ConcurrencyLimit {
  if (window === false) return limit;
  if (window === undefined) return windowedByDefault ? windowedLimit(limit, undefined, prefix) : limit;
  return windowedLimit(limit, window, prefix);
}

class WindowedLimit implements ConcurrencyLimit {
  readonly #delegate: ConcurrencyLimit;
  readonly #minWindowMs: number;
  readonly #maxWindowMs: number;
  readonly #minSamples: number;
  readonly #discardRttBelowMs: number;
  /** When the open window ends: the first sample closes the (empty) first window. */
  #endMs = Number.NEGATIVE_INFINITY;
  // The open window: count, sum and smallest of its RTTs, largest in-flight count, any drop.
  #count = 0;
  #sumRttMs = 0;
  #minRttMs = Number.POSITIVE_INFINITY;
  #maxInflight = 0;
  #dropped = false;

  constructor(
    delegate: ConcurrencyLimit,
    minWindowMs: number,
    maxWindowMs: number,
    minSamples: number,
    discardRttBelowMs: number,
  ) {
    this.#delegate = delegate;
    this.#minWindowMs = minWindowMs;
    this.#maxWindowMs = maxWindowMs;
    this.#minSamples = minSamples;
    this.#discardRttBelowMs = discardRttBelowMs;
  }

  get name(): string {
    return this.#delegate.name;
  }

  get limit(): number {
    return this.#delegate.limit;
  }

  update(sample: LimitSample): void {
    if (!(sample.rttMs >= this.#discardRttBelowMs)) return;
    this.#count++;
    this.#sumRttMs += sample.rttMs;
    if (sample.rttMs < this.#minRttMs) this.#minRttMs = sample.rttMs;
    if (sample.inflight > this.#maxInflight) this.#maxInflight = sample.inflight;
    if (sample.dropped) this.#dropped = true;
    const endMs = sample.startMs + sample.rttMs;
    if (endMs <= this.#endMs) return;

    const count = this.#count;
    const summary: LimitSample = {
      startMs: sample.startMs,
      rttMs: this.#sumRttMs / count,
      inflight: this.#maxInflight,
      dropped: this.#dropped,
    };
    this.#endMs = endMs + Math.min(Math.max(2 * this.#minRttMs, this.#minWindowMs), this.#maxWindowMs);
    this.#count = 0;
    this.#sumRttMs = 0;
    this.#minRttMs = Number.POSITIVE_INFINITY;
    this.#maxInflight = 0;
    this.#dropped = false;
    if (count >= this.#minSamples) this.#delegate.update(summary);
  }
}
