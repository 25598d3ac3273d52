/**
 * The retry filter on the virtual clock, between a deadline and the attempt filter: what is
 * retried and what is not, backoff and Retry-After timing, the deadline, the budget, replay.
 */

import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultClientStack } from '../../src/client/default-stack.js';
import { failure, IGNORABLE, type ResponseClass, retryable, SUCCESS } from '../../src/core/classification.js';
import { CallContext } from '../../src/core/context.js';
import { RetryBudgetExhaustedError } from '../../src/core/errors.js';
import { NACK_REASON } from '../../src/core/nack.js';
import { composeFilters, contextFilter } from '../../src/core/service.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { retryFilter } from '../../src/policies/retry.js';
import { RetryBudget } from '../../src/policies/retry-budget.js';

interface Req {
  headers: Record<string, string>;
  replayable: boolean;
}
type Step = { cls: ResponseClass; throws?: boolean };

afterEach(() => vi.restoreAllMocks());

function harness(
  steps: Step[],
  opts: { budget?: RetryBudget; maxAttempts?: number; budgetMs?: number } = {},
) {
  const clock = new VirtualClock();
  const times: number[] = [];
  const discarded: string[] = [];
  const budget = opts.budget ?? new RetryBudget(clock);
  const adapter = {
    writeDeadline: () => {},
    writeAttempt: (req: Req, n: number) => {
      req.headers.attempt = String(n);
    },
    prepareReplay: () => {},
    hasInMemoryBody: () => true,
    rewind: (req: Req) => req.replayable,
    discard: (res: string) => {
      discarded.push(res);
    },
  };
  const stack = defaultClientStack<Req, string>({
    clock,
    adapter,
    inheritAmbientDeadline: false,
    retry: { clock, adapter, budget, backoffInitialMs: 25, backoffMaxMs: 250, retryAfterCapMs: 10_000 },
  });
  let i = 0;
  const call = composeFilters(stack.layers(), async (req, ctx) => {
    times.push(clock.now());
    const step = steps[Math.min(i++, steps.length - 1)]!;
    (ctx as CallContext).endpoint = `10.0.0.${i}:80`;
    (ctx as CallContext).classification = step.cls;
    if (step.throws) throw Object.assign(new Error(step.cls.reason), { code: step.cls.reason });
    return `response ${i} (attempt header ${req.headers.attempt ?? '-'})`;
  });
  const run = (req: Req = { headers: {}, replayable: true }) => {
    const ctx = new CallContext('svc');
    // Stamped as a client stamps a call.
    ctx.clock = clock;
    ctx.callStart = clock.now();
    ctx.budgetMs = opts.budgetMs ?? 10_000;
    ctx.maxAttempts = opts.maxAttempts ?? 3;
    return {
      ctx,
      result: call(req, ctx).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
    };
  };
  return { clock, times, discarded, run, budget };
}

