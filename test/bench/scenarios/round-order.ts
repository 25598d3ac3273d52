/**
 * The order in which a round measures several services back to back, for `server-overhead`
 * (./server-overhead.ts), which measures three per framework: bare, `AsyncLocalStorage.run` only,
 * and weft's server half. Over any 2n consecutive rounds of n services, the first n orders are the
 * rotations of the list and the next n the same rotations reversed, so each service goes first
 * (and last) equally often and each pair runs in either order equally often: a drift in machine
 * load, or a cost of going first or second, hits every service alike. With two services it
 * alternates, as ./paired-rounds.ts does (`a b`, `b a`, `b a`, `a b`: each order twice in four).
 */

/** The order in which round number `round` (from 0, counted across sets) measures `items`. */
export function orderOfRound<T>(items: readonly T[], round: number): T[] {
  if (!Number.isInteger(round) || round < 0) {
    throw new Error(`orderOfRound: round must be a whole number, at least 0 (got ${round})`);
  }
  const n = items.length;
  if (n === 0) return [];
  const phase = round % (2 * n);
  const shift = phase % n;
  const rotated = [...items.slice(shift), ...items.slice(0, shift)];
  return phase < n ? rotated : rotated.reverse();
}
