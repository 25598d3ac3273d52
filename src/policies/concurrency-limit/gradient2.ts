/**
 * Gradient2, weft's default adaptive concurrency limit (Netflix concurrency-limits'
 * `Gradient2Limit`, commit 78a74b9): compare a short-term RTT (this window's average) with a
 * long-term one (an exponential average over many windows) and shrink the limit when the short
 * one grows past a tolerance, grow it by a fixed queue allowance while it does not:
 *
 *   longRtt  = mean of the first 10 shortRtts, then longRtt·(1 − f) + shortRtt·f, f = 2/(longWindow+1)
 *   if longRtt / shortRtt > 2:  longRtt ×= 0.95       (latency fell after overload: catch up)
 *   if inflight < limit / 2:    limit unchanged        (app-limited: no evidence either way)
 *   gradient = clamp(rttTolerance · longRtt / shortRtt, 0.5, 1)   (longRtt before the ×0.95)
 *   new      = limit · gradient + queueSize
 *   limit    = clamp(limit · (1 − smoothing) + new · smoothing, minLimit, maxLimit)
 *
 * The limit is kept as a real number; requests are admitted up to its integer part. A drop is not
 * a signal of its own here (Gradient2 ignores `didDrop`): a dropped request's long RTT is.
 * Samples with an RTT of 0 tell nothing about latency and are skipped.
 *
 * Defaults, all `Gradient2Limit.Builder`'s: initialLimit 20, minLimit 20, maxLimit 200 (its
 * `maxConcurrency`), smoothing 0.2, queueSize 4, longWindow 600, rttTolerance 1.5; the 10-sample
 * warm-up is `ExpAvgMeasurement(longWindow, 10)`, and the 2 and 0.95 are constants of `_update`.
 * Windowed by default (./windowed.ts, 1-second windows of ≥ 10 samples): the library's README
 * recommends `WindowedLimit(Gradient2Limit)` for a server. docs/server.md, "Adaptive concurrency".
 */
import { ConfigError } from '../../core/errors.js';
import {
  integerAtLeast,
  numberInRange,
  objectOption,
  optionKeys,
  positiveNumber,
} from '../../core/options.js';
import { limitBounds } from './bounds.js';
import type { ConcurrencyLimit, LimitSample } from './limit.js';
import { type WindowOptions, withWindowOption } from './windowed.js';

/** Defaults of {@link gradient2}: Netflix concurrency-limits' `Gradient2Limit` (78a74b9). */
export const GRADIENT2_DEFAULTS = {
  /** The limit before any sample. */
  initialLimit: 20,
  /** The limit never goes below this. */
  minLimit: 20,
  /** The limit never goes above this (Netflix's `maxConcurrency`). */
  maxLimit: 200,
  /** Weight of the new estimate against the current limit, in (0, 1]. */
  smoothing: 0.2,
  /** Requests the limit grows by, per update, while latency stays within tolerance. */
  queueSize: 4,
  /** Updates (windows) the long-term RTT averages over: its factor is 2 / (longWindow + 1). */
  longWindow: 600,
  /** How much the short-term RTT may exceed the long-term one before the limit shrinks (≥ 1). */
  rttTolerance: 1.5,
} as const;

/** Samples averaged plainly before the long-term RTT becomes an exponential average. */
const LONG_RTT_WARMUP = 10;
/** Above this ratio of long-term to short-term RTT, the long-term RTT is cut (`_update`). */
const RECOVERY_RATIO = 2;
/** The cut: the long-term RTT is multiplied by this. */
const RECOVERY_DECAY = 0.95;
/** The gradient's range: one update's estimate is at least half the limit, and latency alone never raises it. */
const MIN_GRADIENT = 0.5;
const MAX_GRADIENT = 1;

/** Options of {@link gradient2}. */
export interface Gradient2Options {
  /** The limit before any sample: an integer in [minLimit, maxLimit]. Default 20. */
  initialLimit?: number;
  /** The smallest limit: an integer ≥ 1. Default 20. */
  minLimit?: number;
  /** The largest limit: an integer ≥ minLimit. Default 200. */
  maxLimit?: number;
  /** Weight of each new estimate, in (0, 1]: 1 follows it at once. Default 0.2. */
  smoothing?: number;
  /** Growth per update while latency is within tolerance: a number ≥ 0. Default 4. */
  queueSize?: number;
  /** Updates the long-term RTT averages over: an integer ≥ 1. Default 600. */
  longWindow?: number;
  /** Accepted ratio of short-term to long-term RTT: a number ≥ 1. Default 1.5. */
  rttTolerance?: number;
  /**
   * Windowed sampling (./windowed.ts): options for the window, or `false` to update on every
   * sample. Default: 1-second windows of ≥ 10 samples.
   */
  window?: WindowOptions | false;
}

