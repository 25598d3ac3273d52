/**
 * The concurrency limiter over a fixed limit, on the virtual clock: it admits up to the limit,
 * rejects beyond it at once, and each permit ends once, feeding the limit a sample for success
 * and dropped (with the latency and the in-flight count at admission), none for ignore.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { fixedLimit } from '../../src/policies/concurrency-limit/fixed.js';
import type { ConcurrencyLimit, LimitSample } from '../../src/policies/concurrency-limit/limit.js';
import { ConcurrencyLimiter } from '../../src/policies/concurrency-limit/limiter.js';

/** A fixed limit that records its samples. */
function recording(limit: number): ConcurrencyLimit & { samples: LimitSample[] } {
  const samples: LimitSample[] = [];
  return { name: 'recording', limit, samples, update: (s) => samples.push(s) };
}

describe('ConcurrencyLimiter', () => {
  it('admits up to the limit and rejects the next at once; a released permit makes room', () => {
    const limiter = new ConcurrencyLimiter(fixedLimit(2), new VirtualClock());
    const a = limiter.tryAcquire();
    const b = limiter.tryAcquire();
    expect(a && b).toBeTruthy();
    expect(limiter.tryAcquire()).toBeUndefined();
    expect(limiter.inflight).toBe(2);
    a!.success();
    a!.success(); // a second end does nothing
    expect(limiter.inflight).toBe(1);
    expect(limiter.tryAcquire()).toBeDefined();
    expect(limiter.algorithm).toBe('fixed');
    expect(limiter.limit).toBe(2);
  });

  it('samples success and dropped with their latency and in-flight count, not ignore', () => {
    const clock = new VirtualClock(1_000);
    const limit = recording(10);
    const limiter = new ConcurrencyLimiter(limit, clock);
    const first = limiter.tryAcquire()!;
    const second = limiter.tryAcquire()!;
    const third = limiter.tryAcquire()!;
    clock.advance(30);
    first.success();
    clock.advance(20);
    second.dropped();
    third.ignore();
    expect(limit.samples).toEqual([
      { startMs: 1_000, rttMs: 30, inflight: 1, dropped: false },
      { startMs: 1_000, rttMs: 50, inflight: 2, dropped: true },
    ]);
    expect(limiter.inflight).toBe(0);
  });

  it('tryEnter/release, the permit-free pair: the in-flight count with it, 0 at the limit, samples as permits do', () => {
    const clock = new VirtualClock(500);
    const limit = recording(2);
    const limiter = new ConcurrencyLimiter(limit, clock);
    expect(limiter.tryEnter()).toBe(1);
    expect(limiter.tryEnter()).toBe(2);
    expect(limiter.tryEnter()).toBe(0);
    expect(limiter.inflight).toBe(2);
    clock.advance(12);
    limiter.release(500, 2, 12, false);
    limiter.release(500, 1, undefined, false);
    expect(limiter.inflight).toBe(0);
    expect(limit.samples).toEqual([{ startMs: 500, rttMs: 12, inflight: 2, dropped: false }]);
    expect(limiter.tryEnter()).toBe(1);
  });

  it('a fixed limit must be an integer ≥ 1', () => {
    for (const bad of [0, 1.5, -1, Number.NaN, '3'])
      expect(() => fixedLimit(bad as number)).toThrow(ConfigError);
  });
});
