/**
 * Attempt filter: runs once per attempt (it sits below retry and hedge, above the balancer).
 * It numbers the attempt, refuses to start one when the call is cancelled or its deadline has
 * passed, sets the attempt's own deadline (`ctx.attemptDeadline`, which the endpoint stack's
 * `deadline-header` layer writes on the wire after the pick) and applies the per-attempt timeout.
 * Default per-attempt timeout: none (Finagle and Linkerd set none; the total deadline still
 * bounds every attempt); see docs/deadlines.md.
 */

import { Cancellation } from '../core/cancellation.js';
import type { Clock } from '../core/clock.js';
import type { AttemptTimer, CallContext } from '../core/context.js';
import { type CallErrorDetails, WeftError } from '../core/errors.js';
import {
  type ExpiryEntry,
  type ExpiryList,
  type ExpiryScheduler,
  expirySchedulerFor,
} from '../core/expiry.js';
import type { ProtocolAdapter } from '../core/protocol.js';
import type { Filter, Next } from '../core/service.js';
import type { SharedReadings } from '../core/shared-readings.js';

export interface AttemptFilterOptions<Req> {
  readonly clock: Clock;
  /** Writes the attempt number on retries (`weft-attempt: 2`, ...). */
  readonly adapter: Pick<ProtocolAdapter<Req>, 'writeAttempt'>;
  /** Whether the first attempt may take the client's reading of the clock (../core/shared-readings.ts). */
  readonly readings?: SharedReadings | undefined;
}

/** The per-attempt timeout fired; the attempt is abandoned (and may be retried elsewhere). */
export class AttemptTimeoutError extends WeftError {
  readonly timeoutMs: number;
  readonly endpoint: string | undefined;

  constructor(timeoutMs: number, endpoint: string | undefined, details: CallErrorDetails = {}) {
    super(
      'WEFT_ATTEMPT_TIMEOUT',
      `attempt timed out after ${Math.round(timeoutMs)}ms${endpoint ? ` on ${endpoint}` : ''}`,
      details,
    );
    this.timeoutMs = timeoutMs;
    this.endpoint = endpoint;
  }
}

/**
 * The attempt's own cancellation token, which is also its expiry-list entry and its timer on the
 * context (one object per timed attempt, no async frame): it expires the attempt, hears the
 * call's cancellation (deadline, caller) for as long as the attempt streams, and is stopped when
 * the attempt is reported (CallContext.endAttempt), which gives the call its own token back.
 */
class AttemptTimeout extends Cancellation implements ExpiryEntry, AttemptTimer {
  due = 0;
  prev: ExpiryEntry | null = null;
  next: ExpiryEntry | null = null;
  list: ExpiryList | null = null;
  fired = false;
  readonly #scheduler: ExpiryScheduler;
  readonly #timeoutMs: number;
  readonly #parent: Cancellation | undefined;
  readonly #ctx: CallContext;

  constructor(
    ctx: CallContext,
    scheduler: ExpiryScheduler,
    timeoutMs: number,
    parent: Cancellation | undefined,
  ) {
    super();
    this.#ctx = ctx;
    this.#scheduler = scheduler;
    this.#timeoutMs = timeoutMs;
    this.#parent = parent;
  }

  expire(): void {
    this.fired = true;
    this.abort(attemptTimeoutError(this.#ctx, this.#timeoutMs));
  }

  stop(ctx: CallContext): boolean {
    this.#scheduler.remove(this);
    ctx.cancellation = this.#parent;
    return this.fired;
  }

  timedOut(ctx: CallContext): unknown {
    return attemptTimeoutError(ctx, this.#timeoutMs);
  }

  /** The call's token was cancelled (deadline, caller): so is the attempt. */
  handleEvent(): void {
    this.abort(this.#parent?.reason);
  }
}

export function attemptFilter<Req, Res>(options: AttemptFilterOptions<Req>): Filter<Req, Res, CallContext> {
  const { clock, adapter } = options;
  const readings = options.readings;
  const scheduler = expirySchedulerFor(clock);
  return (req: Req, ctx: CallContext, next: Next<Req, Res, CallContext>): Promise<Res> => {
    const attempt = ctx.beginAttempt();
    if (attempt > 1) adapter.writeAttempt(req, attempt);
    const cancelled = ctx.cancelledReason();
    if (cancelled !== undefined) return Promise.reject(cancelled);
    // The first attempt runs in the tick the client read the clock in, when only its layers are above.
    const now =
      attempt === 1 && readings?.attemptTakesCallStart === true && !Number.isNaN(ctx.callStart)
        ? ctx.callStart
        : clock.now();
    ctx.attemptStart = now;
    const timeLeft = ctx.deadline - now;
    if (timeLeft <= 0) {
      return Promise.reject(ctx.deadlineExceeded(timeLeft));
    }
    const attemptTimeout = ctx.attemptTimeoutMs;
    // Only a per-attempt timeout shorter than the call's deadline needs an expiry of its own.
    if (attemptTimeout >= timeLeft) {
      ctx.attemptDeadline = ctx.deadline;
      return next(req, ctx);
    }
    ctx.attemptDeadline = now + attemptTimeout;
    const parent = ctx.cancellation;
    const timer = new AttemptTimeout(ctx, scheduler, attemptTimeout, parent);
    // The call's cancellation (deadline, caller) reaches the attempt too, for as long as it streams.
    // A caller's signal is wrapped in a per-call AbortSignal.any, which holds it weakly, so the
    // listener dies with the call instead of piling up on a long-lived signal.
    if (parent !== undefined) parent.once('abort', timer);
    else if (ctx.signal !== undefined) {
      const signal = AbortSignal.any([ctx.signal]);
      ctx.signal = signal;
      signal.addEventListener('abort', () => timer.abort(signal.reason), { once: true });
    }
    scheduler.add(timer, attemptTimeout, now);
    ctx.cancellation = timer;
    ctx.attemptTimer = timer;
    return next(req, ctx);
  };
}

/** The AttemptTimeoutError for the current attempt of `ctx`. */
export function attemptTimedOut(ctx: CallContext): AttemptTimeoutError {
  return attemptTimeoutError(ctx, ctx.attemptTimeoutMs);
}

function attemptTimeoutError(ctx: CallContext, timeoutMs: number): AttemptTimeoutError {
  return new AttemptTimeoutError(timeoutMs, ctx.endpoint, {
    destination: ctx.destination,
    attempts: ctx.attempts,
    timeLeftMs: ctx.deadline - ctx.attemptDeadline,
  });
}
