/**
 * One async frame per call: how weft's layers share the awaiting of an attempt and of a whole
 * call, so that a call through the default stack runs in one async frame (the retry loop's)
 * instead of one per layer. Each frame a request passes through costs a promise reaction and a
 * saved frame; the `breakdown` scenario of docs/benchmarks.md measures what this saves.
 *
 * A layer can make two promises on a call's context, and layers that see them skip their frame:
 *
 *   attempts   "I await every attempt below me and end each one (`ctx.endAttempt`)": the
 *              balancer then returns the endpoint's promise as it is. Retry and hedge promise it.
 *   the call   "I await the whole call below me and finish it (`ctx.finishCall`)": the deadline,
 *              the observe role and the client then need no frame of their own. Retry promises it.
 *
 * Whoever made no such promise and sees none below keeps a frame and does the work itself:
 * {@link reportingAttempt} for an attempt, {@link callFinishingHere} for a call. Everything that
 * reads or writes the two flags is in this file.
 */
import type { CallContext } from './context.js';
import type { Next } from './service.js';

/** A layer above awaits every attempt of this call and ends it: the balancer needs no frame. */
export function promiseToEndAttempts(ctx: CallContext): void {
  ctx.attemptEndedAbove = true;
}

/** Whether a layer above promised to end each attempt ({@link promiseToEndAttempts}). */
export function attemptEndedAbove(ctx: CallContext): boolean {
  return ctx.attemptEndedAbove;
}

/** This layer awaits the whole call and will finish it: the layers above need no frame. */
export function promiseToFinishCall(ctx: CallContext): void {
  ctx.callFinishedBelow = true;
}

/**
 * Call `next`, and finish the call in a frame of this layer's unless a layer below promised to
 * finish it (then the promise goes up as it is). Either way, the layers above see the promise.
 */
export function callFinishingHere<Req, Res>(
  req: Req,
  ctx: CallContext,
  next: Next<Req, Res, CallContext>,
): Promise<Res> {
  ctx.callFinishedBelow = false;
  let pending: Promise<Res>;
  try {
    pending = next(req, ctx);
  } catch (error) {
    // A layer that throws instead of returning a promise fails the call like any other error.
    ctx.callFinishedBelow = false;
    pending = Promise.reject(error);
  }
  if (ctx.callFinishedBelow) return pending;
  ctx.callFinishedBelow = true;
  return finishWhenSettled(pending, ctx);
}

/** Await a whole call, then let CallContext.finishCall clean up, explain a failure and tell the observer. */
export async function finishWhenSettled<Res>(pending: Promise<Res>, ctx: CallContext): Promise<Res> {
  let res: Res;
  try {
    res = await pending;
  } catch (error) {
    throw ctx.finishCall(true, error);
  }
  ctx.finishCall(false, res);
  return res;
}

/**
 * Return an attempt's promise: as it is when a layer above promised to end the attempt, else
 * awaited in a frame of its own that ends it.
 */
export function reportingAttempt<Res>(pending: Promise<Res>, ctx: CallContext): Promise<Res> {
  return ctx.attemptEndedAbove ? pending : endWhenSettled(pending, ctx);
}

async function endWhenSettled<Res>(pending: Promise<Res>, ctx: CallContext): Promise<Res> {
  let res: Res;
  try {
    res = await pending;
  } catch (error) {
    throw ctx.endAttempt(error, true);
  }
  ctx.endAttempt(res, false);
  return res;
}
