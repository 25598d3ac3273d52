/**
 * The ambient context's signal (the incoming request's cancellation) in the client stack, on the
 * virtual clock: a call whose caller gave no signal is cancelled with it, whether its transport
 * follows the call's signal (HTTP) or weft's own token (gRPC, a dispatcher), before the deadline
 * and without one; an already-aborted signal sends nothing; the caller's own signal wins; the
 * listener on the incoming signal goes when the call finishes; `inheritAmbientDeadline: false`
 * takes neither the deadline nor the signal.
 */
import { describe, expect, it } from 'vitest';
import { defaultClientStack } from '../../src/client/default-stack.js';
import { runWithAmbientContext } from '../../src/core/ambient.js';
import { Cancellation } from '../../src/core/cancellation.js';
import { CallContext } from '../../src/core/context.js';
import { DeadlineExceededError } from '../../src/core/errors.js';
import { composeFilters, type Next } from '../../src/core/service.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';

type Req = Record<string, never>;

/** A transport that answers 'ok' when `answer()` is called, and fails when the call is cancelled. */
function transport(seen: CallContext[]): { next: Next<Req, string>; answer(): void } {
  let answer = () => {};
  const next: Next<Req, string> = (_req, info) =>
    new Promise((resolve, reject) => {
      const ctx = info as CallContext;
      seen.push(ctx);
      answer = () => resolve('ok');
      const c = ctx.cancellation;
      if (c !== undefined) c.once('abort', () => reject(c.reason));
      else ctx.signal?.addEventListener('abort', () => reject(ctx.signal?.reason), { once: true });
    });
  return { next, answer: () => answer() };
}

function build(clock: VirtualClock, terminal: Next<Req, string>, inheritAmbient = true) {
  const adapter = {
    writeDeadline: () => {},
    writeAttempt: () => {},
    prepareReplay: () => {},
    hasInMemoryBody: () => true,
    rewind: () => true,
    discard: () => {},
  };
  const stack = defaultClientStack<Req, string>({
    clock,
    adapter,
    inheritAmbientDeadline: inheritAmbient,
    retry: undefined,
  });
  return composeFilters(stack.layers(), terminal);
}

function context(budgetMs: number, signal?: AbortSignal, token?: Cancellation): CallContext {
  const ctx = new CallContext('svc', signal, token);
  ctx.budgetMs = budgetMs;
  return ctx;
}

const inbound = (clock: VirtualClock, signal: AbortSignal, leftMs = Number.POSITIVE_INFINITY) => ({
  deadline: clock.now() + leftMs,
  clock,
  signal,
});

describe('the ambient signal cancels a call whose caller gave none', () => {
  it('a call followed by its signal (HTTP): cancelled with the reason, unwrapped', async () => {
    const clock = new VirtualClock();
    const seen: CallContext[] = [];
    const call = build(clock, transport(seen).next);
    const incoming = new AbortController();
    const outcome = runWithAmbientContext(inbound(clock, incoming.signal, 500), () =>
      call({}, context(1_000)),
    ).catch((e: unknown) => e);
    await clock.advanceAsync(100);
    const reason = new Error('incoming cancelled');
    incoming.abort(reason);
    expect(await outcome).toBe(reason);
    expect(seen).toHaveLength(1);
    // The deadline's entry went with the call: its list's timer finds nothing left when it fires.
    await clock.advanceAsync(1_000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a call followed by its own token (gRPC): the token is aborted, with or without a deadline', async () => {
    for (const budget of [1_000, Number.POSITIVE_INFINITY]) {
      const clock = new VirtualClock();
      const call = build(clock, transport([]).next);
      const incoming = new AbortController();
      const token = new Cancellation();
      const outcome = runWithAmbientContext(inbound(clock, incoming.signal), () =>
        call({}, context(budget, undefined, token)),
      ).catch((e: unknown) => e);
      await clock.advanceAsync(100);
      expect(token.cancelled).toBe(false);
      const reason = new Error('incoming cancelled');
      incoming.abort(reason);
      expect(token.cancelled).toBe(true);
      expect(await outcome).toBe(reason);
      await clock.advanceAsync(1_000);
      expect(clock.pendingTimers).toBe(0);
    }
  });

  it("a call with its own token still ends at the deadline, and the incoming signal's listener goes with it", async () => {
    const clock = new VirtualClock();
    const call = build(clock, transport([]).next);
    const incoming = new AbortController();
    const token = new Cancellation();
    const outcome = runWithAmbientContext(inbound(clock, incoming.signal, 300), () =>
      call({}, context(1_000, undefined, token)),
    ).catch((e: unknown) => e);
    await clock.advanceAsync(300);
    expect(await outcome).toBeInstanceOf(DeadlineExceededError);

    // A call that answered: aborting the incoming signal afterwards no longer reaches its token.
    const answered = transport([]);
    const later = new AbortController();
    const secondToken = new Cancellation();
    const done = runWithAmbientContext(inbound(clock, later.signal, 300), () =>
      build(clock, answered.next)({}, context(1_000, undefined, secondToken)),
    );
    answered.answer();
    expect(await done).toBe('ok');
    later.abort(new Error('later'));
    expect(secondToken.cancelled).toBe(false);
  });

  it('an incoming signal already aborted sends nothing and aborts the token; a spent budget is a deadline', async () => {
    const clock = new VirtualClock();
    const seen: CallContext[] = [];
    const call = build(clock, transport(seen).next);
    const reason = new Error('gone');
    const incoming = AbortSignal.abort(reason);
    const token = new Cancellation();
    for (const ctx of [context(1_000), context(1_000, undefined, token)]) {
      await expect(runWithAmbientContext(inbound(clock, incoming), () => call({}, ctx))).rejects.toBe(reason);
    }
    expect(token.reason).toBe(reason);
    await expect(
      runWithAmbientContext(inbound(clock, incoming, -5), () => call({}, context(1_000))),
    ).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(seen).toHaveLength(0);
  });

  it("the caller's own signal wins; inheritAmbientDeadline: false takes no signal either", async () => {
    const clock = new VirtualClock();
    const incoming = AbortSignal.abort(new Error('gone'));
    const answering = transport([]);
    const withOwnSignal = runWithAmbientContext(inbound(clock, incoming), () =>
      build(clock, answering.next)({}, context(1_000, new AbortController().signal)),
    );
    answering.answer();
    expect(await withOwnSignal).toBe('ok');

    const notInheriting = transport([]);
    const outcome = runWithAmbientContext(inbound(clock, incoming, 10), () =>
      build(clock, notInheriting.next, false)({}, context(1_000)),
    );
    await clock.advanceAsync(50);
    notInheriting.answer();
    expect(await outcome).toBe('ok');
  });
});
