/**
 * The success rate of one endpoint's recent attempts, as the admin page and `client.endpoints()`
 * show it: attempts and successes over a rolling window (30 s) kept in one-second buckets, so
 * that noting an attempt is an increment or two and allocates nothing, and reading sums the
 * buckets. Sliding one bucket at a time, the window covers between 29 and 30 s.
 *
 * 30 s is weft's choice: long enough that a handful of calls gives a rate, short enough that an
 * endpoint going bad shows within seconds on a page that refreshes every second. The balancer
 * notes each attempt as its classifier judged it (a 503 fails, a 404 does not); attempts judged
 * `ignorable` (the caller's own abort, a hedge's losing copy) say nothing of the endpoint and are
 * not counted.
 */

/** The window's length, in ms. */
export const SUCCESS_WINDOW_MS = 30_000;
const BUCKET_MS = 1_000;
const BUCKETS = SUCCESS_WINDOW_MS / BUCKET_MS;

/** Attempts and successes within the window. */
export interface SuccessCounts {
  readonly attempts: number;
  readonly successes: number;
}

export class SuccessWindow {
  readonly #attempts = new Float64Array(BUCKETS);
  readonly #successes = new Float64Array(BUCKETS);
  /** The second (clock ms ÷ 1000, rounded down) the newest bucket counts. */
  #second = Number.NEGATIVE_INFINITY;
  /** Where the newest bucket is in the arrays. */
  #newest = 0;

  /** An attempt ended at `now`, and succeeded or not. */
  record(now: number, ok: boolean): void {
    const second = Math.floor(now / BUCKET_MS);
    if (second !== this.#second) this.#advance(second);
    this.#attempts[this.#newest]! += 1;
    if (ok) this.#successes[this.#newest]! += 1;
  }

  /** The counts within the window that ends at `now`. */
  counts(now: number): SuccessCounts {
    // Seconds since the newest bucket: that many of the oldest buckets have left the window. (A
    // reading a little older than the newest bucket counts them all.)
    const age = Math.floor(now / BUCKET_MS) - this.#second;
    const live = age > 0 ? BUCKETS - age : BUCKETS;
    let attempts = 0;
    let successes = 0;
    for (let back = 0; back < live; back++) {
      const i = (this.#newest - back + BUCKETS) % BUCKETS;
      attempts += this.#attempts[i]!;
      successes += this.#successes[i]!;
    }
    return { attempts, successes };
  }

  /** Successes ÷ attempts within the window at `now`; NaN when there were none. */
  rate(now: number): number {
    const { attempts, successes } = this.counts(now);
    return attempts === 0 ? Number.NaN : successes / attempts;
  }

  /** Move the newest bucket on to `second`, emptying the buckets in between (at most all of them). */
  #advance(second: number): void {
    if (second < this.#second) return; // an older reading: count it in the newest bucket
    const steps = Math.min(second - this.#second, BUCKETS);
    for (let s = 0; s < steps; s++) {
      this.#newest = (this.#newest + 1) % BUCKETS;
      this.#attempts[this.#newest] = 0;
      this.#successes[this.#newest] = 0;
    }
    this.#second = second;
  }
}
