/**
 * Deadline filter: sets the call's deadline to the earliest of its total timeout and the ambient
 * deadline inherited from the incoming request being served, fails at once without sending when
 * that has already passed, and cancels the call when it passes. It sits above retry (below route
 * and observe) so that one deadline bounds every attempt and every backoff, and retries stop when
 * time is up. The deadline covers the call until its response headers; reading the body is then
 * the caller's, bounded by the transport's body timeout.
 * Cost: no timer and no AbortController per call: an entry in a shared expiry list
 * (src/core/expiry.ts) and a Cancellation token; a caller's AbortSignal takes a slower path.
 * Default total timeout: 15 s (Envoy's default route timeout); see docs/deadlines.md.
 */
import { ambientTimeLeft } from '../core/ambient.js';
import { Cancellation } from '../core/cancellation.js';
import type { Clock } from '../core/clock.js';
import type { CallContext } from '../core/context.js';
import {
  Expiry,
  type ExpiryEntry,
  type ExpiryList,
  type ExpiryScheduler,
  expirySchedulerFor,
} from '../core/expiry.js';
import type { Filter, Next } from '../core/service.js';

/** Default total timeout of a call, in ms (Envoy's route timeout default, 15 s). */
export const DEFAULT_TOTAL_TIMEOUT_MS = 15_000;

export interface DeadlineFilterOptions {
  readonly clock: Clock;
  /** Inherit the ambient deadline of the incoming request (default true). */
  readonly inheritAmbient: boolean;
}

/** What the deadline cancels: a Cancellation, or an AbortController when the caller gave a signal. */
interface Abortable {
  abort(reason: unknown): void;
}

/** The call's deadline as an expiry-list entry that cancels something else when it expires. */
class DeadlineExpiry extends Expiry {
  fired = false;

  constructor(
    readonly target: Abortable,
    readonly ctx: CallContext,
  ) {
    super();
  }

  expire(): void {
    this.fired = true;
    this.target.abort(this.ctx.deadlineExceeded(0));
  }
}

/**
 * The common case in one object: the call's own cancellation token, itself the expiry-list entry
 * that cancels it at the deadline (one allocation per call instead of two).
 */
class DeadlineToken extends Cancellation implements ExpiryEntry {
  due = 0;
  prev: ExpiryEntry | null = null;
  next: ExpiryEntry | null = null;
  list: ExpiryList | null = null;
  fired = false;
  readonly ctx: CallContext;

  constructor(ctx: CallContext) {
    super();
    this.ctx = ctx;
  }

  expire(): void {
    this.fired = true;
    this.abort(this.ctx.deadlineExceeded(0));
  }
}

/**
 * The deadline filter. The call's own budget is `ctx.budgetMs` (set by the client from the
 * per-call or per-client total timeout); this filter narrows it by the ambient deadline.
 */
export function deadlineFilter<Req, Res>(options: DeadlineFilterOptions): Filter<Req, Res> {
  const { clock, inheritAmbient } = options;
  const scheduler = expirySchedulerFor(clock);
  return (req: Req, ctx: CallContext, next: Next<Req, Res>): Promise<Res> => {
    const now = clock.now();
    const ambient = inheritAmbient ? ambientTimeLeft() : Number.POSITIVE_INFINITY;
    // An ambient deadline already past leaves a budget of 0, not a negative one.
    const budget = Math.max(0, Math.min(ambient, ctx.budgetMs));
    ctx.budgetMs = budget;
    if (budget === Number.POSITIVE_INFINITY) return next(req, ctx);
    ctx.deadline = now + budget;
    if (budget <= 0) return Promise.reject(ctx.deadlineExceeded(0));
    const callerSignal = ctx.signal;
    let expiry: DeadlineToken | DeadlineExpiry;
    if (callerSignal === undefined && ctx.cancellation === undefined) {
      const token = new DeadlineToken(ctx);
      ctx.cancellation = token;
      expiry = token;
    } else if (callerSignal === undefined) {
      expiry = new DeadlineExpiry(ctx.cancellation!, ctx);
    } else {
      if (callerSignal.aborted) return Promise.reject(callerSignal.reason);
      const controller = new AbortController();
      ctx.signal = AbortSignal.any([callerSignal, controller.signal]);
      expiry = new DeadlineExpiry(controller, ctx);
    }
    scheduler.add(expiry, budget, now);
    return untilSettled(req, ctx, next, scheduler, expiry);
  };
}

async function untilSettled<Req, Res>(
  req: Req,
  ctx: CallContext,
  next: Next<Req, Res>,
  scheduler: ExpiryScheduler,
  expiry: DeadlineToken | DeadlineExpiry,
): Promise<Res> {
  try {
    return await next(req, ctx);
  } catch (error) {
    // A cancellation caused by the deadline surfaces as the deadline error, whatever the transport threw.
    if (expiry.fired) throw ctx.deadlineExceeded(0, error);
    throw error;
  } finally {
    scheduler.remove(expiry);
  }
}
