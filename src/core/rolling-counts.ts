/**
 * Rolling counts: a few counters summed over a window of time that slides, kept in a ring of
 * buckets, after Finagle util's `WindowedAdder` (with several counters per bucket, so that
 * "requests and successes" move together). The window is the newest bucket and the `buckets - 1`
 * before it, so a count is forgotten between `(buckets - 1) × bucketMs` and `buckets × bucketMs`
 * after it was made. Used by failure accrual's success rate, the balancer's per-endpoint success
 * rate, adaptive throttling's requests and accepts, and the retry budget's deposits and withdrawals.
 *
 * The clock is the caller's: every method takes a reading (`now`, ms), none reads a clock or sets
 * a timer. Adding is O(1) and allocates nothing; moving on after an idle gap empties each bucket
 * at most once, however long the gap; the totals are kept as the buckets change, so reading one
 * is a field load. A reading older than the newest bucket (a stamp taken before another caller's
 * later one) moves nothing: it counts in, and reads, the newest bucket.
 */
export class RollingCounts {
  readonly #counters: number;
  readonly #buckets: number;
  readonly #bucketMs: number;
  /** Bucket `slot`'s count of counter `c` is at `slot * counters + c`. */
  readonly #cells: Float64Array;
  readonly #totals: Float64Array;
  /** The newest bucket's number, `floor(now / bucketMs)`; −∞ before the first reading. */
  #newest = Number.NEGATIVE_INFINITY;

  /**
   * @param counters how many counters each bucket holds (they are numbered from 0).
   * @param buckets how many buckets the window spans.
   * @param bucketMs how long each bucket lasts, in ms: the step the window slides by.
   */
  constructor(counters: number, buckets: number, bucketMs: number) {
    this.#counters = counters;
    this.#buckets = buckets;
    this.#bucketMs = bucketMs;
    this.#cells = new Float64Array(counters * buckets);
    this.#totals = new Float64Array(counters);
  }

  /** Add `amount` to `counter` at `now` (in the newest bucket when `now` is older than it). */
  add(now: number, counter: number, amount = 1): void {
    this.advance(now);
    this.#cells[this.#slot(this.#newest) * this.#counters + counter]! += amount;
    this.#totals[counter]! += amount;
  }

  /** Slide the window on to `now`, emptying the buckets it leaves. Earlier readings change nothing. */
  advance(now: number): void {
    const bucket = Math.floor(now / this.#bucketMs);
    const steps = bucket - this.#newest;
    if (!(steps > 0)) return;
    const cells = this.#cells;
    const totals = this.#totals;
    const counters = this.#counters;
    if (steps >= this.#buckets) {
      cells.fill(0);
      totals.fill(0);
    } else {
      for (let s = 1; s <= steps; s++) {
        const base = this.#slot(this.#newest + s) * counters;
        for (let c = 0; c < counters; c++) {
          totals[c]! -= cells[base + c]!;
          cells[base + c] = 0;
        }
      }
    }
    this.#newest = bucket;
  }

  /**
   * `counter`'s sum over the window as of the latest reading given to {@link add} or
   * {@link advance}: call `advance(now)` first to read it at `now`.
   */
  total(counter: number): number {
    return this.#totals[counter]!;
  }

  /** Forget every count; the window stays where it is. */
  reset(): void {
    this.#cells.fill(0);
    this.#totals.fill(0);
  }

  #slot(bucket: number): number {
    const i = bucket % this.#buckets;
    return i < 0 ? i + this.#buckets : i;
  }
}
