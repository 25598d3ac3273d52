/**
 * Gradient2 (Netflix `Gradient2Limit`, 78a74b9), rule by rule against values worked out by hand
 * from its formula, with literal constants (20, 0.2, 4, 2/601, 10 warm-up samples, 1.5, 0.5, 2,
 * 0.95), so a wrong constant in the code fails here; then as the limiter uses it: windowed by
 * default, shrinking to minLimit under rising latency and growing back when latency falls.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import {
  Gradient2Limit,
  type Gradient2Options,
  gradient2,
} from '../../../src/policies/concurrency-limit/gradient2.js';
import { SaturatedServer, sample } from './samples.js';

/** Gradient2 updating on every sample (no window), to follow its rule step by step. */
function perSample(options: Gradient2Options = {}): Gradient2Limit {
  const limit = gradient2({ ...options, window: false });
  expect(limit).toBeInstanceOf(Gradient2Limit);
  return limit as Gradient2Limit;
}

/** The long RTT's exponential average after the warm-up: factor 2 / (600 + 1). */
const ema = (long: number, rtt: number) => long * (1 - 2 / 601) + rtt * (2 / 601);

describe('gradient2: the rule', () => {
  it('starts at 20 and, with latency flat, grows by smoothing × queueSize = 0.2 × 4 per update', () => {
    const g = perSample();
    expect(g.name).toBe('gradient2');
    expect(g.limit).toBe(20);
    // gradient = min(1, 1.5 × 10/10) = 1; new = 20 × 1 + 4 = 24; 20 × 0.8 + 24 × 0.2 = 20.8
    g.update(sample(10, 20));
    expect(g.estimatedLimit).toBeCloseTo(20.8, 12);
    expect(g.limit).toBe(20);
    // 20.8 × 0.8 + 24.8 × 0.2 = 21.6
    g.update(sample(10, 20));
    expect(g.estimatedLimit).toBeCloseTo(21.6, 12);
    expect(g.limit).toBe(21);
    g.update(sample(10, 20));
    expect(g.estimatedLimit).toBeCloseTo(22.4, 12);
  });

  it('is app-limited below half the limit: inflight 9 of 20 changes nothing, 10 does', () => {
    const g = perSample();
    g.update(sample(10, 9));
    expect(g.estimatedLimit).toBe(20);
    g.update(sample(10, 10));
    expect(g.estimatedLimit).toBeCloseTo(20.8, 12);
  });

  it('the long RTT is the plain mean of the first 10 samples, then an EMA with factor 2/601', () => {
    const g = perSample();
    const rtts = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    for (const [i, rtt] of rtts.entries()) {
      g.update(sample(rtt, 1)); // app-limited: only the long RTT moves
      expect(g.longRttMs).toBeCloseTo(5 * (i + 2), 12); // the mean of 10, 20, …, rtt
    }
    expect(g.longRttMs).toBeCloseTo(55, 12);
    g.update(sample(100, 1));
    // 55 × 599/601 + 100 × 2/601 = 33 145 / 601
    expect(g.longRttMs).toBeCloseTo(33_145 / 601, 12);
    expect(g.estimatedLimit).toBe(20);
  });

  it('shrinks by the gradient 1.5 × long/short, and by at most a gradient of 0.5', () => {
    const g = perSample({ initialLimit: 100, minLimit: 1 });
    for (let i = 0; i < 10; i++) g.update(sample(10, 1));
    expect(g.longRttMs).toBe(10);
    // long = (10 × 599 + 20 × 2) / 601 = 6030/601; gradient = 1.5 × long / 20 ≈ 0.7525
    g.update(sample(20, 100));
    const long1 = 6030 / 601;
    const gradient1 = (1.5 * long1) / 20;
    const limit1 = 100 * 0.8 + (100 * gradient1 + 4) * 0.2;
    expect(g.longRttMs).toBeCloseTo(long1, 12);
    expect(g.estimatedLimit).toBeCloseTo(limit1, 10); // 95.8499168…
    expect(g.limit).toBe(95);
    // latency ×10: 1.5 × long / 100 ≈ 0.155, clamped to 0.5
    g.update(sample(100, 100));
    const limit2 = limit1 * 0.8 + (limit1 * 0.5 + 4) * 0.2;
    expect(g.estimatedLimit).toBeCloseTo(limit2, 10); // 87.0649251…
    expect(g.limit).toBe(87);
    expect(g.longRttMs).toBeCloseTo(ema(long1, 100), 12);
  });

  it('tolerates short RTTs up to 1.5 × the long RTT without shrinking', () => {
    const g = perSample({ initialLimit: 50, minLimit: 1 });
    for (let i = 0; i < 10; i++) g.update(sample(10, 1));
    // long = (10 × 599 + 14.9 × 2) / 601 ≈ 10.016; 1.5 × 10.016 / 14.9 ≈ 1.008 → gradient 1
    g.update(sample(14.9, 50));
    expect(g.estimatedLimit).toBeCloseTo(50.8, 12);
  });

  it('when long/short > 2 cuts the long RTT by 0.95, using the uncut one for the gradient', () => {
    const g = perSample({ initialLimit: 100, minLimit: 1 });
    for (let i = 0; i < 10; i++) g.update(sample(100, 1));
    expect(g.longRttMs).toBe(100);
    g.update(sample(10, 100));
    const long1 = ema(100, 10); // 59 920 / 601 ≈ 99.70, ratio ≈ 9.97 > 2
    expect(g.longRttMs).toBeCloseTo(long1 * 0.95, 12);
    // gradient = min(1, 1.5 × 99.70 / 10) = 1: 100 × 0.8 + 104 × 0.2
    expect(g.estimatedLimit).toBeCloseTo(100.8, 12);
    // the cut happens even when app-limited
    g.update(sample(10, 1));
    expect(g.longRttMs).toBeCloseTo(ema(long1 * 0.95, 10) * 0.95, 12);
    expect(g.estimatedLimit).toBeCloseTo(100.8, 12);
    // a ratio of exactly 2 is not a cut: long = mean(30, 10) = 20, short 10
    const h = perSample();
    h.update(sample(30, 1));
    h.update(sample(10, 1));
    expect(h.longRttMs).toBe(20);
  });

  it('stays within [minLimit, maxLimit]', () => {
    const g = perSample({ maxLimit: 21 });
    g.update(sample(10, 20));
    g.update(sample(10, 20));
    expect(g.estimatedLimit).toBe(21); // 21.6 → 21
    g.update(sample(10, 20));
    expect(g.limit).toBe(21);
    const h = perSample(); // minLimit 20 by default
    for (let i = 0; i < 10; i++) h.update(sample(10, 1));
    h.update(sample(1_000, 20)); // 20 × 0.8 + (20 × 0.5 + 4) × 0.2 = 18.8 → 20
    expect(h.estimatedLimit).toBe(20);
  });

  it('ignores a drop as such (its RTT is the signal) and skips samples of 0 ms', () => {
    const g = perSample();
    g.update(sample(10, 20, true));
    expect(g.estimatedLimit).toBeCloseTo(20.8, 12);
    g.update(sample(0, 20));
    expect(g.estimatedLimit).toBeCloseTo(20.8, 12);
    expect(g.longRttMs).toBe(10);
  });
});

