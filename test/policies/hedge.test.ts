/**
 * Hedging on the virtual clock: no backup before the latency window is known or for
 * non-idempotent calls; a backup at the p99 that wins and cancels the first copy; the first
 * success wins either way; both copies failing returns a failure; hedges take budget tokens.
 */
import { describe, expect, it } from 'vitest';
import { Cancellation } from '../../src/core/cancellation.js';
import { retryable, SUCCESS } from '../../src/core/classification.js';
import { CallContext } from '../../src/core/context.js';
import type { Next } from '../../src/core/service.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { attemptFilter } from '../../src/policies/attempt.js';
import { HedgeLostError, hedgeFilter } from '../../src/policies/hedge.js';
import { RetryBudget } from '../../src/policies/retry-budget.js';

interface Req {
  headers: Record<string, string>;
}

/** A backend whose n-th attempt answers after delays[n] ms (or fails with `fail`). */
function backend(clock: VirtualClock, plan: Array<{ delay: number; fail?: boolean }>) {
  const log: Array<{ attempt: number; at: number; cancelled?: unknown }> = [];
  let n = 0;
  const next: Next<Req, string> = (_req, ctx) => {
    const step = plan[Math.min(n++, plan.length - 1)]!;
    const entry: { attempt: number; at: number; cancelled?: unknown } = {
      attempt: ctx.attempt,
      at: clock.now(),
    };
    log.push(entry);
    return new Promise((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        (ctx as CallContext).classification = step.fail ? retryable('status 503') : SUCCESS;
        resolve(`answer of attempt ${entry.attempt}`);
      }, step.delay);
      ((ctx as CallContext).cancellation as Cancellation).once('abort', () => {
        clock.clearTimeout(timer);
        entry.cancelled = (ctx as CallContext).cancellation?.reason;
        reject((ctx as CallContext).cancellation?.reason);
      });
    });
  };
  return { next, log };
}

function setup(
  plan: Array<{ delay: number; fail?: boolean }>,
  budget?: RetryBudget,
  inMemory = true,
  maxExtraLoad?: number,
) {
  const clock = new VirtualClock();
  const adapter = {
    writeDeadline() {},
    writeAttempt() {},
    prepareReplay() {},
    hasInMemoryBody: () => inMemory,
    rewind: () => true,
    discard() {},
  };
  const b = budget ?? new RetryBudget(clock);
  const { filter, stats } = hedgeFilter<Req, string>({
    clock,
    adapter,
    budget: b,
    options: { minSamples: 10, ...(maxExtraLoad === undefined ? {} : { maxExtraLoad }) },
  });
  const attempt = attemptFilter<Req, string>({ clock, adapter });
  const { next, log } = backend(clock, plan);
  const call = (idempotent = true) => {
    const ctx = new CallContext('svc', undefined, new Cancellation());
    ctx.clock = clock;
    ctx.callStart = clock.now(); // as a client stamps a call
    ctx.deadline = clock.now() + 10_000;
    ctx.idempotent = idempotent;
    return { ctx, result: filter({ headers: {} }, ctx, (req, c) => attempt(req, c, next)) };
  };
  return { clock, call, log, stats };
}

/** Run `n` calls that each take `ms`, to fill the latency window. */
async function warm(h: ReturnType<typeof setup>, n: number, ms: number) {
  for (let i = 0; i < n; i++) {
    const { result } = h.call();
    await h.clock.advanceAsync(ms);
    await result;
  }
}

describe('hedge filter', () => {
  it('sends no backup until enough latencies are known', async () => {
    const h = setup([{ delay: 500 }]);
    expect(h.stats.delayMs()).toBe(Number.POSITIVE_INFINITY);
    const { result } = h.call();
    await h.clock.advanceAsync(500);
    await result;
    expect(h.log).toHaveLength(1);
    expect(h.stats.sent).toBe(0);
  });

  it('sends a backup at the p99, takes the faster answer and cancels the slow copy', async () => {
    const plan = [...Array.from({ length: 10 }, () => ({ delay: 10 })), { delay: 1_000 }, { delay: 10 }];
    const h = setup(plan);
    await warm(h, 10, 10);
    expect(h.stats.delayMs()).toBe(10);
    const { ctx, result } = h.call();
    await h.clock.advanceAsync(10); // the hedge delay passes: the backup goes out
    await h.clock.advanceAsync(10); // the backup answers
    expect(await result).toBe('answer of attempt 2');
    expect(h.stats.sent).toBe(1);
    expect(h.stats.won).toBe(1);
    const [slow, backup] = h.log.slice(10);
    expect(backup!.at - slow!.at).toBe(10);
    expect(slow!.cancelled).toBeInstanceOf(HedgeLostError);
    expect(ctx.attempt).toBe(2);
  });

  it('keeps the first copy when it answers before the backup', async () => {
    const plan = [...Array.from({ length: 10 }, () => ({ delay: 10 })), { delay: 15 }, { delay: 100 }];
    const h = setup(plan);
    await warm(h, 10, 10);
    const { result } = h.call();
    await h.clock.advanceAsync(15);
    expect(await result).toBe('answer of attempt 1');
    expect(h.stats.won).toBe(0);
    expect(h.log[11]?.cancelled).toBeInstanceOf(HedgeLostError);
  });

  it('waits for the other copy when one fails, and fails only when both do', async () => {
    const plan = [
      ...Array.from({ length: 10 }, () => ({ delay: 10 })),
      { delay: 30, fail: true },
      { delay: 40 },
    ];
    const h = setup(plan);
    await warm(h, 10, 10);
    const { result } = h.call();
    await h.clock.advanceAsync(100);
    expect(await result).toBe('answer of attempt 2');
  });

  it('never hedges a call whose body is a stream (two copies cannot read one stream)', async () => {
    const plan = [...Array.from({ length: 10 }, () => ({ delay: 10 })), { delay: 1_000 }];
    const h = setup(plan, undefined, false);
    await warm(h, 10, 10);
    const { result } = h.call();
    await h.clock.advanceAsync(1_000);
    await result;
    expect(h.stats.sent).toBe(0);
  });

  it('never hedges a call that is not idempotent', async () => {
    const plan = [...Array.from({ length: 10 }, () => ({ delay: 10 })), { delay: 1_000 }];
    const h = setup(plan);
    await warm(h, 10, 10);
    const { result } = h.call(false);
    await h.clock.advanceAsync(1_000);
    await result;
    expect(h.log).toHaveLength(11);
  });

  it('does not hedge when the retry budget is empty', async () => {
    const empty = new RetryBudget(new VirtualClock(), { minRetriesPerSecond: 0, percentCanRetry: 0 });
    const plan = [...Array.from({ length: 10 }, () => ({ delay: 10 })), { delay: 1_000 }];
    const h = setup(plan, empty);
    await warm(h, 10, 10);
    const { result } = h.call();
    await h.clock.advanceAsync(1_000);
    await result;
    expect(h.stats.sent).toBe(0);
    expect(h.log).toHaveLength(11);
  });
});

