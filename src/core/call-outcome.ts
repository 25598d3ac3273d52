/**
 * How a whole call ended, as one ResponseClass: the one answer for every part of weft that judges
 * logical calls rather than attempts (the circuit breaker and adaptive throttling, above retry,
 * and the `class` label of the call metrics). A response carries the classification of the attempt
 * that produced it; an error is classified by what it says. Finagle keeps one ResponseClassifier
 * for its stats and its failure accrual for the same reason: one call, one class, wherever it is
 * counted.
 */

import type { CallInfo } from './call-info.js';
import { failure, IGNORABLE, type ResponseClass, type ResponseClassName, SUCCESS } from './classification.js';
import { errorCode, WeftError } from './errors.js';
import type { Next } from './service.js';

/** The class of a call that resolved with a response. */
export function resolvedCallClass(ctx: CallInfo): ResponseClass {
  return ctx.classification ?? SUCCESS;
}

/** The class of a call that failed with `error`. */
export function rejectedCallClass(ctx: CallInfo, error: unknown): ResponseClass {
  return heldRejectedClass(ctx, error) ?? failure(errorCode(error) ?? 'error');
}

/**
 * The name of a whole call's class, by the rules of {@link resolvedCallClass} and
 * {@link rejectedCallClass}, without building a class (for a metric's label, on every call).
 */
export function callClassName(ctx: CallInfo, failed: boolean, outcome: unknown): ResponseClassName {
  if (!failed) return resolvedCallClass(ctx).kind;
  return heldRejectedClass(ctx, outcome)?.kind ?? 'failure';
}

/**
 * The class of a call that failed with `error`, when it is one that already exists (IGNORABLE, the
 * last attempt's); undefined when it is a failure named by the error's own code.
 */
function heldRejectedClass(ctx: CallInfo, error: unknown): ResponseClass | undefined {
  if (error instanceof WeftError) {
    switch (error.code) {
      case 'WEFT_CLIENT_CLOSED':
      case 'WEFT_CONFIG':
      case 'WEFT_CIRCUIT_OPEN':
      case 'WEFT_OVERLOADED':
        return IGNORABLE;
      case 'WEFT_RETRY_BUDGET_EXHAUSTED':
        // Judge by what the last attempt met (a 503, a refused connection), not by the refusal.
        return ctx.classification;
      default:
        return undefined;
    }
  }
  // The caller gave up: nothing to learn about the destination. (Deadline and attempt timeouts,
  // which also abort the signal, are WeftErrors and were classified above.)
  if (ctx.signal?.aborted && error === ctx.signal.reason) return IGNORABLE;
  // The same through the call's own token: a dispatcher's caller (fetch(), undici's request())
  // aborts it, and the call fails with that reason, wherever it was (an attempt, a backoff).
  if (error !== undefined && error === ctx.cancelledReason()) return IGNORABLE;
  const last = ctx.classification;
  return last !== undefined && last.kind !== 'success' ? last : undefined;
}

/** Hears how each whole call it was handed ended (the circuit breaker, adaptive throttling). */
export interface CallOutcomeRecorder {
  /** `token` is what the filter passed along with the call (the breaker's epoch), or 0. */
  recordCallOutcome(outcome: ResponseClass, token: number): void;
}

/**
 * Run the rest of the stack, tell `recorder` the class of the call when it ends, and pass the
 * response or the error on unchanged. A filter that judges whole calls awaits them here, in one
 * frame, instead of in a wrapper of its own.
 */
export async function recordingCallOutcome<Req, Res>(
  req: Req,
  ctx: CallInfo,
  next: Next<Req, Res>,
  recorder: CallOutcomeRecorder,
  token: number,
): Promise<Res> {
  let response: Res;
  try {
    response = await next(req, ctx);
  } catch (error) {
    recorder.recordCallOutcome(rejectedCallClass(ctx, error), token);
    throw error;
  }
  recorder.recordCallOutcome(resolvedCallClass(ctx), token);
  return response;
}
