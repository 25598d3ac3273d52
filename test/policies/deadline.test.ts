/**
 * Deadline and attempt filters on the virtual clock: the deadline cancels the call when it
 * passes and not before, the per-attempt timeout cancels only the attempt, the caller's signal
 * is honoured, the ambient deadline narrows the budget, and nothing is left scheduled.
 */
import { describe, expect, it } from 'vitest';
import { defaultClientStack } from '../../src/client/default-stack.js';
import { runWithAmbientContext } from '../../src/core/ambient.js';
import { CallContext } from '../../src/core/context.js';
import { DeadlineExceededError } from '../../src/core/errors.js';
import { composeFilters, contextFilter, type Next } from '../../src/core/service.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { AttemptTimeoutError } from '../../src/policies/attempt.js';
import { outboundDeadlineFilter } from '../../src/policies/outbound-deadline.js';

interface Req {
  headers: Record<string, string>;
}

/** A transport that never answers on its own: it settles only when cancelled. */
function hangingTransport(seen: CallContext[]): Next<Req, string> {
  return (_req, info) =>
    new Promise((_, reject) => {
      const ctx = info as CallContext;
      seen.push(ctx);
      const c = ctx.cancellation;
      if (c !== undefined) c.once('abort', () => reject(c.reason));
      else ctx.signal?.addEventListener('abort', () => reject(ctx.signal?.reason));
    });
}

function build(clock: VirtualClock, terminal: Next<Req, string>) {
  const adapter = {
    writeDeadline: (req: Req, ms: number) => {
      req.headers.deadline = String(Math.floor(ms));
    },
    writeAttempt: (req: Req, n: number) => {
      req.headers.attempt = String(n);
    },
    prepareReplay: () => {},
    hasInMemoryBody: () => true,
    rewind: () => true,
    discard: () => {},
  };
  const stack = defaultClientStack<Req, string>({
    clock,
    adapter,
    inheritAmbientDeadline: true,
    retry: undefined,
  });
  // The endpoint stack's deadline-header layer sits just above the transport.
  const header = outboundDeadlineFilter<Req, string>({ clock, adapter });
  return composeFilters([...stack.layers(), contextFilter(header)], terminal);
}

function context(budgetMs: number, attemptTimeoutMs = Number.POSITIVE_INFINITY, signal?: AbortSignal) {
  const ctx = new CallContext('svc', signal);
  ctx.budgetMs = budgetMs;
  ctx.attemptTimeoutMs = attemptTimeoutMs;
  return ctx;
}

describe('deadline filter', () => {
  it('cancels the call exactly when the deadline passes', async () => {
    const clock = new VirtualClock();
    const call = build(clock, hangingTransport([]));
    const req = { headers: {} as Record<string, string> };
    let settled: unknown;
    void call(req, context(250)).catch((e: unknown) => {
      settled = e;
    });
    expect(req.headers.deadline).toBe('250');
    await clock.advanceAsync(249);
    expect(settled).toBeUndefined();
    await clock.advanceAsync(1);
    expect(settled).toBeInstanceOf(DeadlineExceededError);
    expect((settled as DeadlineExceededError).budgetMs).toBe(250);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fails at once, sending nothing, when the budget is already spent', async () => {
    const clock = new VirtualClock();
    const seen: CallContext[] = [];
    const call = build(clock, hangingTransport(seen));
    await expect(
      runWithAmbientContext({ deadline: clock.now() - 5, clock }, () =>
        call({ headers: {} }, context(1_000)),
      ),
    ).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(seen).toHaveLength(0);
  });

  it('narrows the budget to the ambient deadline', async () => {
    const clock = new VirtualClock();
    const call = build(clock, hangingTransport([]));
    const req = { headers: {} as Record<string, string> };
    const outcome = runWithAmbientContext({ deadline: clock.now() + 80, clock }, () =>
      call(req, context(1_000)),
    ).catch((e: unknown) => e);
    expect(req.headers.deadline).toBe('80');
    await clock.advanceAsync(80);
    expect(await outcome).toBeInstanceOf(DeadlineExceededError);
  });

  it('leaves the schedule empty when the call answers in time', async () => {
    const clock = new VirtualClock();
    const call = build(clock, async () => 'ok');
    await expect(call({ headers: {} }, context(1_000))).resolves.toBe('ok');
    await clock.advanceAsync(1_000);
    expect(clock.pendingTimers).toBe(0);
  });

  it("honours the caller's AbortSignal alongside the deadline", async () => {
    const clock = new VirtualClock();
    const call = build(clock, hangingTransport([]));
    const controller = new AbortController();
    const outcome = call({ headers: {} }, context(1_000, Number.POSITIVE_INFINITY, controller.signal)).catch(
      (e: unknown) => e,
    );
    await clock.advanceAsync(10);
    controller.abort(new Error('caller left'));
    expect(((await outcome) as Error).message).toBe('caller left');
    const late = call(
      { headers: {} },
      context(50, Number.POSITIVE_INFINITY, new AbortController().signal),
    ).catch((e: unknown) => e);
    await clock.advanceAsync(50);
    expect(await late).toBeInstanceOf(DeadlineExceededError);
  });
});

describe('attempt filter', () => {
  it('times out the attempt before the deadline and sends the attempt budget', async () => {
    const clock = new VirtualClock();
    const seen: CallContext[] = [];
    const call = build(clock, hangingTransport(seen));
    const req = { headers: {} as Record<string, string> };
    const outcome = call(req, context(1_000, 100)).catch((e: unknown) => e);
    expect(req.headers.deadline).toBe('100');
    expect(seen[0]!.attempt).toBe(1);
    await clock.advanceAsync(100);
    const error = await outcome;
    expect(error).toBeInstanceOf(AttemptTimeoutError);
    expect((error as AttemptTimeoutError).timeoutMs).toBe(100);
    // The deadline's list timer lapses at its old due time, finding nothing left to expire.
    await clock.advanceAsync(900);
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets the call deadline win when it is shorter than the attempt timeout', async () => {
    const clock = new VirtualClock();
    const call = build(clock, hangingTransport([]));
    const req = { headers: {} as Record<string, string> };
    const outcome = call(req, context(60, 100)).catch((e: unknown) => e);
    expect(req.headers.deadline).toBe('60');
    await clock.advanceAsync(60);
    expect(await outcome).toBeInstanceOf(DeadlineExceededError);
  });
});