/** The keys of {@link Gradient2Options}; any other key throws a ConfigError. */
export const GRADIENT2_OPTION_KEYS = optionKeys<Gradient2Options>({
  initialLimit: true,
  minLimit: true,
  maxLimit: true,
  smoothing: true,
  queueSize: true,
  longWindow: true,
  rttTolerance: true,
  window: true,
});

/**
 * Netflix's Gradient2 adaptive concurrency limit, windowed: weft's default for a server. It
 * follows latency against its own long-term average, so it needs no known "no-load" RTT and never
 * pins the limit low to measure one. Invalid options throw a ConfigError naming `limit.<option>`.
 */
export function gradient2(options?: Gradient2Options): ConcurrencyLimit {
  const o = objectOption<Gradient2Options>('limit', options, GRADIENT2_OPTION_KEYS);
  const bounds = limitBounds('limit', o, GRADIENT2_DEFAULTS);
  const smoothing = numberInRange('limit.smoothing', o.smoothing, 0, 1, GRADIENT2_DEFAULTS.smoothing);
  if (smoothing === 0) throw new ConfigError('limit.smoothing', smoothing, 'expected a number > 0 and <= 1');
  const queueSize = o.queueSize ?? GRADIENT2_DEFAULTS.queueSize;
  if (typeof queueSize !== 'number' || !Number.isFinite(queueSize) || queueSize < 0) {
    throw new ConfigError('limit.queueSize', queueSize, 'expected a finite number >= 0');
  }
  const longWindow = integerAtLeast('limit.longWindow', o.longWindow, 1, GRADIENT2_DEFAULTS.longWindow);
  const rttTolerance = positiveNumber('limit.rttTolerance', o.rttTolerance, GRADIENT2_DEFAULTS.rttTolerance);
  if (rttTolerance < 1)
    throw new ConfigError('limit.rttTolerance', rttTolerance, 'expected a finite number >= 1');
  const limit = new Gradient2Limit(
    bounds.initialLimit,
    bounds.minLimit,
    bounds.maxLimit,
    smoothing,
    queueSize,
    longWindow,
    rttTolerance,
  );
  return withWindowOption('limit.window', limit, o.window, true);
}

/** The Gradient2 algorithm itself, per sample; {@link gradient2} builds and windows it. */
export class Gradient2Limit implements ConcurrencyLimit {
  readonly name = 'gradient2';
  #estimated: number;
  #longRttMs = 0;
  #longRttCount = 0;
  #longRttSum = 0;
  readonly #longRttFactor: number;

  constructor(
    initialLimit: number,
    readonly minLimit: number,
    readonly maxLimit: number,
    readonly smoothing: number,
    readonly queueSize: number,
    longWindow: number,
    readonly rttTolerance: number,
  ) {
    this.#estimated = initialLimit;
    this.#longRttFactor = 2 / (longWindow + 1);
  }

  /** Requests allowed in flight: the integer part of the estimate. */
  get limit(): number {
    return Math.floor(this.#estimated);
  }

  /** The estimate, a real number (for tests and the admin page). */
  get estimatedLimit(): number {
    return this.#estimated;
  }

  /** The long-term RTT, in ms (0 before the first sample). */
  get longRttMs(): number {
    return this.#longRttMs;
  }

  update(sample: LimitSample): void {
    const shortRtt = sample.rttMs;
    if (!(shortRtt > 0)) return;
    const longRtt = this.#addToLongRtt(shortRtt);
    if (longRtt / shortRtt > RECOVERY_RATIO) this.#longRttMs = longRtt * RECOVERY_DECAY;
    const limit = this.#estimated;
    if (sample.inflight < limit / 2) return;
    const gradient = Math.max(MIN_GRADIENT, Math.min(MAX_GRADIENT, (this.rttTolerance * longRtt) / shortRtt));
    const estimate = limit * gradient + this.queueSize;
    const smoothed = limit * (1 - this.smoothing) + estimate * this.smoothing;
    this.#estimated = Math.max(this.minLimit, Math.min(this.maxLimit, smoothed));
  }

  /** Netflix's `ExpAvgMeasurement`: a plain mean during the warm-up, then the exponential average. */
  #addToLongRtt(rttMs: number): number {
    if (this.#longRttCount < LONG_RTT_WARMUP) {
      this.#longRttCount++;
      this.#longRttSum += rttMs;
      this.#longRttMs = this.#longRttSum / this.#longRttCount;
    } else {
      this.#longRttMs = this.#longRttMs * (1 - this.#longRttFactor) + rttMs * this.#longRttFactor;
    }
    return this.#longRttMs;
  }
}
