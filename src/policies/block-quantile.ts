/**
 * A figure of recent latencies (hedging's delay: a high quantile) that one burst cannot move.
 * The samples are cut into blocks of `blockSize` (500); each full block is sorted once and reduced
 * to one figure (`compute`, given the block in ascending order); the estimate is the upper quartile
 * of the last `blocks` (9) figures, the 7th of 9. Until the first block is full, the figure of the
 * samples so far.
 *
 * Why blocks, not one window: a stall of the client (GC, a busy loop, a descheduled process)
 * delays every call in flight at once. At 2 000 calls/s a 30 ms stall puts some 60 calls past
 * the p98; in a window of the last 1 000 samples that is 6%, so the p98 jumped to the stall's
 * latency for the half second those samples stayed, and hedging fired inside the tail, or not at
 * all, for that half second (measured in `heavy-tail`: the delay above 14 ms a tenth of the time,
 * above 60 ms a hundredth). A stall lands in one or two blocks; the 7th of nine ignores the two
 * worst. Not the median: when noise lasts (a third of the blocks or more), the delay must follow
 * it, or every noisy call wants a backup and the budget runs dry (measured: with the median, 7%
 * of calls wanted one and 40% of those were refused; with the upper quartile, 3% and 10%).
 * Order statistics of per-block estimates are a standard robust construction (as in "median of
 * means"); the sizes are weft's choice: 500 samples hold 10 past a p98, and nine blocks are 4.5 s
 * at 1 000 calls/s.
 * Cost: O(1) per sample, plus one sort of 500 samples per 500 samples and a median of nine.
 */
import { quantileOf } from './latency-window.js';

/** Samples per block (weft's choice). */
export const BLOCK_SIZE = 500;
/** Blocks whose figures the median is taken over (weft's choice). */
export const BLOCKS = 9;
/** Until the first block is full, the figure is recomputed at most every this many samples. */
const PARTIAL_EVERY = 50;

export class BlockQuantile {
  readonly #compute: (sorted: Float64Array) => number;
  readonly #block: Float64Array;
  #filled = 0;
  readonly #figures: Float64Array;
  #figureCount = 0;
  #nextFigure = 0;
  readonly #scratch: Float64Array;
  #value = Number.NaN;
  #partialAt = 0;
  #count = 0;

  constructor(compute: (sorted: Float64Array) => number, blockSize = BLOCK_SIZE, blocks = BLOCKS) {
    this.#compute = compute;
    this.#block = new Float64Array(blockSize);
    this.#figures = new Float64Array(blocks);
    this.#scratch = new Float64Array(blocks);
  }

  /** Samples recorded so far (not capped: a count of what the estimate has seen). */
  get count(): number {
    return this.#count;
  }

  record(latencyMs: number): void {
    this.#count++;
    this.#block[this.#filled++] = latencyMs;
    if (this.#filled < this.#block.length) return;
    this.#block.sort();
    this.#figures[this.#nextFigure] = this.#compute(this.#block);
    this.#nextFigure = (this.#nextFigure + 1) % this.#figures.length;
    if (this.#figureCount < this.#figures.length) this.#figureCount++;
    this.#filled = 0;
    this.#value = this.#upperQuartile();
  }

  /** The upper quartile of the last blocks' figures; before the first block is full, the figure of the samples so far. NaN when empty. */
  get value(): number {
    if (this.#figureCount === 0) {
      const filled = this.#filled;
      if (filled === 0) return Number.NaN;
      if (Number.isNaN(this.#value) || filled - this.#partialAt >= PARTIAL_EVERY) {
        this.#partialAt = filled;
        this.#value = this.#compute(this.#block.slice(0, filled).sort());
      }
    }
    return this.#value;
  }

  #upperQuartile(): number {
    const n = this.#figureCount;
    const sorted = this.#scratch.subarray(0, n);
    sorted.set(this.#figures.subarray(0, n));
    sorted.sort();
    return quantileOf(sorted, 0.75);
  }
}
