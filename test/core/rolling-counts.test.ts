/**
 * The one windowed counter (src/core/rolling-counts.ts), on plain numbers for clock readings: the
 * window's span, idle gaps of any length, readings older than the newest bucket, several counters
 * moving together, and reset. Failure accrual, the balancer's success rate, adaptive throttling
 * and the retry budget rely on these rules; their own tests check what they build on them.
 */
import { describe, expect, it } from 'vitest';
import { RollingCounts } from '../../src/core/rolling-counts.js';

const A = 0;
const B = 1;

function totals(counts: RollingCounts): [number, number] {
  return [counts.total(A), counts.total(B)];
}

describe('RollingCounts', () => {
  it('counts nothing before the first reading', () => {
    const counts = new RollingCounts(2, 10, 1_000);
    counts.advance(5_000);
    expect(totals(counts)).toEqual([0, 0]);
  });

  it('sums each counter over the newest bucket and the ones before it', () => {
    const counts = new RollingCounts(2, 10, 1_000);
    counts.add(100, A);
    counts.add(100, B, 3);
    counts.add(2_500, A, 2);
    counts.add(9_999, A);
    expect(totals(counts)).toEqual([4, 3]);
  });

  it('forgets a count when its bucket leaves the window: buckets × bucketMs after the bucket began', () => {
    const counts = new RollingCounts(2, 10, 1_000);
    counts.add(0, A);
    counts.add(999, B);
    counts.add(5_500, A);
    counts.advance(9_999);
    expect(totals(counts)).toEqual([2, 1]);
    counts.advance(10_000); // bucket 0 (0 to 999 ms) leaves
    expect(totals(counts)).toEqual([1, 0]);
    counts.advance(14_999);
    expect(totals(counts)).toEqual([1, 0]);
    counts.advance(15_000);
    expect(totals(counts)).toEqual([0, 0]);
  });

  it('empties the buckets it passes over after an idle gap, partly or wholly', () => {
    const counts = new RollingCounts(1, 30, 1_000);
    for (let t = 0; t < 30_000; t += 1_000) counts.add(t, A);
    counts.add(45_000, A); // 16 buckets on: the oldest 16 leave
    expect(counts.total(A)).toBe(15);
    counts.add(10_000_000, A); // far longer than the window: all of it leaves, once
    expect(counts.total(A)).toBe(1);
  });

  it('counts a reading older than the newest bucket in the newest bucket, and does not move back', () => {
    const counts = new RollingCounts(1, 10, 1_000);
    counts.add(5_200, A);
    counts.add(4_900, A); // late: counts in bucket 5, not 4
    counts.advance(3_000);
    expect(counts.total(A)).toBe(2);
    counts.advance(14_999);
    expect(counts.total(A)).toBe(2); // a count in bucket 4 would have left at 14 000
    counts.advance(15_000);
    expect(counts.total(A)).toBe(0);
  });

  it('takes buckets of a fraction of a millisecond, and readings below zero', () => {
    const counts = new RollingCounts(1, 30, 1_000 / 30);
    counts.add(-50, A);
    counts.add(0, A);
    counts.advance(949); // bucket 28: −50 ms is in bucket −2, now out of the window
    expect(counts.total(A)).toBe(1);
    counts.advance(1_010); // bucket 30 (1 000 ms itself is bucket 29.99…: floating point)
    expect(counts.total(A)).toBe(0);
  });

  it('reset forgets every count and keeps the window where it is', () => {
    const counts = new RollingCounts(2, 10, 1_000);
    counts.add(3_000, A);
    counts.add(3_000, B);
    counts.reset();
    expect(totals(counts)).toEqual([0, 0]);
    counts.add(2_000, A); // still older than the newest bucket (3)
    counts.advance(12_999);
    expect(totals(counts)).toEqual([1, 0]);
    counts.advance(13_000);
    expect(totals(counts)).toEqual([0, 0]);
  });
});