describe('gradient2: windowed, under load', () => {
  it('is windowed by default: one update per 1-second window, where per-sample races to maxLimit', () => {
    const windowed = new SaturatedServer(gradient2());
    const perSampleServer = new SaturatedServer(gradient2({ window: false }));
    // first window closes with the first sample; then windows of 1 s: 20.8 after ~1 s, 21.6 after ~2 s
    expect(windowed.run(1_000)).toBe(20);
    expect(windowed.run(1_100)).toBe(21);
    expect(windowed.limiter.algorithm).toBe('gradient2');
    expect(perSampleServer.run(2_100)).toBe(200);
  });

  it('shrinks to minLimit while latency rises, and grows back when it falls', () => {
    const server = new SaturatedServer(gradient2({ initialLimit: 100 }));
    server.latencyMs = 10;
    const calm = server.run(15_000);
    expect(calm).toBeGreaterThan(100); // +0.8 per window with a flat latency
    server.latencyMs = 100;
    const history: number[] = [];
    for (let i = 0; i < 30; i++) history.push(server.run(1_000));
    expect(history.at(-1)).toBe(20); // minLimit
    for (let i = 1; i < history.length; i++) expect(history[i]!).toBeLessThanOrEqual(history[i - 1]!);
    expect(history[5]!).toBeLessThan(calm);
    server.latencyMs = 10;
    const recovered = server.run(20_000);
    expect(recovered).toBeGreaterThanOrEqual(30);
  });
});

describe('gradient2: options', () => {
  it('rejects bad options with a ConfigError naming limit.<option>', () => {
    const cases: Array<[unknown, string]> = [
      [{ smoothing: 0 }, 'limit.smoothing'],
      [{ smoothing: 1.5 }, 'limit.smoothing'],
      [{ queueSize: -1 }, 'limit.queueSize'],
      [{ longWindow: 0 }, 'limit.longWindow'],
      [{ longWindow: 2.5 }, 'limit.longWindow'],
      [{ rttTolerance: 0.9 }, 'limit.rttTolerance'],
      [{ minLimit: 0 }, 'limit.minLimit'],
      [{ maxLimit: 10 }, 'limit.maxLimit'], // below the default minLimit 20
      [{ initialLimit: 10 }, 'limit.initialLimit'],
      [{ initialLimit: 300 }, 'limit.initialLimit'],
      [{ window: 'yes' }, 'limit.window'],
      [{ window: { minWindowMs: 50 } }, 'limit.window.minWindowMs'],
      [{ smoothin: 0.2 }, 'limit.smoothin'],
      ['fast', 'limit'],
    ];
    for (const [options, option] of cases) {
      let error: unknown;
      try {
        gradient2(options as Gradient2Options);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
    }
    expect(() => gradient2({ smoothin: 0.2 } as Gradient2Options)).toThrow(/did you mean `limit.smoothing`/);
    expect(gradient2({ initialLimit: 5, minLimit: 5 }).limit).toBe(5);
  });
});
