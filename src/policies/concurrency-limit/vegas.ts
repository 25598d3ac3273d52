/**
 * Vegas, an adaptive concurrency limit after TCP Vegas (Netflix concurrency-limits' `VegasLimit`,
 * commit 78a74b9): estimate the queue from how far the RTT is above the no-load RTT, grow while
 * the queue is short, shrink when it is long or a request is dropped. With L(x) = max(1,
 * floor(log10 x)) (`Log10RootIntFunction`; its comment says square root, its code is log10):
 *
 *   every jitter · probeMultiplier · limit samples (jitter random in [0.5, 1)): rttNoLoad = rtt, stop
 *   if rttNoLoad unset or rtt < rttNoLoad:   rttNoLoad = rtt, stop
 *   queue = ceil(limit · (1 − rttNoLoad / rtt))
 *   dropped                       → new = limit − L(limit)
 *   else inflight · 2 < limit     → unchanged (app-limited)
 *   else queue ≤ L(limit)         → new = limit + 6·L(limit)     (no queue: grow fast)
 *   else queue < 3·L(limit)       → new = limit + L(limit)
 *   else queue > 6·L(limit)       → new = limit − L(limit)
 *   else                          → unchanged
 *   limit = (1 − smoothing) · limit + smoothing · clamp(new, minLimit, maxLimit)
 *
 * (α = 3·L, β = 6·L, threshold = L: below a limit of 100 that is 3, 6, 1 and steps of 1.) The
 * probe re-learns the no-load RTT, which otherwise could only fall. Samples with an RTT of 0 are
 * skipped (Netflix refuses them). The limit is kept as a real number; requests are admitted up
 * to its integer part.
 *
 * Defaults, all `VegasLimit.Builder`'s: initialLimit 20, maxLimit 1 000 (its `maxConcurrency`),
 * smoothing 1, probeMultiplier 30; minLimit 1 is its clamp's floor. Windowed by default
 * (./windowed.ts, 1-second windows of ≥ 10 samples), as weft's server setup. docs/server.md.
 */
import { ConfigError } from '../../core/errors.js';
import {
  functionOption,
  integerAtLeast,
  numberInRange,
  objectOption,
  optionKeys,
} from '../../core/options.js';
import { limitBounds } from './bounds.js';
import type { ConcurrencyLimit, LimitSample } from './limit.js';
import { type WindowOptions, withWindowOption } from './windowed.js';

/** Defaults of {@link vegas}: Netflix concurrency-limits' `VegasLimit` (78a74b9). */
export const VEGAS_DEFAULTS = {
  /** The limit before any sample. */
  initialLimit: 20,
  /** The limit never goes below this (VegasLimit clamps at 1). */
  minLimit: 1,
  /** The limit never goes above this (Netflix's `maxConcurrency`). */
  maxLimit: 1_000,
  /** Weight of the new limit against the current one, in (0, 1]: 1 takes it at once. */
  smoothing: 1,
  /** The no-load RTT is re-probed every jitter × probeMultiplier × limit samples. */
  probeMultiplier: 30,
} as const;

/** The probe's jitter is drawn uniformly from [JITTER_MIN, 1) (`nextDouble(0.5, 1)`). */
const JITTER_MIN = 0.5;

/** Options of {@link vegas}. */
export interface VegasOptions {
  /** The limit before any sample: an integer in [minLimit, maxLimit]. Default 20. */
  initialLimit?: number;
  /** The smallest limit: an integer ≥ 1. Default 1. */
  minLimit?: number;
  /** The largest limit: an integer ≥ minLimit. Default 1 000. */
  maxLimit?: number;
  /** Weight of each new limit, in (0, 1]. Default 1. */
  smoothing?: number;
  /** The no-load RTT is re-probed every jitter × probeMultiplier × limit samples: an integer ≥ 1. Default 30. */
  probeMultiplier?: number;
  /** Uniform random source in [0, 1) for the probe's jitter, for deterministic tests. Default `Math.random`. */
  random?: () => number;
  /**
   * Windowed sampling (./windowed.ts): options for the window, or `false` to update on every
   * sample. Default: 1-second windows of ≥ 10 samples.
   */
  window?: WindowOptions | false;
}

