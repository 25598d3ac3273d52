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
 *
 * The incoming request's cancellation (the ambient context's `signal`, set by a server
 * integration such as the gRPC server interceptor) stands in for a signal the caller did not
 * give: the same one read of the ambient store gives both, so a call outside any request pays
 * nothing more. A call whose transport follows its signal takes it as that signal; one whose
 * transport follows weft's own token (a gRPC call, a dispatcher's) has the token aborted with it,
 * by a listener removed when the call finishes.
 */

import { currentAmbientContext } from '../core/ambient.js';
import { Cancellation } from '../core/cancellation.js';
import type { Clock } from '../core/clock.js';
import type { CallContext, CallOwner } from '../core/context.js';
import {
  Expiry,
  type ExpiryEntry,
  type ExpiryList,
  type ExpiryScheduler,
  expirySchedulerFor,
} from '../core/expiry.js';
import { callFinishingHere } from '../core/frame-elision.js';
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
class DeadlineExpiry extends Expiry implements CallOwner {
  fired = false;

  constructor(
    readonly target: Abortable,
    readonly ctx: CallContext,
    readonly scheduler: ExpiryScheduler,
  ) {
    super();
  }

  expire(): void {
    this.fired = true;
    this.target.abort(this.ctx.deadlineExceeded(0));
  }

  finishCall(ctx: CallContext, failed: boolean, error: unknown): unknown {
    return finish(this, ctx, failed, error);
  }
}

/**
 * The common case in one object: the call's own cancellation token, itself the expiry-list entry
 * that cancels it at the deadline (one allocation per call instead of two).
 */
class DeadlineToken extends Cancellation implements ExpiryEntry, CallOwner {
  due = 0;
  prev: ExpiryEntry | null = null;
  next: ExpiryEntry | null = null;
  list: ExpiryList | null = null;
  fired = false;
  readonly ctx: CallContext;
  readonly scheduler: ExpiryScheduler;

  constructor(ctx: CallContext, scheduler: ExpiryScheduler) {
    super();
    this.ctx = ctx;
    this.scheduler = scheduler;
  }

  expire(): void {
    this.fired = true;
    this.abort(this.ctx.deadlineExceeded(0));
  }

  finishCall(ctx: CallContext, failed: boolean, error: unknown): unknown {
    return finish(this, ctx, failed, error);
  }
}

/** The call ended: unschedule its deadline; an abort the deadline caused becomes its error. */
function finish(
  entry: (DeadlineToken | DeadlineExpiry) & ExpiryEntry,
  ctx: CallContext,
  failed: boolean,
  error: unknown,
): unknown {
  entry.scheduler.remove(entry);
  return failed && entry.fired ? ctx.deadlineExceeded(0, error) : error;
}

/**
 * The deadline filter. The call's own budget is `ctx.budgetMs` (set by the client from the
 * per-call or per-client total timeout); this filter narrows it by the ambient deadline.
 */
export function deadlineFilter<Req, Res>(options: DeadlineFilterOptions): Filter<Req, Res, CallContext> {
  const { clock, inheritAmbient } = options;
  const scheduler = expirySchedulerFor(clock);
  return (req: Req, ctx: CallContext, next: Next<Req, Res, CallContext>): Promise<Res> => {
    // The total timeout counts from the call's start (the client's reading).
    const now = Number.isNaN(ctx.callStart) ? clock.now() : ctx.callStart;
    // One read of the ambient store per call: the incoming request's deadline and its signal.
    const ambient = inheritAmbient ? currentAmbientContext() : undefined;
    const ambientLeft =
      ambient === undefined ? Number.POSITIVE_INFINITY : ambient.deadline - ambient.clock.now();
    // An ambient deadline already past leaves a budget of 0, not a negative one.
    const budget = Math.max(0, Math.min(ambientLeft, ctx.budgetMs));
    ctx.budgetMs = budget;
    // The incoming request's cancellation, when the caller gave no signal of its own (rare: only
    // inside a request served with one); a budget already spent fails below as a deadline.
    const inbound = ctx.signal === undefined ? ambient?.signal : undefined;
    if (inbound !== undefined && budget > 0) {
      const token = ctx.cancellation;
      // The transport follows the call's signal: the inbound one becomes it, as a caller's would.
      if (token === undefined) ctx.signal = inbound;
      if (inbound.aborted) {
        // The call ends as if aborted by its caller (that reason, unwrapped, not a failure).
        token?.abort(inbound.reason);
        return Promise.reject(inbound.reason);
      }
      if (token !== undefined)
        return followingInbound(inbound, token, req, ctx, next, budget, now, scheduler);
    }
    if (budget === Number.POSITIVE_INFINITY) return next(req, ctx);
    ctx.deadline = now + budget;
    if (budget <= 0) return Promise.reject(ctx.deadlineExceeded(0));
    const callerSignal = ctx.signal;
    let expiry: DeadlineToken | DeadlineExpiry;
    if (callerSignal === undefined && ctx.cancellation === undefined) {
      const token = new DeadlineToken(ctx, scheduler);
      ctx.cancellation = token;
      expiry = token;
    } else if (callerSignal === undefined) {
      expiry = new DeadlineExpiry(ctx.cancellation!, ctx, scheduler);
    } else {
      if (callerSignal.aborted) return Promise.reject(callerSignal.reason);
      const controller = new AbortController();
      ctx.signal = AbortSignal.any([callerSignal, controller.signal]);
      expiry = new DeadlineExpiry(controller, ctx, scheduler);
    }
    scheduler.add(expiry, budget, now);
    ctx.callOwner = expiry;
    return callFinishingHere(req, ctx, next);
  };
}

/**
 * The incoming request's signal, aborting a call's own token (which its transport follows) until
 * the call finishes; then the call's deadline, if it has one, cleans up as usual.
 */
class InboundCancellation implements CallOwner {
  deadline: DeadlineExpiry | undefined = undefined;

  constructor(
    readonly signal: AbortSignal,
    readonly token: Cancellation,
  ) {}

  handleEvent(): void {
    this.token.abort(this.signal.reason);
  }

  finishCall(ctx: CallContext, failed: boolean, error: unknown): unknown {
    this.signal.removeEventListener('abort', this);
    return this.deadline === undefined ? error : this.deadline.finishCall(ctx, failed, error);
  }
}

/**
 * A call with a token of its own (a gRPC call's, a dispatcher's) made while serving a cancellable
 * request: the request's signal aborts the token, and the deadline (when the budget is finite)
 * cancels it too. The token's reason is then the signal's, so the call fails with it, unwrapped,
 * and is not counted against the destination (src/core/call-outcome.ts).
 */
function followingInbound<Req, Res>(
  signal: AbortSignal,
  token: Cancellation,
  req: Req,
  ctx: CallContext,
  next: Next<Req, Res, CallContext>,
  budget: number,
  now: number,
  scheduler: ExpiryScheduler,
): Promise<Res> {
  const link = new InboundCancellation(signal, token);
  if (budget !== Number.POSITIVE_INFINITY) {
    ctx.deadline = now + budget;
    const expiry = new DeadlineExpiry(token, ctx, scheduler);
    scheduler.add(expiry, budget, now);
    link.deadline = expiry;
  }
  signal.addEventListener('abort', link, { once: true });
  ctx.callOwner = link;
  return callFinishingHere(req, ctx, next);
}
