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
import { type CallContext, descentTime } from '../core/context.js';
import { type CallErrorDetails, WeftError } from '../core/errors.js';
import { Expiry, type ExpiryScheduler, expirySchedulerFor } from '../core/expiry.js';
import type { ProtocolAdapter } from '../core/protocol.js';
import { type Filter, keepingDescentTime, type Next } from '../core/service.js';

export interface AttemptFilterOptions<Req> {
  readonly clock: Clock;
  /** Writes the attempt number on retries (`weft-attempt: 2`, ...). */
  readonly adapter: Pick<ProtocolAdapter<Req>, 'writeAttempt'>;
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

/** The attempt's timeout as an expiry-list entry. */
class AttemptExpiry extends Expiry {
  fired = false;

  constructor(
    readonly target: Cancellation,
    readonly ctx: CallContext,
    readonly timeoutMs: number,
  ) {
    super();
  }

  expire(): void {
    this.fired = true;
    this.target.abort(attemptTimeoutError(this.ctx, this.timeoutMs));
  }
}

export function attemptFilter<Req, Res>(options: AttemptFilterOptions<Req>): Filter<Req, Res> {
  const { clock, adapter } = options;
  const scheduler = expirySchedulerFor(clock);
  return keepingDescentTime((req: Req, ctx: CallContext, next: Next<Req, Res>): Promise<Res> => {
    const attempt = ++ctx.attempt;
    ctx.endpoint = undefined;
    ctx.classification = undefined;
    ctx.request = undefined;
    ctx.requestWritten = false;
    ctx.attemptEnd = Number.NaN;
    if (attempt > 1) adapter.writeAttempt(req, attempt);
    const cancelled = ctx.cancelledReason();
    if (cancelled !== undefined) return Promise.reject(cancelled);
    const now = descentTime(ctx, clock);
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
    return withAttemptTimeout(req, ctx, next, scheduler, attemptTimeout, now);
  });
}

async function withAttemptTimeout<Req, Res>(
  req: Req,
  ctx: CallContext,
  next: Next<Req, Res>,
  scheduler: ExpiryScheduler,
  timeoutMs: number,
  now: number,
): Promise<Res> {
  const parent = ctx.cancellation;
  const attempt = new Cancellation();
  // The call's cancellation (deadline, caller) reaches the attempt too, for as long as it streams.
  // A caller's signal is wrapped in a per-call AbortSignal.any, which holds it weakly, so the
  // listener dies with the call instead of piling up on a long-lived signal.
  let forward: (() => void) | undefined;
  if (parent !== undefined) {
    forward = () => attempt.abort(parent.reason);
    parent.once('abort', forward);
  } else if (ctx.signal !== undefined) {
    const signal = AbortSignal.any([ctx.signal]);
    ctx.signal = signal;
    forward = () => attempt.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
  }
  const expiry = new AttemptExpiry(attempt, ctx, timeoutMs);
  scheduler.add(expiry, timeoutMs, now);
  ctx.cancellation = attempt;
  try {
    return await next(req, ctx);
  } catch (error) {
    if (expiry.fired) {
      ctx.reportAttempt(error, true); // recorded first, so the error's message lists this attempt too
      throw attemptTimeoutError(ctx, timeoutMs);
    }
    throw error;
  } finally {
    scheduler.remove(expiry);
    ctx.cancellation = parent;
  }
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
