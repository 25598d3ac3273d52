/**
 * The benchmarks run (tiny sizes): they start their backend process, measure every contender,
 * report the figures `npm run bench` prints, and stop the backend. No speed is asserted here.
 */
import { describe, expect, it } from 'vitest';
import { breakdown } from './scenarios/breakdown.js';
import { overhead } from './scenarios/overhead.js';

describe('benchmarks', () => {
  it('overhead reports weft vs raw undici throughput and CPU', async () => {
    const r = await overhead({ requests: 200, concurrency: 4, rounds: 2 });
    expect(r.scenario).toBe('overhead');
    expect(r.rawRps).toBeGreaterThan(0);
    expect(r.weftRps).toBeGreaterThan(0);
    expect(r.throughputRatio).toBeGreaterThan(0);
    expect(r.perRoundRatios).toHaveLength(2);
    expect(r.weftCpuUsPerRequest).toBeGreaterThan(0);
  });

  it('breakdown reports every variant against raw undici', async () => {
    const r = await breakdown({ requests: 100, concurrency: 4, rounds: 1 });
    expect(r.variants.map((v) => v.name)).toContain('weft default');
    expect(r.variants.find((v) => v.name === 'raw undici')?.deltaUs).toBe(0);
    for (const v of r.variants) expect(v.cpuUsPerRequest).toBeGreaterThan(0);
  });
});
