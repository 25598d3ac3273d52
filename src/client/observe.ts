/**
 * Observe filter: the `observe` role, at the top of the call stack (above deadline, so it sees
 * deadline failures and every retry as one logical call). It notes the call's start, tells
 * telemetry, and hears the end through CallContext.finishCall, which the deadline or retry layer
 * below already calls, so it adds no async frame; it keeps a frame of its own only when neither
 * layer is there to finish the call.
 */

import type { Clock } from '../core/clock.js';
import type { CallContext, CallObserver } from '../core/context.js';
import { callFinishingHere } from '../core/frame-elision.js';
import type { Filter, Next } from '../core/service.js';
import type { ClientTelemetry } from './telemetry.js';

export function observeFilter<Req, Res>(
  telemetry: ClientTelemetry,
  clock: Clock,
): Filter<Req, Res, CallContext> {
  // The telemetry hears the end itself (no forwarding closure per call); none when it has no such hook.
  const observer: CallObserver | undefined =
    telemetry.callFinished === undefined ? undefined : (telemetry as CallObserver);
  return (req: Req, ctx: CallContext, next: Next<Req, Res, CallContext>): Promise<Res> => {
    // The client stamped the call's start; a context made elsewhere gets it here.
    if (Number.isNaN(ctx.callStart)) ctx.callStart = clock.now();
    ctx.callObserver = observer;
    telemetry.callStarted?.(req, ctx);
    return callFinishingHere(req, ctx, next);
  };
}
