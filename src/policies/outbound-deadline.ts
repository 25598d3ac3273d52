/**
 * Outbound deadline: writes the time the current attempt may still take on the request, just
 * before it goes to the transport, so the server can stop working on a request nobody will wait
 * for. It sits in the endpoint stack, after the balancer's pick, so time spent waiting for
 * discovery is already subtracted; the value is relative (whole ms), so clock skew between hosts
 * does not matter (gRPC's `grpc-timeout`, Envoy's `x-envoy-expected-rq-timeout-ms`). An attempt
 * whose time is already up fails here without being sent. HTTP writes `weft-timeout-ms`.
 */

import type { Clock } from '../core/clock.js';
import type { CallContext } from '../core/context.js';
import type { ProtocolAdapter } from '../core/protocol.js';
import type { Filter, Next } from '../core/service.js';
import type { SharedReadings } from '../core/shared-readings.js';
import { attemptTimedOut } from './attempt.js';

export interface OutboundDeadlineOptions<Req> {
  readonly clock: Clock;
  readonly adapter: ProtocolAdapter<Req>;
  /** Whether the header may take the balancer's reading of the clock (../core/shared-readings.ts). */
  readonly readings?: SharedReadings | undefined;
}

export function outboundDeadlineFilter<Req, Res>(
  options: OutboundDeadlineOptions<Req>,
): Filter<Req, Res, CallContext> {
  const { clock, adapter } = options;
  const readings = options.readings;
  return (req: Req, ctx: CallContext, next: Next<Req, Res, CallContext>): Promise<Res> => {
    const end = ctx.attemptDeadline < ctx.deadline ? ctx.attemptDeadline : ctx.deadline;
    if (end === Number.POSITIVE_INFINITY) return next(req, ctx);
    const left = end - (readings?.headerTakesPick === true ? ctx.attemptStart : clock.now());
    if (left <= 0) {
      // Whichever ran out: the attempt's own time, or the call's.
      return Promise.reject(
        ctx.attemptDeadline < ctx.deadline ? attemptTimedOut(ctx) : ctx.deadlineExceeded(left),
      );
    }
    adapter.writeDeadline(req, left);
    return next(req, ctx);
  };
}
