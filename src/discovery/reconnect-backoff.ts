/**
 * The delay before a discovery source asks its server again after a failure (a refused
 * connection, a broken watch, an unreadable file): "full jitter" exponential backoff (AWS
 * Architecture Blog, "Exponential Backoff and Jitter", 2015), a uniform draw in
 * [0, min(cap, base × 2^failures)], never below `floorMs` so a source does not spin. Every source
 * uses it so that many clients that lose the same server do not come back in step. Defaults:
 * 500 ms doubling to 30 s (grpc-js reconnects 1 s → 120 s per gRFC A6's connection backoff;
 * Kubernetes client-go's reflector backs off 800 ms → 30 s; weft takes client-go's cap).
 */
import { functionOption, positiveNumber, upperBound } from '../core/options.js';

/** First backoff ceiling after a failure (ms). */
export const DEFAULT_RECONNECT_BASE_MS = 500;
/** Largest backoff ceiling (ms). */
export const DEFAULT_RECONNECT_MAX_MS = 30_000;
/** Shortest delay ever drawn (ms). */
export const DEFAULT_RECONNECT_FLOOR_MS = 50;

/** Options of {@link ReconnectBackoff}. */
export interface ReconnectBackoffOptions {
  /** The first ceiling, doubled per consecutive failure; default 500 ms. */
  readonly baseMs?: number;
  /** The largest ceiling; default 30 000 ms. */
  readonly maxMs?: number;
  /** Source of randomness in [0, 1); default Math.random (tests pass their own). */
  readonly random?: () => number;
}

/**
 * Consecutive-failure backoff for one source. `next()` after each failure gives the delay to
 * wait; `reset()` after a success starts over.
 */
export class ReconnectBackoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #failures = 0;

  /** `option` names the options in errors, e.g. `etcd.reconnect`. */
  constructor(options: ReconnectBackoffOptions = {}, option = 'reconnect') {
    this.#baseMs = positiveNumber(`${option}.baseMs`, options.baseMs, DEFAULT_RECONNECT_BASE_MS);
    this.#maxMs = upperBound(
      `${option}.maxMs`,
      options.maxMs,
      DEFAULT_RECONNECT_MAX_MS,
      this.#baseMs,
      `${option}.baseMs`,
    );
    this.#random = functionOption(`${option}.random`, options.random, Math.random);
  }

  /** Consecutive failures since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** The delay (ms) before the next try, and count one more failure. */
  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#baseMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    return Math.max(Math.min(DEFAULT_RECONNECT_FLOOR_MS, ceiling), this.#random() * ceiling);
  }

  /** The source succeeded: the next failure starts from the base again. */
  reset(): void {
    this.#failures = 0;
  }
}
