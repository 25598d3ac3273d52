/**
 * The success rate of one endpoint's recent attempts, as the admin page and `client.endpoints()`
 * show it: attempts and successes over a rolling window (30 s) of one-second buckets
 * (../core/rolling-counts.ts), so that noting an attempt is an increment or two and allocates
 * nothing. Sliding one bucket at a time, the window covers between 29 and 30 s.
 *
 * 30 s is weft's choice: long enough that a handful of calls gives a rate, short enough that an
 * endpoint going bad shows within seconds on a page that refreshes every second. The balancer
 * notes each attempt as its classifier judged it (a 503 fails, a 404 does not); attempts judged
 * `ignorable` (the caller's own abort, a hedge's losing copy) say nothing of the endpoint and are
 * not counted.
 */

import { RollingCounts } from '../core/rolling-counts.js';

/** The window's length, in ms. */
export const SUCCESS_WINDOW_MS = 30_000;
const BUCKET_MS = 1_000;
const ATTEMPTS = 0;
const SUCCESSES = 1;

/** Attempts and successes within the window. */
export interface SuccessCounts {
  readonly attempts: number;
  readonly successes: number;
}

export class SuccessWindow {
  readonly #counts = new RollingCounts(2, SUCCESS_WINDOW_MS / BUCKET_MS, BUCKET_MS);

  /** An attempt ended at `now`, and succeeded or not. */
  record(now: number, ok: boolean): void {
    this.#counts.add(now, ATTEMPTS);
    if (ok) this.#counts.add(now, SUCCESSES);
  }

  /** The counts within the window that ends at `now`. */
  counts(now: number): SuccessCounts {
    const counts = this.#counts;
    counts.advance(now);
    return { attempts: counts.total(ATTEMPTS), successes: counts.total(SUCCESSES) };
  }

  /** Successes ÷ attempts within the window at `now`; NaN when there were none. */
  rate(now: number): number {
    const { attempts, successes } = this.counts(now);
    return attempts === 0 ? Number.NaN : successes / attempts;
  }
}
