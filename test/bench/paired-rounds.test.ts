/**
 * The figures of the closed-loop overhead scenarios' paired rounds (scenarios/paired-rounds.ts):
 * medians over rounds of ratios taken within a round, the interquartile range, and how rounds are
 * shared between fresh pairs of processes.
 */
import { describe, expect, it } from 'vitest';
import { type PairedRound, roundsOfPair, summarizePaired } from './scenarios/paired-rounds.js';

const round = (rawRps: number, rps: number, rawCpu = 10, cpu = 10): PairedRound => ({
  rawRps,
  rawCpu,
  rps,
  cpu,
  failed: 0,
});

describe('summarizePaired', () => {
  it('takes each ratio within its round, then the median over rounds', () => {
    // Raw throughput drifts from round to round; the contender keeps 0.9, 0.8 and 1.0 of it.
    const s = summarizePaired([round(1_000, 900), round(2_000, 1_600), round(500, 500)]);
    expect(s.throughputRatio).toBe(0.9);
    // Not the ratio of medians (900 ÷ 1 000): the rounds are paired.
    expect(s.rps).toBe(900);
    expect(s.perRoundRatios).toEqual([0.9, 0.8, 1]);
    expect([s.ratioP25, s.ratioP75]).toEqual([0.8, 1]);
  });

  it('gives CPU as raw CPU ÷ own, so above 1 means cheaper than the raw client', () => {
    const s = summarizePaired([round(1, 1, 100, 125), round(1, 1, 100, 80), round(1, 1, 100, 100)]);
    expect(s.cpuRatio).toBe(1);
    expect(s.cpuUsPerCall).toBe(100);
    expect(summarizePaired([round(1, 1, 100, 125)]).cpuRatio).toBe(0.8);
  });

  it('refuses to summarize no rounds', () => {
    expect(() => summarizePaired([])).toThrow(/no rounds/);
  });
});

describe('roundsOfPair', () => {
  it('shares the rounds evenly, the rest to the first pairs, losing none', () => {
    expect([0, 1].map((p) => roundsOfPair(5, 2, p))).toEqual([3, 2]);
    expect([0, 1].map((p) => roundsOfPair(20, 2, p))).toEqual([10, 10]);
    expect([0, 1, 2].map((p) => roundsOfPair(7, 3, p))).toEqual([3, 2, 2]);
  });
});
