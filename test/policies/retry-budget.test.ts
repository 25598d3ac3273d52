/** The retry budget on the virtual clock: reserve, 20% deposits, the 10 s window sliding. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { RetryBudget } from '../../src/policies/retry-budget.js';

function drain(budget: RetryBudget): number {
  let n = 0;
  while (n < 100_000 && budget.tryWithdraw()) n++;
  return n;
}

describe('RetryBudget', () => {
  it('allows the reserve (10/s over 10 s = 100) with no traffic at all', () => {
    const budget = new RetryBudget(new VirtualClock());
    expect(budget.balance()).toBe(100);
    expect(drain(budget)).toBe(100);
    expect(budget.tryWithdraw()).toBe(false);
  });

  it('adds 20% of requests to the reserve', () => {
    const budget = new RetryBudget(new VirtualClock(), { minRetriesPerSecond: 0 });
    for (let i = 0; i < 1_000; i++) budget.deposit();
    expect(budget.balance()).toBeCloseTo(200, 9);
    expect(drain(budget)).toBe(200);
  });

  it('forgets deposits and withdrawals older than the window', () => {
    const clock = new VirtualClock();
    const budget = new RetryBudget(clock, { minRetriesPerSecond: 0 });
    for (let i = 0; i < 100; i++) budget.deposit();
    expect(drain(budget)).toBe(20);
    clock.advance(5_000);
    for (let i = 0; i < 100; i++) budget.deposit();
    expect(drain(budget)).toBe(20); // the first 100 still count, their 20 are spent
    clock.advance(5_000); // the first second's slot leaves the window
    expect(budget.balance()).toBeCloseTo(0, 9);
    clock.advance(5_000);
    expect(budget.balance()).toBe(0);
  });

  it('bounds retries to 20% of a steady load plus the reserve', () => {
    const clock = new VirtualClock();
    const budget = new RetryBudget(clock);
    let retries = 0;
    // 100 requests/s for 60 s, every one wanting a retry.
    for (let s = 0; s < 60; s++) {
      for (let i = 0; i < 100; i++) {
        budget.deposit();
        if (budget.tryWithdraw()) retries++;
      }
      clock.advance(1_000);
    }
    // At most 20 + 10 per second in steady state, plus the first window's reserve.
    expect(retries).toBeLessThanOrEqual(60 * 30 + 100);
    expect(retries).toBeGreaterThanOrEqual(60 * 20);
  });

  it('validates its options', () => {
    expect(() => new RetryBudget(new VirtualClock(), { percentCanRetry: 2 })).toThrow(ConfigError);
    expect(() => new RetryBudget(new VirtualClock(), { ttlMs: 0 })).toThrow(ConfigError);
  });
});
