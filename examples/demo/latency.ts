// Latency samples of one run and their percentiles (nearest rank). Samples are kept whole:
// a demo run is bounded by its max request count, so memory stays small.

/** Append-only store of latencies, in ms. */
export class LatencyRecorder {
  readonly #samples: number[] = [];
  #sum = 0;

  record(ms: number): void {
    this.#samples.push(ms);
    this.#sum += ms;
  }

  /** Mean in ms (NaN with no samples). */
  mean(): number {
    return this.#samples.length === 0 ? Number.NaN : this.#sum / this.#samples.length;
  }

  get count(): number {
    return this.#samples.length;
  }

  /** p50, p99 and p99.9 in ms (NaN with no samples). */
  percentiles(): LatencyPercentiles {
    const sorted = [...this.#samples].sort((a, b) => a - b);
    return { p50: nearestRank(sorted, 50), p99: nearestRank(sorted, 99), p999: nearestRank(sorted, 99.9) };
  }
}

export interface LatencyPercentiles {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

/** The p-th percentile of already sorted values, nearest rank. */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
