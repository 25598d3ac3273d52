/**
 * Attempt filter: runs once per attempt (it sits below retry and hedge, above the balancer).
 * It numbers the attempt, refuses to start one when the deadline has passed, applies the
 * per-attempt timeout, and writes the time this attempt may take on the outbound request
 * (relative, so clock skew between hosts does not matter), so the server can stop working on a
 * request nobody will wait for. Default per-attempt timeout: none (Finagle and Linkerd set none;
 * the total deadline still bounds every attempt); see docs/deadlines.md.
 */
import type { Clock } from '../core/clock.js';
import type { CallContext } from '../core/context.js';
import { DeadlineExceededError, WeftError } from '../core/errors.js';
import type { ProtocolAdapter } from '../core/protocol.js';
import type { Filter, Next } from '../core/service.js';

export interface AttemptFilterOptions<Req> {
  readonly clock: Clock;
  readonly adapter: ProtocolAdapter<Req>;
  /** Write the remaining time on outbound requests (default true). */
  readonly propagateDeadline: boolean;
}

/** The per-attempt timeout fired; the attempt is abandoned (and may be retried elsewhere). */
export class AttemptTimeoutError extends WeftError {
  readonly timeoutMs: number;
  readonly endpoint: string | undefined;

  constructor(timeoutMs: number, endpoint: string | undefined, destination?: string) {
    super(
      'WEFT_ATTEMPT_TIMEOUT',
      `attempt timed out after ${Math.round(timeoutMs)}ms${endpoint ? ` on ${endpoint}` : ''}`,
      {
        destination,
      },
    );
    this.timeoutMs = timeoutMs;
    this.endpoint = endpoint;
  }
}

export function attemptFilter<Req, Res>(options: AttemptFilterOptions<Req>): Filter<Req, Res> {
  const { clock, adapter, propagateDeadline } = options;
  return (req: Req, ctx: CallContext, next: Next<Req, Res>): Promise<Res> => {
    ctx.attempt++;
    const timeLeft = ctx.deadline - clock.now();
    if (timeLeft <= 0) {
      return Promise.reject(
        new DeadlineExceededError(ctx.budgetMs, {
          destination: ctx.destination,
          timeLeftMs: timeLeft,
          attempts: ctx.attempts,
        }),
      );
    }
    const attemptTimeout = ctx.attemptTimeoutMs;
    const attemptBudget = Math.min(attemptTimeout, timeLeft);
    if (propagateDeadline && attemptBudget !== Number.POSITIVE_INFINITY)
      adapter.writeDeadline(req, attemptBudget);
    // Only a per-attempt timeout shorter than the call's deadline needs a timer of its own.
    if (attemptTimeout >= timeLeft) return next(req, ctx);
    return withAttemptTimeout(req, ctx, next, clock, attemptTimeout);
  };
}

async function withAttemptTimeout<Req, Res>(
  req: Req,
  ctx: CallContext,
  next: Next<Req, Res>,
  clock: Clock,
  timeoutMs: number,
): Promise<Res> {
  const callSignal = ctx.signal;
  const controller = new AbortController();
  ctx.signal =
    callSignal === undefined ? controller.signal : AbortSignal.any([callSignal, controller.signal]);
  const timer = clock.setTimeout(
    () => controller.abort(new AttemptTimeoutError(timeoutMs, ctx.endpoint, ctx.destination)),
    timeoutMs,
  );
  try {
    return await next(req, ctx);
  } catch (error) {
    if (controller.signal.aborted && !callSignal?.aborted)
      throw new AttemptTimeoutError(timeoutMs, ctx.endpoint, ctx.destination);
    throw error;
  } finally {
    clock.clearTimeout(timer);
    ctx.signal = callSignal;
  }
}
