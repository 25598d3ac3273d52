/**
 * A window of the most recent latencies (a ring of fixed size), sorted again only every
 * `size / 10` new samples, so that a quantile, or any figure derived from the sorted samples
 * ({@link derived}), costs O(1) to read on every call. Used by hedging to find the latency past
 * which a call is in its tail.
 */

export class LatencyWindow {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;
  #sinceSort = 0;
  #sorted: Float64Array | undefined;
  #derived = Number.NaN;

  constructor(size: number) {
    this.#samples = new Float64Array(size);
  }

  /** Samples held (at most the window size). */
  get count(): number {
    return this.#count;
  }

  record(latencyMs: number): void {
    this.#samples[this.#next] = latencyMs;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
    this.#sinceSort++;
  }

  /** The q-quantile (0..1, nearest rank) of the samples held. NaN when empty. */
  quantile(q: number): number {
    if (this.#count === 0) return Number.NaN;
    return quantileOf(this.#sortedNow(), q);
  }

  /**
   * `compute` of the samples in ascending order, computed again only when they are sorted again
   * (every `size / 10` samples): pass the same `compute` on every read. NaN when empty.
   */
  derived(compute: (sorted: Float64Array) => number): number {
    if (this.#count === 0) return Number.NaN;
    const before = this.#sorted;
    const sorted = this.#sortedNow();
    if (sorted !== before || Number.isNaN(this.#derived)) this.#derived = compute(sorted);
    return this.#derived;
  }

  #sortedNow(): Float64Array {
    if (this.#sorted === undefined || this.#sinceSort > this.#samples.length / 10) {
      this.#sorted = this.#samples.slice(0, this.#count).sort();
      this.#sinceSort = 0;
    }
    return this.#sorted;
  }
}

/** The q-quantile (0..1, nearest rank) of samples in ascending order. */
export function quantileOf(sorted: Float64Array, q: number): number {
  return sorted[rankOf(sorted.length, q)]!;
}

/** The index of the q-quantile (nearest rank) among `n` samples in ascending order. */
function rankOf(n: number, q: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
}
