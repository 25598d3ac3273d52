/**
 * Vegas (Netflix `VegasLimit`, 78a74b9), rule by rule against values worked out by hand: the
 * queue estimate ceil(limit × (1 − noLoad/rtt)) against threshold L, α = 3L, β = 6L with
 * L = max(1, floor(log10 limit)); drops; the app-limited rule; smoothing and clamps; the probe
 * after jitter × 30 × limit samples with jitter = 0.5 + 0.5 × random. Then windowed by default,
 * growing with no queue and shrinking on drops.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import {
  log10Step,
  VegasLimit,
  type VegasOptions,
  vegas,
} from '../../../src/policies/concurrency-limit/vegas.js';
import { SaturatedServer, sample } from './samples.js';

/** Vegas updating on every sample; the probe is ~600 samples away unless `random` says otherwise. */
function perSample(options: VegasOptions = {}): VegasLimit {
  const limit = vegas({ random: () => 0.99, ...options, window: false });
  expect(limit).toBeInstanceOf(VegasLimit);
  return limit as VegasLimit;
}

describe('vegas: the rule', () => {
  it('L(x) = max(1, floor(log10 x))', () => {
    expect([0, 1, 9, 10, 99, 100, 999, 1_000, 9_999, 10_000].map(log10Step)).toEqual([
      1, 1, 1, 1, 1, 2, 2, 3, 3, 4,
    ]);
  });

  it('below a limit of 100: +6 with no queue, +1 below 3, unchanged in [3, 6], −1 above 6', () => {
    const v = perSample();
    expect(v.name).toBe('vegas');
    v.update(sample(10, 20)); // the first RTT is the no-load RTT: no change
    expect(v.rttNoLoadMs).toBe(10);
    expect(v.limit).toBe(20);
    v.update(sample(10, 20)); // queue = ceil(20 × 0) = 0 ≤ 1 → 20 + 6
    expect(v.estimatedLimit).toBe(26);
    v.update(sample(20, 20)); // queue = ceil(26 × 0.5) = 13 > 6 → 26 − 1
    expect(v.estimatedLimit).toBe(25);
    v.update(sample(12, 20)); // queue = ceil(25 × 2/12) = ceil(4.17) = 5, in [3, 6] → unchanged
    expect(v.estimatedLimit).toBe(25);
    v.update(sample(14, 20)); // queue = ceil(25 × 4/14) = ceil(7.14) = 8 > 6 → 24
    expect(v.estimatedLimit).toBe(24);
    v.update(sample(10.5, 20)); // queue = ceil(24 × 0.5/10.5) = ceil(1.14) = 2: > 1, < 3 → 25
    expect(v.estimatedLimit).toBe(25);
    v.update(sample(13, 20)); // queue = ceil(25 × 3/13) = ceil(5.77) = 6: not > 6 → unchanged
    expect(v.estimatedLimit).toBe(25);
    v.update(sample(5, 20)); // a new smallest RTT: no-load RTT 5, no change
    expect(v.rttNoLoadMs).toBe(5);
    expect(v.estimatedLimit).toBe(25);
  });

  it('a drop decreases even when app-limited; otherwise inflight × 2 < limit changes nothing', () => {
    const v = perSample({ initialLimit: 25 });
    v.update(sample(10, 25));
    v.update(sample(10, 1, true)); // dropped → 25 − 1
    expect(v.estimatedLimit).toBe(24);
    v.update(sample(10, 11)); // 22 < 24: app-limited
    expect(v.estimatedLimit).toBe(24);
    v.update(sample(10, 12)); // 24 ≥ 24: queue 0 → 24 + 6
    expect(v.estimatedLimit).toBe(30);
  });

  it('from a limit of 100 the steps double: threshold 2, α 6, β 12, ±2', () => {
    const v = perSample({ initialLimit: 100 });
    v.update(sample(10, 100));
    v.update(sample(10, 100)); // queue 0 ≤ 2 → 100 + 12
    expect(v.estimatedLimit).toBe(112);
    v.update(sample(10, 100, true)); // dropped → 112 − 2
    expect(v.estimatedLimit).toBe(110);
    v.update(sample(10.5, 110)); // queue = ceil(110 × 0.5/10.5) = ceil(5.24) = 6, not < 6 → unchanged
    expect(v.estimatedLimit).toBe(110);
    v.update(sample(10.3, 110)); // queue = ceil(110 × 0.3/10.3) = ceil(3.2) = 4 < 6 → +2
    expect(v.estimatedLimit).toBe(112);
    v.update(sample(10.1, 112)); // queue = ceil(112 × 0.1/10.1) = ceil(1.11) = 2 ≤ 2 → +12
    expect(v.estimatedLimit).toBe(124);
    v.update(sample(13, 124)); // queue = ceil(124 × 3/13) = ceil(28.6) = 29 > 12 → −2
    expect(v.estimatedLimit).toBe(122);
  });

  it('smooths toward the clamped new limit: (1 − s) × limit + s × clamp(new, min, max)', () => {
    const v = perSample({ smoothing: 0.5, maxLimit: 24 });
    v.update(sample(10, 20));
    v.update(sample(10, 20)); // new 26 → 24; 0.5 × 20 + 0.5 × 24
    expect(v.estimatedLimit).toBe(22);
    v.update(sample(10, 20)); // new 28 → 24; 0.5 × 22 + 0.5 × 24
    expect(v.estimatedLimit).toBe(23);
    const big = perSample({ initialLimit: 995 }); // maxLimit 1 000 by default
    big.update(sample(10, 995));
    big.update(sample(10, 995)); // 995 + 6 × 2 → 1 000
    expect(big.estimatedLimit).toBe(1_000);
    const w = perSample({ minLimit: 20 });
    w.update(sample(10, 20));
    w.update(sample(10, 1, true)); // 19 → 20
    expect(w.estimatedLimit).toBe(20);
    const x = perSample({ initialLimit: 1 });
    x.update(sample(10, 1));
    x.update(sample(10, 1, true)); // 0 → 1
    expect(x.limit).toBe(1);
  });

  it('probes the no-load RTT after jitter × 30 × limit samples, jitter = 0.5 + 0.5 × random', () => {
    let draws = 0;
    const v = perSample({
      random: () => {
        draws++;
        return 0; // jitter 0.5: probe at 0.5 × 30 × 20 = 300 samples
      },
    });
    expect(draws).toBe(1);
    v.update(sample(10, 1)); // sample 1: no-load RTT 10
    for (let i = 2; i <= 298; i++) v.update(sample(10, 1));
    v.update(sample(15, 1)); // sample 299: 299 < 300, no probe
    expect(v.rttNoLoadMs).toBe(10);
    v.update(sample(15, 1)); // sample 300: probe, the no-load RTT becomes 15
    expect(v.rttNoLoadMs).toBe(15);
    expect(draws).toBe(2);
    expect(v.estimatedLimit).toBe(20);
    v.update(sample(15, 20)); // queue 0 against the probed RTT → +6 (against 10 it would be −1)
    expect(v.estimatedLimit).toBe(26);

    const w = perSample({ random: () => 0.5 }); // jitter 0.75: probe at 0.75 × 30 × 20 = 450
    for (let i = 1; i <= 449; i++) w.update(sample(10, 1));
    w.update(sample(12, 1));
    expect(w.rttNoLoadMs).toBe(12);
    const x = perSample({ random: () => 0.5 });
    for (let i = 1; i <= 448; i++) x.update(sample(10, 1));
    x.update(sample(12, 1));
    expect(x.rttNoLoadMs).toBe(10);
  });

  it('skips samples of 0 ms', () => {
    const v = perSample();
    v.update(sample(0, 20));
    expect(v.rttNoLoadMs).toBe(0);
  });
});

