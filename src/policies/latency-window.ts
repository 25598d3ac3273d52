/**
 * Quantiles of latencies held in ascending order (nearest rank), for hedging's delay
 * (./hedge.ts, over the blocks of ./block-quantile.ts).
 */

/** The q-quantile (0..1, nearest rank) of samples in ascending order. */
export function quantileOf(sorted: Float64Array, q: number): number {
  return sorted[rankOf(sorted.length, q)]!;
}

/** The index of the q-quantile (nearest rank) among `n` samples in ascending order. */
function rankOf(n: number, q: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
}