describe('retry filter', () => {
  it('retries a retryable failure after a jittered backoff, up to maxAttempts', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const h = harness([{ cls: retryable('ECONNREFUSED', true), throws: true }]);
    const { ctx, result } = h.run();
    await h.clock.advanceAsync(1_000);
    const outcome = await result;
    expect(h.times).toEqual([0, 12, 37]); // full jitter at 0.5: floor(0.5 × 25), then floor(0.5 × 50)
    const { error } = outcome as { error: Error };
    expect(error.name).toBe('RequestFailedError');
    expect((error.cause as Error).message).toBe('ECONNREFUSED');
    expect(ctx.attempt).toBe(3);
  });

  it('sends each retry with a fresh reading of the clock, not the call start', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const h = harness([{ cls: retryable('ECONNREFUSED', true), throws: true }]);
    const { result } = h.run();
    await h.clock.advanceAsync(1_000);
    await result;
    // When each attempt reached the endpoint: after a backoff of 12 ms, then of 25 ms.
    expect(h.times).toEqual([0, 12, 37]);
  });

  it('returns the first success and discards the retried responses', async () => {
    const h = harness([{ cls: retryable('status 503') }, { cls: SUCCESS }]);
    const { result } = h.run();
    await h.clock.advanceAsync(1_000);
    expect(await result).toEqual({ value: 'response 2 (attempt header 2)' });
    expect(h.discarded).toEqual(['response 1 (attempt header -)']);
  });

  it('does not retry failures, successes or ignorable outcomes', async () => {
    for (const cls of [failure('status 500'), SUCCESS, IGNORABLE]) {
      const h = harness([{ cls }]);
      const { result } = h.run();
      await h.clock.advanceAsync(1_000);
      await result;
      expect(h.times).toHaveLength(1);
    }
  });

  it('waits for Retry-After when it is longer than the backoff, and not at all beyond the cap', async () => {
    const h = harness([{ cls: retryable('status 503', false, 2_000) }, { cls: SUCCESS }]);
    const { result } = h.run();
    await h.clock.advanceAsync(5_000);
    await result;
    expect(h.times).toEqual([0, 2_000]);
    const capped = harness([{ cls: retryable('status 503', false, 60_000) }, { cls: SUCCESS }]);
    const second = capped.run();
    await capped.clock.advanceAsync(5_000);
    expect(await second.result).toEqual({ value: 'response 1 (attempt header -)' });
    expect(capped.times).toEqual([0]);
  });

  it("requeues a nack after the pause it names, without the backoff's wait", async () => {
    const h = harness([
      { cls: retryable(NACK_REASON, true, 0) },
      { cls: retryable(NACK_REASON, true, 30) },
      { cls: SUCCESS },
    ]);
    const { result } = h.run();
    await h.clock.advanceAsync(1_000);
    await result;
    expect(h.times).toEqual([0, 0, 30]);
  });

  it('never sleeps past the deadline', async () => {
    const h = harness([{ cls: retryable('status 503', false, 2_000) }, { cls: SUCCESS }], {
      budgetMs: 1_500,
    });
    const { result } = h.run();
    await h.clock.advanceAsync(5_000);
    expect(await result).toEqual({ value: 'response 1 (attempt header -)' });
    expect(h.times).toEqual([0]);
  });

  it('does not retry a body that cannot be replayed', async () => {
    const h = harness([{ cls: retryable('ECONNREFUSED', true), throws: true }]);
    const { result } = h.run({ headers: {}, replayable: false });
    await h.clock.advanceAsync(1_000);
    await result;
    expect(h.times).toHaveLength(1);
  });

  it('fails with a non-retryable RetryBudgetExhaustedError when the budget is empty', async () => {
    const clock = new VirtualClock();
    const budget = new RetryBudget(clock, { minRetriesPerSecond: 0, percentCanRetry: 0 });
    const h = harness([{ cls: retryable('ECONNREFUSED', true), throws: true }], { budget });
    const { result } = h.run();
    await h.clock.advanceAsync(1_000);
    const { error } = (await result) as { error: RetryBudgetExhaustedError };
    expect(error).toBeInstanceOf(RetryBudgetExhaustedError);
    expect(error.retryable).toBe(false);
    expect(error.code).toBe('WEFT_RETRY_BUDGET_EXHAUSTED');
    expect((error.cause as Error).message).toBe('ECONNREFUSED');
    expect(h.times).toHaveLength(1);
  });

  it('returns the last response as it is when the budget refuses its retry', async () => {
    const clock = new VirtualClock();
    const budget = new RetryBudget(clock, { minRetriesPerSecond: 0, percentCanRetry: 0 });
    const h = harness([{ cls: retryable('status 503') }], { budget });
    const { result } = h.run();
    await h.clock.advanceAsync(1_000);
    expect(await result).toEqual({ value: 'response 1 (attempt header -)' });
    expect(h.discarded).toEqual([]);
  });

  it('takes one budget token per retry and deposits one request per call', async () => {
    const h = harness([{ cls: retryable('status 503') }, { cls: SUCCESS }]);
    const before = h.budget.balance();
    const { result } = h.run();
    await h.clock.advanceAsync(1_000);
    await result;
    expect(h.budget.balance()).toBeCloseTo(before + 0.2 - 1, 9);
  });

  it('makes one attempt when maxAttempts is 1', async () => {
    const h = harness([{ cls: retryable('ECONNREFUSED', true), throws: true }], { maxAttempts: 1 });
    const { result } = h.run();
    await h.clock.advanceAsync(1_000);
    await result;
    expect(h.times).toHaveLength(1);
  });
});

describe('retry events', () => {
  it('tell each retry (requeue or not) and each refusal of the budget, to the option callbacks too', async () => {
    const clock = new VirtualClock();
    const adapter = {
      writeDeadline: () => {},
      writeAttempt: () => {},
      prepareReplay: () => {},
      hasInMemoryBody: () => true,
      rewind: () => true,
      discard: () => {},
    };
    const told: string[] = [];
    const filter = retryFilter<Req, string>({
      clock,
      adapter,
      budget: new RetryBudget(clock, { minRetriesPerSecond: 0.1, percentCanRetry: 0 }),
      backoffInitialMs: 0.001,
      backoffMaxMs: 0.001,
      retryAfterCapMs: 10_000,
      onRetry: (_ctx, requeue) => told.push(`option: ${requeue ? 'requeue' : 'retry'}`),
      onBudgetExhausted: () => told.push('option: budget'),
    });
    filter.onRetry((ctx) => told.push(`event: ${ctx.attemptReason}`));
    filter.onBudgetExhausted(() => told.push('event: budget'));
    const classes = [retryable('ECONNREFUSED', true), retryable('status 503'), retryable('status 503')];
    let i = 0;
    const call = composeFilters([contextFilter(filter)], async (_req, ctx) => {
      (ctx as CallContext).classification = classes[i++];
      return 'response';
    });
    const ctx = new CallContext('svc');
    ctx.clock = clock;
    ctx.maxAttempts = 3;
    const result = call({ headers: {}, replayable: true }, ctx);
    await clock.advanceAsync(1);
    await result;
    expect(told).toEqual(['option: requeue', 'event: requeue', 'option: budget', 'event: budget']);
  });
});
