/**
 * AIMD, a loss-based concurrency limit (Netflix concurrency-limits' `AIMDLimit`, commit 78a74b9):
 * additive increase, multiplicative decrease, as TCP's congestion window. A drop, or a request
 * slower than the timeout, is a loss:
 *
 *   dropped or rtt > timeoutMs      → limit = floor(limit · backoffRatio)
 *   else if inflight · 2 ≥ limit    → limit = limit + 1
 *   else                            → unchanged (app-limited)
 *   limit = clamp(limit, minLimit, maxLimit)
 *
 * Defaults, all `AIMDLimit.Builder`'s: initialLimit 20, minLimit 20, maxLimit 200, backoffRatio
 * 0.9 (it must be in [0.5, 1)), timeout 5 s (`DEFAULT_TIMEOUT`). Per sample by default, as the
 * library uses it (its README suggests AIMD for clients, where every response is a signal); the
 * `window` option windows it. docs/server.md, "Adaptive concurrency".
 */
import { ConfigError } from '../../core/errors.js';
import { objectOption, optionKeys, positiveNumber } from '../../core/options.js';
import { limitBounds } from './bounds.js';
import type { ConcurrencyLimit, LimitSample } from './limit.js';
import { type WindowOptions, withWindowOption } from './windowed.js';

/** Defaults of {@link aimd}: Netflix concurrency-limits' `AIMDLimit` (78a74b9). */
export const AIMD_DEFAULTS = {
  /** The limit before any sample. */
  initialLimit: 20,
  /** The limit never goes below this. */
  minLimit: 20,
  /** The limit never goes above this. */
  maxLimit: 200,
  /** On a loss, the limit is multiplied by this (and rounded down). */
  backoffRatio: 0.9,
  /** A request slower than this, in ms, counts as a loss (`DEFAULT_TIMEOUT`, 5 s). */
  timeoutMs: 5_000,
} as const;

/** The backoff ratio's range, [0.5, 1) (`AIMDLimit.Builder.backoffRatio`'s precondition). */
const MIN_BACKOFF_RATIO = 0.5;

/** Options of {@link aimd}. */
export interface AimdOptions {
  /** The limit before any sample: an integer in [minLimit, maxLimit]. Default 20. */
  initialLimit?: number;
  /** The smallest limit: an integer ≥ 1. Default 20. */
  minLimit?: number;
  /** The largest limit: an integer ≥ minLimit. Default 200. */
  maxLimit?: number;
  /** On a loss the limit is multiplied by this: a number in [0.5, 1). Default 0.9. */
  backoffRatio?: number;
  /** A request slower than this, in ms, counts as a loss: a number > 0. Default 5 000. */
  timeoutMs?: number;
  /**
   * Windowed sampling (./windowed.ts): options for the window (then the window's average RTT is
   * compared with `timeoutMs`, and any drop in it is a loss), or `false`. Default `false`.
   */
  window?: WindowOptions | false;
}

/** The keys of {@link AimdOptions}; any other key throws a ConfigError. */
export const AIMD_OPTION_KEYS = optionKeys<AimdOptions>({
  initialLimit: true,
  minLimit: true,
  maxLimit: true,
  backoffRatio: true,
  timeoutMs: true,
  window: true,
});

/**
 * Netflix's AIMD concurrency limit: grows by one while the server is busy and no request is lost,
 * and backs off by `backoffRatio` on a drop or a request slower than `timeoutMs`. Invalid options
 * throw a ConfigError naming `limit.<option>`.
 */
export function aimd(options?: AimdOptions): ConcurrencyLimit {
  const o = objectOption<AimdOptions>('limit', options, AIMD_OPTION_KEYS);
  const bounds = limitBounds('limit', o, AIMD_DEFAULTS);
  const backoffRatio = o.backoffRatio ?? AIMD_DEFAULTS.backoffRatio;
  if (
    typeof backoffRatio !== 'number' ||
    Number.isNaN(backoffRatio) ||
    backoffRatio < MIN_BACKOFF_RATIO ||
    backoffRatio >= 1
  ) {
    throw new ConfigError('limit.backoffRatio', backoffRatio, 'expected a number >= 0.5 and < 1');
  }
  const timeoutMs = positiveNumber('limit.timeoutMs', o.timeoutMs, AIMD_DEFAULTS.timeoutMs);
  const limit = new AimdLimit(bounds.initialLimit, bounds.minLimit, bounds.maxLimit, backoffRatio, timeoutMs);
  return withWindowOption('limit.window', limit, o.window, false);
}

/** The AIMD algorithm itself, per sample; {@link aimd} builds it. */
export class AimdLimit implements ConcurrencyLimit {
  readonly name = 'aimd';
  #limit: number;

  constructor(
    initialLimit: number,
    readonly minLimit: number,
    readonly maxLimit: number,
    readonly backoffRatio: number,
    readonly timeoutMs: number,
  ) {
    this.#limit = initialLimit;
  }

  /** Requests allowed in flight. */
  get limit(): number {
    return this.#limit;
  }

  update(sample: LimitSample): void {
    let limit = this.#limit;
    if (sample.dropped || sample.rttMs > this.timeoutMs) limit = Math.floor(limit * this.backoffRatio);
    else if (sample.inflight * 2 >= limit) limit += 1;
    this.#limit = Math.max(this.minLimit, Math.min(this.maxLimit, limit));
  }
}
