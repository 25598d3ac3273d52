/**
 * The retry budget on the virtual clock: reserve, 20% deposits, the 10 s window sliding, and the
 * exact worst case under total failure that docs/retries.md states, through the budget alone and
 * through the retry loop.
 */
import { describe, expect, it } from 'vitest';
import { defaultClientStack } from '../../src/client/default-stack.js';
import { retryable } from '../../src/core/classification.js';
import { CallContext } from '../../src/core/context.js';
import { ConfigError } from '../../src/core/errors.js';
import { composeFilters } from '../../src/core/service.js';
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

  it('lets the reserve be spent at once, and gives it back whole 10 slots later, not at 10/s', () => {
    const clock = new VirtualClock();
    const budget = new RetryBudget(clock);
    expect(drain(budget)).toBe(100);
    clock.advance(9_999); // still in the window: the current 1 s slot and the nine before it
    expect(drain(budget)).toBe(0);
    clock.advance(1); // the slot they were taken in has left the window
    expect(drain(budget)).toBe(100);
  });

  it('validates its options', () => {
    expect(() => new RetryBudget(new VirtualClock(), { percentCanRetry: 2 })).toThrow(ConfigError);
    expect(() => new RetryBudget(new VirtualClock(), { ttlMs: 0 })).toThrow(ConfigError);
  });
});

/**
 * Total failure at `rate` calls/s for `seconds`, after `healthySeconds` of the same rate without
 * failures. Calls are evenly spaced from t = 0 (a slot boundary); each deposits, and takes up to
 * `maxAttempts − 1` retries at once, which is the soonest the budget could be asked.
 */
function retriesUnderTotalFailure(
  rate: number,
  seconds: number,
  healthySeconds = 0,
  maxAttempts = 3,
): number {
  const clock = new VirtualClock();
  const budget = new RetryBudget(clock);
  const gapMs = 1_000 / rate;
  for (let i = 0; i < rate * healthySeconds; i++) {
    budget.deposit();
    clock.advance(gapMs);
  }
  let retries = 0;
  for (let i = 0; i < rate * seconds; i++) {
    budget.deposit();
    for (let r = 1; r < maxAttempts && budget.tryWithdraw(); r++) retries++;
    clock.advance(gapMs);
  }
  return retries;
}

/** The bound docs/retries.md gives, with the defaults (reserve 100, 20%, 10 s in 1 s slots). */
function documentedWorstCase(rate: number, seconds: number, healthySeconds: number, maxAttempts = 3): number {
  const windows = Math.ceil(seconds / 10);
  return Math.min(
    (maxAttempts - 1) * rate * seconds,
    100 * windows + 0.2 * rate * Math.min(seconds + healthySeconds, 10 * windows),
  );
}

describe('RetryBudget: the worst case under total failure', () => {
  it('from a standing start, 200 calls/s failing for 5 s get 100 + 20% of 1 000 = 300 retries: 1.30x', () => {
    expect(retriesUnderTotalFailure(200, 5)).toBe(300);
  });

  it('after steady traffic, the calls of the 10 s before count too: 500 retries, 1.50x', () => {
    expect(retriesUnderTotalFailure(200, 5, 10)).toBe(500);
  });

  it.each([
    // rate, seconds, healthy seconds before
    [200, 5, 0],
    [200, 5, 10],
    [400, 4, 2], // the total-outage benchmark's timeline: 580 retries for 1 600 calls, 1.3625x
    [10, 5, 0], // here maxAttempts is the limit, not the budget
    [100, 10, 30],
    [200, 15, 0],
    [200, 15, 5],
    [200, 30, 10],
    [1_000, 60, 0], // a long outage: 20% + 10/s on average
  ])(
    '%i calls/s failing for %i s after %i s healthy: exactly the documented bound',
    (rate, seconds, healthy) => {
      expect(retriesUnderTotalFailure(rate, seconds, healthy)).toBe(
        documentedWorstCase(rate, seconds, healthy),
      );
    },
  );

  it('through the retry loop, with its backoff: the servers see 1 300 requests for 1 000 calls', async () => {
    const clock = new VirtualClock();
    const budget = new RetryBudget(clock);
    const adapter = {
      writeDeadline: () => {},
      writeAttempt: () => {},
      prepareReplay: () => {},
      hasInMemoryBody: () => true,
      rewind: () => true,
      discard: () => {},
    };
    const stack = defaultClientStack<object, string>({
      clock,
      adapter,
      inheritAmbientDeadline: false,
      retry: { clock, adapter, budget, backoffInitialMs: 25, backoffMaxMs: 250, retryAfterCapMs: 10_000 },
    });
    let sent = 0;
    // Every request fails: a refused connection, retryable for every method.
    const call = composeFilters(stack.layers(), async (_req, ctx) => {
      sent++;
      (ctx as CallContext).classification = retryable('ECONNREFUSED', true);
      throw Object.assign(new Error('ECONNREFUSED'), { code: 'ECONNREFUSED' });
    });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 1_000; i++) {
      const ctx = new CallContext('svc');
      ctx.clock = clock;
      ctx.callStart = clock.now();
      ctx.budgetMs = 10_000;
      ctx.maxAttempts = 3;
      calls.push(call({}, ctx).catch(() => {}));
      await clock.advanceAsync(5); // 200 calls/s for 5 s
    }
    await clock.advanceAsync(2_000); // every backoff has ended, still inside the 10 s window
    await Promise.all(calls);
    expect(sent).toBe(1_300);
  });
});
