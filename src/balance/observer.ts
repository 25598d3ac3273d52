/**
 * What the balancer tells whoever watches it: an attempt goes to an endpoint, an attempt settled
 * (classified), an endpoint left. The balancer takes an observer in its options and knows nothing
 * of metrics or traces; telemetry's `ClientTelemetry` extends this interface, so the dependency
 * points from telemetry down to balance (Finagle's balancers take a `StatsReceiver` the same way).
 * Every hook is optional and must never throw; they run on the request path, so they must be cheap.
 */
import type { CallInfo } from '../core/call-info.js';
import type { Endpoint } from '../core/endpoint.js';

export interface BalancerObserver {
  /** An attempt is about to go to `endpoint` (its request headers can still be written). */
  attemptStarted?(req: unknown, ctx: CallInfo, endpoint: Endpoint, cost: number): void;
  /**
   * The attempt settled; `ctx.classification` says how it went. For an attempt whose outcome came
   * after its response (a stream: see ./completion.ts), this is its final outcome, and
   * `durationMs` runs to it.
   */
  attemptFinished?(
    ctx: CallInfo,
    endpoint: Endpoint,
    failed: boolean,
    outcome: unknown,
    durationMs: number,
  ): void;
  /** An endpoint left discovery: forget what was kept per endpoint. */
  endpointRemoved?(address: string): void;
}