/** The keys of {@link VegasOptions}; any other key throws a ConfigError. */
export const VEGAS_OPTION_KEYS = optionKeys<VegasOptions>({
  initialLimit: true,
  minLimit: true,
  maxLimit: true,
  smoothing: true,
  probeMultiplier: true,
  random: true,
  window: true,
});

/**
 * Netflix's Vegas adaptive concurrency limit, windowed: a delay-based limit that estimates the
 * queue against the smallest RTT seen (re-probed now and then). Invalid options throw a
 * ConfigError naming `limit.<option>`.
 */
export function vegas(options?: VegasOptions): ConcurrencyLimit {
  const o = objectOption<VegasOptions>('limit', options, VEGAS_OPTION_KEYS);
  const bounds = limitBounds('limit', o, VEGAS_DEFAULTS);
  const smoothing = numberInRange('limit.smoothing', o.smoothing, 0, 1, VEGAS_DEFAULTS.smoothing);
  if (smoothing === 0) throw new ConfigError('limit.smoothing', smoothing, 'expected a number > 0 and <= 1');
  const probeMultiplier = integerAtLeast(
    'limit.probeMultiplier',
    o.probeMultiplier,
    1,
    VEGAS_DEFAULTS.probeMultiplier,
  );
  const random = functionOption<() => number>('limit.random', o.random, Math.random);
  const limit = new VegasLimit(
    bounds.initialLimit,
    bounds.minLimit,
    bounds.maxLimit,
    smoothing,
    probeMultiplier,
    random,
  );
  return withWindowOption('limit.window', limit, o.window, true);
}

/** L(x) = max(1, floor(log10 x)): Netflix's `Log10RootIntFunction`. */
export function log10Step(x: number): number {
  return x < 10 ? 1 : Math.max(1, Math.floor(Math.log10(x)));
}

/** The Vegas algorithm itself, per sample; {@link vegas} builds and windows it. */
export class VegasLimit implements ConcurrencyLimit {
  readonly name = 'vegas';
  #estimated: number;
  #rttNoLoadMs = 0;
  #probeCount = 0;
  #probeJitter: number;

  constructor(
    initialLimit: number,
    readonly minLimit: number,
    readonly maxLimit: number,
    readonly smoothing: number,
    readonly probeMultiplier: number,
    readonly random: () => number,
  ) {
    this.#estimated = initialLimit;
    this.#probeJitter = this.#drawJitter();
  }

  /** Requests allowed in flight: the integer part of the estimate. */
  get limit(): number {
    return Math.floor(this.#estimated);
  }

  /** The estimate, a real number (for tests and the admin page). */
  get estimatedLimit(): number {
    return this.#estimated;
  }

  /** The no-load RTT, in ms (0 before the first sample). */
  get rttNoLoadMs(): number {
    return this.#rttNoLoadMs;
  }

  update(sample: LimitSample): void {
    const rtt = sample.rttMs;
    if (!(rtt > 0)) return;
    this.#probeCount++;
    if (this.#probeJitter * this.probeMultiplier * this.#estimated <= this.#probeCount) {
      this.#probeJitter = this.#drawJitter();
      this.#probeCount = 0;
      this.#rttNoLoadMs = rtt;
      return;
    }
    if (this.#rttNoLoadMs === 0 || rtt < this.#rttNoLoadMs) {
      this.#rttNoLoadMs = rtt;
      return;
    }
    const limit = this.#estimated;
    const step = log10Step(Math.floor(limit));
    const queue = Math.ceil(limit * (1 - this.#rttNoLoadMs / rtt));
    let next: number;
    if (sample.dropped) next = limit - step;
    else if (sample.inflight * 2 < limit) return;
    else if (queue <= step) next = limit + 6 * step;
    else if (queue < 3 * step) next = limit + step;
    else if (queue > 6 * step) next = limit - step;
    else return;
    const clamped = Math.max(this.minLimit, Math.min(this.maxLimit, next));
    this.#estimated = (1 - this.smoothing) * limit + this.smoothing * clamped;
  }

  #drawJitter(): number {
    return JITTER_MIN + (1 - JITTER_MIN) * this.random();
  }
}
