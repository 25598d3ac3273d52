/**
 * Windowed sampling (Netflix `WindowedLimit`, 78a74b9) with a delegate that records what it is
 * given: the first sample closes the first window; a window closes on the first sample that ends
 * after its end (included in it) and the next ends at end + clamp(2 × its smallest RTT, min, max);
 * it reaches the delegate only with ≥ 10 samples, as (average RTT, largest inflight, any drop);
 * samples under 0.1 ms are discarded.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { fixedLimit } from '../../../src/policies/concurrency-limit/fixed.js';
import type { ConcurrencyLimit, LimitSample } from '../../../src/policies/concurrency-limit/limit.js';
import { type WindowOptions, windowedLimit } from '../../../src/policies/concurrency-limit/windowed.js';
import { sample } from './samples.js';

/** A limit of 7 that records the samples it is given. */
function recording(): ConcurrencyLimit & { received: LimitSample[] } {
  const received: LimitSample[] = [];
  return { name: 'recording', limit: 7, received, update: (s) => received.push(s) };
}

describe('windowedLimit', () => {
  it('passes the name and limit through, and delivers a 1-second window of ≥ 10 samples', () => {
    const delegate = recording();
    const w = windowedLimit(delegate);
    expect(w.name).toBe('recording');
    expect(w.limit).toBe(7);

    w.update(sample(5, 1, false, 0)); // ends at 5: closes the first window (1 sample: not delivered)
    expect(delegate.received).toEqual([]);
    // the next window ends at 5 + clamp(2 × 5, 1 000, 1 000) = 1 005
    for (let i = 1; i <= 9; i++) w.update(sample(20, i + 1, false, 100 * i)); // end 120 … 920
    w.update(sample(20, 3, false, 985)); // ends at exactly 1 005: still inside
    expect(delegate.received).toEqual([]);
    w.update(sample(16, 2, false, 990)); // ends at 1 006: closes it, with itself: 11 samples
    expect(delegate.received).toEqual([
      { startMs: 990, rttMs: (10 * 20 + 16) / 11, inflight: 10, dropped: false },
    ]);
  });

  it('drops a window of fewer than 10 samples, keeps nothing of it, and reports any drop', () => {
    const delegate = recording();
    const w = windowedLimit(delegate);
    w.update(sample(10, 1, false, 0)); // the first window; the next ends at 1 010
    for (let i = 0; i < 8; i++) w.update(sample(10, 50, i === 0, 100 + i)); // a drop, inflight 50
    w.update(sample(10, 1, false, 1_001)); // ends 1 011: closes a window of 9 → not delivered
    expect(delegate.received).toEqual([]);
    // the next ends at 1 011 + 1 000 = 2 011
    for (let i = 0; i < 9; i++) w.update(sample(30, 4, false, 1_100 + i));
    w.update(sample(0.05, 99, true, 2_500)); // under 0.1 ms: discarded, closes nothing
    expect(delegate.received).toEqual([]);
    w.update(sample(10, 2, false, 2_002)); // ends 2 012: closes 10 samples, none dropped
    expect(delegate.received).toEqual([{ startMs: 2_002, rttMs: 28, inflight: 4, dropped: false }]);
    // the next ends at 2 012 + 1 000 = 3 012; a drop anywhere in it marks the window
    for (let i = 0; i < 9; i++) w.update(sample(10, 3, i === 4, 2_100 + i));
    w.update(sample(10, 3, false, 3_003));
    expect(delegate.received.at(-1)).toEqual({ startMs: 3_003, rttMs: 10, inflight: 3, dropped: true });
  });

  it('sizes the next window as clamp(2 × the smallest RTT, minWindowMs, maxWindowMs)', () => {
    const delegate = recording();
    const w = windowedLimit(delegate, { minWindowMs: 100, maxWindowMs: 500 });
    w.update(sample(30, 1, false, 0)); // ends 30; next end 30 + clamp(60, 100, 500) = 130
    for (let i = 0; i < 8; i++) w.update(sample(80, 1, false, 40 + i)); // end 120 … 127
    w.update(sample(120, 1, false, 5)); // ends 125: the window's RTTs average above 80, min 80
    w.update(sample(80, 1, false, 50)); // ends 130: inside
    expect(delegate.received).toHaveLength(0);
    w.update(sample(80, 1, false, 51)); // ends 131: closes; next end 131 + clamp(2 × 80, 100, 500) = 291
    expect(delegate.received).toHaveLength(1);
    for (let i = 0; i < 10; i++) w.update(sample(300, 1, false, -20 + i)); // end 280 … 289
    w.update(sample(300, 1, false, -9)); // ends 291: inside
    expect(delegate.received).toHaveLength(1);
    w.update(sample(300, 1, false, -8)); // ends 292: closes; next end 292 + clamp(600, 100, 500) = 792
    expect(delegate.received).toHaveLength(2);
    expect(delegate.received[1]!.startMs).toBe(-8);
    for (let i = 0; i < 10; i++) w.update(sample(300, 1, false, 480 + i)); // end 780 … 789
    w.update(sample(300, 1, false, 492)); // ends 792: inside
    expect(delegate.received).toHaveLength(2);
    w.update(sample(300, 1, false, 493)); // ends 793: closes
    expect(delegate.received).toHaveLength(3);
    expect(delegate.received[2]!.startMs).toBe(493);
  });

  it("caps a window at 1 s by default however slow the requests, whatever the clock's origin", () => {
    const delegate = recording();
    const w = windowedLimit(delegate);
    w.update(sample(600, 1, false, -5_000)); // ends −4 400: closes the first window, even below 0
    // next end −4 400 + clamp(1 200, 1 000, 1 000) = −3 400
    for (let i = 0; i < 10; i++) w.update(sample(600, 1, false, -4_100 + i)); // end −3 500 … −3 491
    w.update(sample(600, 1, false, -4_000)); // ends −3 400: inside
    expect(delegate.received).toHaveLength(0);
    w.update(sample(600, 1, false, -3_999)); // ends −3 399: closes 12 samples
    expect(delegate.received).toEqual([{ startMs: -3_999, rttMs: 600, inflight: 1, dropped: false }]);
  });

  it('takes minSamples and discardRttBelowMs', () => {
    const delegate = recording();
    const w = windowedLimit(delegate, { minSamples: 12, discardRttBelowMs: 5 });
    w.update(sample(10, 1, false, 0));
    for (let i = 0; i < 11; i++) w.update(sample(4.9, 1, false, 100 + i)); // discarded
    for (let i = 0; i < 10; i++) w.update(sample(10, 1, false, 100 + i));
    w.update(sample(10, 1, false, 1_001)); // 11 < 12: not delivered
    for (let i = 0; i < 11; i++) w.update(sample(10, 1, false, 1_100 + i));
    w.update(sample(10, 1, false, 2_002)); // 12
    expect(delegate.received).toHaveLength(1);
  });

  it('rejects bad options with a ConfigError naming window.<option>', () => {
    const cases: Array<[unknown, string]> = [
      [{ minWindowMs: 99 }, 'window.minWindowMs'],
      [{ maxWindowMs: 99 }, 'window.maxWindowMs'],
      [{ minWindowMs: 2_000, maxWindowMs: 1_500 }, 'window.maxWindowMs'],
      [{ minSamples: 9 }, 'window.minSamples'],
      [{ minSamples: 10.5 }, 'window.minSamples'],
      [{ discardRttBelowMs: -1 }, 'window.discardRttBelowMs'],
      [{ windowSize: 10 }, 'window.windowSize'],
      [7, 'window'],
    ];
    for (const [options, option] of cases) {
      let error: unknown;
      try {
        windowedLimit(fixedLimit(3), options as WindowOptions);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
    }
    // a minWindowMs above the default maxWindowMs raises the max with it
    expect(windowedLimit(fixedLimit(3), { minWindowMs: 2_000 }).limit).toBe(3);
    expect(() => windowedLimit({} as ConcurrencyLimit)).toThrow(ConfigError);
  });
});
