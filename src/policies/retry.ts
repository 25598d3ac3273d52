/**
 * Retry filter: sends a call again when its attempt failed in a way another attempt may fix, and
 * only when that is safe. It sits below the deadline (one deadline bounds every attempt and
 * backoff) and above the attempt filter and the balancer, so every retry is a fresh attempt,
 * balanced afresh, avoiding the endpoints this call already tried.
 *
 * An attempt is retried when all of these hold:
 *   - it was classified `retryable` (src/core/classification.ts): for a request that may have
 *     reached the server, the classifier already required it to be idempotent;
 *   - its body can be replayed (in memory, or a stream within the replay buffer);
 *   - the call has attempts left (`maxAttempts`, default 3: weft's choice; Envoy defaults to one
 *     retry, gRPC A6 caps maxAttempts at 5) and is not cancelled;
 *   - the backoff (full jitter, 25 ms doubling to 250 ms: Envoy's retry back-off; cockatiel's
 *     ExponentialBackoff) or the server's Retry-After (honoured up to 10 s) ends before the deadline;
 *   - the client's retry budget (./retry-budget.ts) has a token. When it does not, the failure is
 *     final and marked so: RetryBudgetExhaustedError, `retryable: false`.
 * Otherwise the last response is returned, or the last error thrown, as it was.
 */

import { ExponentialBackoff, fullJitterGenerator, type IBackoff } from 'cockatiel';
import type { ResponseClass } from '../core/classification.js';
import type { Clock } from '../core/clock.js';
import type { CallContext } from '../core/context.js';
import { RetryBudgetExhaustedError } from '../core/errors.js';
import { type Event, ListenerSet } from '../core/events.js';
import { promiseToEndAttempts, promiseToFinishCall } from '../core/frame-elision.js';
import { NACK_REASON } from '../core/nack.js';
import type { ProtocolAdapter } from '../core/protocol.js';
import type { Filter, Next } from '../core/service.js';
import type { RetryBudget } from './retry-budget.js';

/**
 * Retry's defaults: at most 3 attempts per call (weft's choice; Envoy retries once, gRPC A6 caps
 * attempts at 5), full-jitter backoff from 25 ms doubling to 250 ms (Envoy's retry back-off), and a
 * Retry-After honoured up to 10 s (weft's choice).
 */
export const RETRY_DEFAULTS = {
  maxAttempts: 3,
  backoffInitialMs: 25,
  backoffMaxMs: 250,
  retryAfterCapMs: 10_000,
} as const;

/**
 * The most attempts one call may make, the first included, per client (`retry.maxAttempts`) and
 * per call (`maxAttempts`). gRPC's retry design caps maxAttempts at 5 (gRFC A6: larger values are
 * treated as 5); weft rejects larger values with a ConfigError instead, so a setting never means
 * less than it says. The budget bounds retries across calls, this bounds one call: without it, a
 * huge `maxAttempts` would resend one call to a replica answering 503 for as long as the
 * deadline and the budget's reserve allow.
 */
export const MAX_ATTEMPTS_LIMIT = 5;

/** Why {@link MAX_ATTEMPTS_LIMIT} is what it is, for the ConfigError of a value above it. */
export const MAX_ATTEMPTS_REASON =
  'gRPC caps attempts at 5 (gRFC A6); weft rejects more rather than cap them';

export interface RetryFilterOptions<Req, Res> {
  readonly clock: Clock;
  readonly adapter: ProtocolAdapter<Req, Res>;
  readonly budget: RetryBudget;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly retryAfterCapMs: number;
  /** Subscribed to `onRetry`: a retry (or a requeue, when the server never saw the request) is about to go. */
  readonly onRetry?: ((ctx: CallContext, requeue: boolean) => void) | undefined;
  /** Subscribed to `onBudgetExhausted`: the budget refused a retry. */
  readonly onBudgetExhausted?: ((ctx: CallContext) => void) | undefined;
}