describe('vegas: windowed, under load', () => {
  it('is windowed by default, grows by 6 a window with no queue, and shrinks by 1 a window on drops', () => {
    const server = new SaturatedServer(vegas());
    expect(server.limiter.algorithm).toBe('vegas');
    // windows close at ~1 s, ~2 s, …: the first full one sets the no-load RTT, then +6 each
    expect(server.run(1_100)).toBe(20);
    expect(server.run(1_000)).toBe(26);
    expect(server.run(1_000)).toBe(32);
    server.dropping = true;
    expect(server.run(1_000)).toBe(31);
    expect(server.run(1_000)).toBe(30);
    const perSampleServer = new SaturatedServer(vegas({ window: false }));
    expect(perSampleServer.run(100)).toBeGreaterThan(100);
  });
});

describe('vegas: options', () => {
  it('rejects bad options with a ConfigError naming limit.<option>', () => {
    const cases: Array<[unknown, string]> = [
      [{ smoothing: 0 }, 'limit.smoothing'],
      [{ probeMultiplier: 0 }, 'limit.probeMultiplier'],
      [{ random: 0.5 }, 'limit.random'],
      [{ maxLimit: 0 }, 'limit.maxLimit'],
      [{ initialLimit: 2_000 }, 'limit.initialLimit'],
      [{ window: { minSamples: 9 } }, 'limit.window.minSamples'],
      [{ alpha: 3 }, 'limit.alpha'],
    ];
    for (const [options, option] of cases) {
      let error: unknown;
      try {
        vegas(options as VegasOptions);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
    }
  });
});
