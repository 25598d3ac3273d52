/**
 * A window of the most recent latencies (a ring of fixed size) with a quantile that is
 * recomputed only every `size / 10` new samples, so reading it on every call costs O(1).
 * Used by hedging to find the latency past which a call is in its tail.
 */

export class LatencyWindow {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;
  #sinceSort = 0;
  #sorted: Float64Array | undefined;

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
    if (this.#sorted === undefined || this.#sinceSort > this.#samples.length / 10) {
      this.#sorted = this.#samples.slice(0, this.#count).sort();
      this.#sinceSort = 0;
    }
    const sorted = this.#sorted;
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
    return sorted[rank]!;
  }
}