/** The retry filter, with its events (src/core/events.ts). */
export type RetryFilter<Req, Res> = Filter<Req, Res, CallContext> & {
  /**
   * Another attempt of the call is about to go: `ctx.attemptReason` says whether it is a `retry`
   * or a `requeue` (the server never saw the request).
   */
  readonly onRetry: Event<CallContext>;
  /** The retry budget refused to send the call again. */
  readonly onBudgetExhausted: Event<CallContext>;
};

/** What every call through one retry filter shares: where backoffs start, and the events. */
interface RetryShared {
  readonly backoff: ExponentialBackoff<unknown>;
  readonly retried: ListenerSet<CallContext>;
  readonly budgetExhausted: ListenerSet<CallContext>;
}

export function retryFilter<Req, Res>(options: RetryFilterOptions<Req, Res>): RetryFilter<Req, Res> {
  const shared: RetryShared = {
    backoff: new ExponentialBackoff({
      generator: fullJitterGenerator,
      initialDelay: options.backoffInitialMs,
      maxDelay: options.backoffMaxMs,
      exponent: 2,
    }),
    retried: new ListenerSet('retry.onRetry'),
    budgetExhausted: new ListenerSet('retry.onBudgetExhausted'),
  };
  const { onRetry, onBudgetExhausted } = options;
  if (onRetry !== undefined) shared.retried.add((ctx) => onRetry(ctx, ctx.attemptReason === 'requeue'));
  if (onBudgetExhausted !== undefined) shared.budgetExhausted.add(onBudgetExhausted);
  const { clock, adapter, budget } = options;
  const filter = (req: Req, ctx: CallContext, next: Next<Req, Res, CallContext>): Promise<Res> => {
    // The call counts into the budget's window at its start (a context made outside a client
    // has none: then now).
    const start = ctx.callStart;
    budget.deposit(Number.isNaN(start) ? clock.now() : start);
    ctx.budgetDeposited = true;
    if (ctx.maxAttempts <= 1) return next(req, ctx);
    adapter.prepareReplay(req);
    // This frame awaits every attempt and the whole call: it reports both (see CallContext), so
    // neither the balancer nor the deadline needs a frame of its own.
    promiseToFinishCall(ctx);
    return firstTry(req, ctx, next, options, shared);
  };
  return Object.assign(filter, {
    onRetry: shared.retried.event,
    onBudgetExhausted: shared.budgetExhausted.event,
  });
}

/**
 * The first attempt, awaited without an async frame: most calls end with it, and an async
 * function's frame is the largest object a call would make here. A retry goes on in
 * {@link retrying}. This promise settles the whole call (see CallContext).
 */
function firstTry<Req, Res>(
  req: Req,
  ctx: CallContext,
  next: Next<Req, Res, CallContext>,
  options: RetryFilterOptions<Req, Res>,
  shared: RetryShared,
): Promise<Res> {
  const recorded = beginTry(ctx);
  let pending: Promise<Res>;
  try {
    pending = next(req, ctx);
  } catch (error) {
    pending = Promise.reject(error);
  }
  return pending.then(
    (response) => afterFirstTry(req, ctx, next, options, shared, recorded, response, undefined, false),
    (error: unknown) => afterFirstTry(req, ctx, next, options, shared, recorded, undefined, error, true),
  );
}

/**
 * Start a try: this layer awaits and ends its attempt. Returns how many attempts were recorded
 * before it: those recorded from here on belong to this try (a hedged try records its copies itself).
 */
function beginTry(ctx: CallContext): number {
  ctx.classification = undefined;
  promiseToEndAttempts(ctx);
  return ctx.attempts?.length ?? 0;
}

