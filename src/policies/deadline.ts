/**
 * Deadline filter: sets the call's deadline to the earliest of its total timeout and the ambient
 * deadline inherited from the incoming request being served, fails at once without sending when
 * that has already passed, and aborts the call when it passes. It sits above retry (below route
 * and observe) so that one deadline bounds every attempt and every backoff, and retries stop when
 * time is up. The deadline covers the call until its response headers; reading the body is then
 * the caller's, bounded by the transport's body timeout.
 * Default total timeout: 15 s (Envoy's default route timeout); see docs/deadlines.md.
 */
import { ambientTimeLeft } from '../core/ambient.js';
import type { Clock } from '../core/clock.js';
import type { CallContext } from '../core/context.js';
import { DeadlineExceededError } from '../core/errors.js';
import type { Filter, Next } from '../core/service.js';

/** Default total timeout of a call, in ms (Envoy's route timeout default, 15 s). */
export const DEFAULT_TOTAL_TIMEOUT_MS = 15_000;

export interface DeadlineFilterOptions {
  readonly clock: Clock;
  /** Inherit the ambient deadline of the incoming request (default true). */
  readonly inheritAmbient: boolean;
}

/**
 * The deadline filter. The call's own budget is `ctx.budgetMs` (set by the client from the
 * per-call or per-client total timeout); this filter narrows it by the ambient deadline.
 */
export function deadlineFilter<Req, Res>(options: DeadlineFilterOptions): Filter<Req, Res> {
  const { clock, inheritAmbient } = options;
  return (req: Req, ctx: CallContext, next: Next<Req, Res>): Promise<Res> => {
    const now = clock.now();
    const ambient = inheritAmbient ? ambientTimeLeft() : Number.POSITIVE_INFINITY;
    const budget = Math.min(ambient, ctx.budgetMs);
    ctx.budgetMs = budget;
    if (budget === Number.POSITIVE_INFINITY) return next(req, ctx);
    ctx.deadline = now + budget;
    if (budget <= 0) {
      return Promise.reject(
        new DeadlineExceededError(budget, {
          destination: ctx.destination,
          timeLeftMs: budget,
          attempts: ctx.attempts,
        }),
      );
    }
    return withDeadline(req, ctx, next, clock, budget);
  };
}

async function withDeadline<Req, Res>(
  req: Req,
  ctx: CallContext,
  next: Next<Req, Res>,
  clock: Clock,
  budget: number,
): Promise<Res> {
  const callerSignal = ctx.signal;
  callerSignal?.throwIfAborted();
  const controller = new AbortController();
  ctx.signal =
    callerSignal === undefined ? controller.signal : AbortSignal.any([callerSignal, controller.signal]);
  const timer = clock.setTimeout(() => {
    controller.abort(
      new DeadlineExceededError(budget, {
        destination: ctx.destination,
        timeLeftMs: 0,
        attempts: ctx.attempts,
      }),
    );
  }, budget);
  try {
    return await next(req, ctx);
  } catch (error) {
    // An abort caused by the deadline surfaces as the deadline error, whatever the transport threw.
    const reason: unknown = controller.signal.reason;
    if (controller.signal.aborted && reason instanceof DeadlineExceededError && !callerSignal?.aborted) {
      throw new DeadlineExceededError(budget, {
        destination: ctx.destination,
        timeLeftMs: 0,
        attempts: ctx.attempts,
        cause: error === reason ? undefined : error,
      });
    }
    throw error;
  } finally {
    clock.clearTimeout(timer);
  }
}