describe('a hedge timer that runs late (the client was stalled)', () => {
  it('gives the first copy the delay again, once, instead of sending a backup at once', async () => {
    const plan = [...Array.from({ length: 10 }, () => ({ delay: 10 })), { delay: 35 }, { delay: 10 }];
    const h = setup(plan);
    await warm(h, 10, 10);
    expect(h.stats.delayMs()).toBe(10);
    // The next 10 ms timer (the hedge's) fires 20 ms late, as after a 20 ms stall of the loop.
    const setTimeout = h.clock.setTimeout.bind(h.clock);
    let stall = 20;
    h.clock.setTimeout = (callback, ms) => {
      const late = ms === 10 ? stall : 0;
      if (late > 0) stall = 0;
      return setTimeout(callback, ms + late);
    };
    const { result } = h.call();
    await h.clock.advanceAsync(30); // the late timer: put off to 40 ms
    expect(h.stats.rearmed).toBe(1);
    expect(h.log).toHaveLength(11);
    await h.clock.advanceAsync(5); // the first copy answers at 35 ms: no backup was needed
    expect(await result).toBe('answer of attempt 1');
    await h.clock.advanceAsync(20);
    expect(h.stats.sent).toBe(0);
    expect(h.log).toHaveLength(11);
  });
});

describe("a hedge timer that fires early (Node counts from the loop turn's cached time)", () => {
  it('waits out the rest of the delay before sending the backup', async () => {
    const plan = [...Array.from({ length: 10 }, () => ({ delay: 10 })), { delay: 12 }, { delay: 10 }];
    const h = setup(plan);
    await warm(h, 10, 10);
    const setTimeout = h.clock.setTimeout.bind(h.clock);
    let early = 3;
    h.clock.setTimeout = (callback, ms) => {
      const by = ms === 10 ? early : 0;
      if (by > 0) early = 0;
      return setTimeout(callback, ms - by);
    };
    const { result } = h.call();
    await h.clock.advanceAsync(7); // the timer fires 3 ms early: no backup yet
    expect(h.log).toHaveLength(11);
    await h.clock.advanceAsync(3); // the delay has passed: the backup goes out
    expect(h.log).toHaveLength(12);
    await h.clock.advanceAsync(2); // the first copy answers at 12 ms
    expect(await result).toBe('answer of attempt 1');
  });
});

describe('hedge budget', () => {
  it('caps backups at maxExtraLoad of calls + 10/s, even when every call in flight passes the delay', async () => {
    // A client budget that never binds, so that the cap seen is the hedge filter's own.
    const generous = new RetryBudget(new VirtualClock(), { percentCanRetry: 1, minRetriesPerSecond: 1_000 });
    const plan = [
      ...Array.from({ length: 20 }, () => ({ delay: 10 })),
      ...Array.from({ length: 200 }, () => ({ delay: 1_000 })),
      ...Array.from({ length: 200 }, () => ({ delay: 10 })),
    ];
    const h = setup(plan, generous, true, 0.01);
    await warm(h, 20, 10);
    // 200 calls at once (a stall): all of them pass the 10 ms delay together.
    const results = Array.from({ length: 200 }, () => h.call().result);
    await h.clock.advanceAsync(2_000);
    await Promise.all(results);
    // 1% of 220 calls + 10/s × 10 s (Finagle's BackupRequestFilter budget): about 102, not 200;
    // the others are counted as refused.
    expect(h.stats.sent).toBeGreaterThanOrEqual(95);
    expect(h.stats.sent).toBeLessThanOrEqual(105);
    expect(h.stats.sent + h.stats.refused).toBe(200);
  });
});