function afterFirstTry<Req, Res>(
  req: Req,
  ctx: CallContext,
  next: Next<Req, Res, CallContext>,
  options: RetryFilterOptions<Req, Res>,
  shared: RetryShared,
  recorded: number,
  response: Res | undefined,
  error: unknown,
  failed: boolean,
): Res | Promise<Res> {
  if (failed) error = ctx.endAttempt(error, true);
  else ctx.endAttempt(response, false);
  const state = afterAttempt(req, ctx, options, shared, undefined, recorded, response, error, failed);
  if (state === undefined || !state.retry) return finish(ctx, state, response, error, failed);
  return retrying(req, ctx, next, options, state);
}

/**
 * The retry loop, from the wait before the first retry: the call's one async frame from then on.
 * It keeps few locals, since each one is saved and restored at every await; what a retry needs
 * is decided in {@link planRetry} and kept in the call's {@link RetryState}.
 */
async function retrying<Req, Res>(
  req: Req,
  ctx: CallContext,
  next: Next<Req, Res, CallContext>,
  options: RetryFilterOptions<Req, Res>,
  state: RetryState,
): Promise<Res> {
  for (;;) {
    const delay = state.delay;
    if (delay > 0) {
      try {
        await sleep(options.clock, delay, ctx);
      } catch (cancelled) {
        return settle<Res>(ctx, undefined, cancelled, true);
      }
    }
    let response: Res | undefined;
    let error: unknown;
    let failed = false;
    const recorded = beginTry(ctx);
    try {
      response = await next(req, ctx);
    } catch (e) {
      error = e;
      failed = true;
    }
    if (failed) error = ctx.endAttempt(error, true);
    else ctx.endAttempt(response, false);
    if (afterAttempt(req, ctx, options, state.shared, state, recorded, response, error, failed) === undefined)
      return settle(ctx, response, error, failed);
    if (!state.retry) return finish(ctx, state, response, error, failed);
  }
}

/**
 * After an attempt was reported (`ctx.classification` set): undefined when it was not retryable;
 * otherwise the call's RetryState (made on the first retryable attempt), with `retry` saying
 * whether it goes again (after `delay`). An attempt's response that will not be returned is
 * discarded here.
 */
function afterAttempt<Req, Res>(
  req: Req,
  ctx: CallContext,
  options: RetryFilterOptions<Req, Res>,
  shared: RetryShared,
  state: RetryState | undefined,
  recorded: number,
  response: Res | undefined,
  error: unknown,
  failed: boolean,
): RetryState | undefined {
  // Set when the attempt was reported (TypeScript cannot see that through the callers' awaits).
  const verdict = ctx.classification as ResponseClass | undefined;
  if (verdict === undefined || verdict.kind !== 'retryable') {
    if (verdict !== undefined && verdict.kind === 'failure')
      decide(ctx, recorded, 'not retried: not retryable');
    return undefined;
  }
  state ??= new RetryState(shared);
  state.recorded = recorded;
  state.error = error;
  state.failed = failed;
  state.retry = planRetry(req, ctx, options, state);
  if (state.retry && !failed) options.adapter.discard(response as Res);
  return state;
}

/** End the call after its last attempt: with that attempt's outcome, or the error the retry budget's refusal set. */
function finish<Res>(
  ctx: CallContext,
  state: RetryState | undefined,
  response: Res | undefined,
  error: unknown,
  failed: boolean,
): Res {
  return state?.finalError === undefined
    ? settle(ctx, response, error, failed)
    : settle<Res>(ctx, undefined, state.finalError, true);
}

/** What a call's retries carry from one to the next. */
class RetryState {
  /** The backoff so far; undefined before the first retry's. */
  backoff: IBackoff<unknown> | undefined = undefined;
  /** Whether {@link planRetry} allowed the last attempt to go again. */
  retry = false;
  /** The wait before the retry that {@link planRetry} allowed, in ms. */
  delay = 0;
  /** The clock's reading when it was allowed. */
  now = 0;
  /** Set when the call must end with this error instead of the attempt's outcome. */
  finalError: unknown = undefined;
  /** The attempt just reported: how many attempts were recorded before it, and how it ended. */
  recorded = 0;
  error: unknown = undefined;
  failed = false;

