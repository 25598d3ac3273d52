/**
 * BlockQuantile (src/policies/block-quantile.ts): the upper quartile (7th of 9) of per-block
 * figures, so that a burst of slow samples inside one block does not move the estimate, while
 * noise that lasts does once it fills three blocks; before the first block is full, the figure of
 * the samples so far.
 */
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, BLOCKS, BlockQuantile } from '../../src/policies/block-quantile.js';
import { quantileOf } from '../../src/policies/latency-window.js';

const p98 = (sorted: Float64Array) => quantileOf(sorted, 0.98);

/** Record `n` samples spread evenly over [from, to). */
function spread(b: BlockQuantile, n: number, from: number, to: number) {
  for (let i = 0; i < n; i++) b.record(from + ((to - from) * (i % 100)) / 100);
}

describe('BlockQuantile', () => {
  it('is NaN when empty, then the figure of the samples so far until a block is full', () => {
    const b = new BlockQuantile(p98);
    expect(b.value).toBeNaN();
    spread(b, 100, 2, 5);
    expect(b.value).toBeCloseTo(4.91, 9);
    expect(b.count).toBe(100);
  });

  it('ignores a burst that fills part of one block (a stall)', () => {
    const b = new BlockQuantile(p98);
    spread(b, BLOCK_SIZE * BLOCKS, 2, 5);
    const before = b.value;
    expect(before).toBeCloseTo(4.91, 9);
    for (let i = 0; i < 200; i++) b.record(30); // 200 calls delayed by one stall
    spread(b, BLOCK_SIZE * 2, 2, 5);
    expect(b.value).toBe(before);
  });

  it('follows a lasting change once it fills three of the nine blocks', () => {
    const b = new BlockQuantile(p98);
    spread(b, BLOCK_SIZE * BLOCKS, 2, 5);
    spread(b, BLOCK_SIZE * 2, 12, 15);
    expect(b.value).toBeLessThan(5);
    spread(b, BLOCK_SIZE, 12, 15); // three of the nine blocks now
    expect(b.value).toBeCloseTo(14.91, 9);
  });
});