  constructor(readonly shared: RetryShared) {}
}

/**
 * Whether the retryable attempt just reported (`ctx.classification`, `state`) may be sent again,
 * and after what wait (`state.delay`). Notes the decision on the attempt's record either way; a
 * retry budget that refuses a failed attempt sets `state.finalError`.
 */
function planRetry<Req, Res>(
  req: Req,
  ctx: CallContext,
  options: RetryFilterOptions<Req, Res>,
  state: RetryState,
): boolean {
  const verdict = ctx.classification as ResponseClass;
  const recorded = state.recorded;
  if (ctx.attempt >= ctx.maxAttempts) {
    decide(ctx, recorded, `not retried: ${ctx.maxAttempts} attempts used`);
    return false;
  }
  if (ctx.cancelledReason() !== undefined) {
    decide(ctx, recorded, 'not retried: cancelled');
    return false;
  }
  const backoff = state.backoff === undefined ? state.shared.backoff.next() : state.backoff.next(undefined);
  state.backoff = backoff;
  const pushback = verdict.retryAfterMs === undefined ? 0 : verdict.retryAfterMs;
  if (pushback > options.retryAfterCapMs) {
    decide(ctx, recorded, `not retried: Retry-After ${Math.round(pushback)}ms beyond the cap`);
    return false;
  }
  // A nack goes elsewhere after the pause it names (weft's server half says 0): the replica is
  // full, not failing, and another can take it now (Finagle requeues nacks at once too).
  const delay = verdict.reason === NACK_REASON ? pushback : Math.max(backoff.duration, pushback);
  const now = options.clock.now();
  if (now + delay >= ctx.deadline) {
    decide(ctx, recorded, 'not retried: the deadline would pass');
    return false;
  }
  if (!options.adapter.rewind(req)) {
    decide(ctx, recorded, 'not retried: body cannot be replayed');
    return false;
  }
  if (!options.budget.tryWithdraw()) {
    decide(ctx, recorded, 'not retried: retry budget exhausted');
    state.shared.budgetExhausted.emit(ctx);
    if (state.failed) {
      state.finalError = new RetryBudgetExhaustedError({
        destination: ctx.destination,
        attempts: ctx.attempts,
        timeLeftMs: ctx.deadline - now,
        cause: state.error,
      });
    }
    return false;
  }
  decide(ctx, recorded, verdict.requeue ? 'requeued' : 'retried');
  ctx.attemptReason = verdict.requeue ? 'requeue' : 'retry';
  state.shared.retried.emit(ctx);
  state.delay = delay;
  state.now = now;
  return true;
}

/** End the call: let its owner (the deadline) clean up, then return or throw what the call gave. */
function settle<Res>(ctx: CallContext, response: Res | undefined, error: unknown, failed: boolean): Res {
  const final = ctx.finishCall(failed, failed ? error : response);
  if (failed) throw final;
  return response as Res;
}

/** Wait `ms` on the clock; a cancelled call (deadline, abort) ends the wait with its reason. */
function sleep(clock: Clock, ms: number, ctx: CallContext): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cancellation = ctx.cancellation;
    const signal = ctx.signal;
    const onCancel = () => {
      clock.clearTimeout(timer);
      reject(ctx.cancelledReason());
    };
    const timer = clock.setTimeout(() => {
      cancellation?.removeListener('abort', onCancel);
      signal?.removeEventListener('abort', onCancel);
      resolve();
    }, ms);
    cancellation?.once('abort', onCancel);
    signal?.addEventListener('abort', onCancel, { once: true });
  });
}

/** The balancer recorded the attempt if it failed: note on it why it was or was not sent again. */
function decide(ctx: CallContext, recordedBefore: number, decision: string): void {
  const attempts = ctx.attempts;
  if (attempts !== undefined && attempts.length > recordedBefore)
    attempts[attempts.length - 1]!.decision = decision;
}
