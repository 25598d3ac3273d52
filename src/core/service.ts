/**
 * Service and Filter, the two shapes everything in weft is built from (Finagle's model).
 * A Service answers requests and reports its health through `status`; a Filter wraps the next
 * service in the stack. Health flows upward: failure accrual marks an endpoint `busy`, and the
 * balancer prefers `open` endpoints.
 */
import type { CallInfo } from './call-info.js';
import type { CallContext } from './context.js';
import type { Endpoint } from './endpoint.js';

/**
 * `open`: ready for requests. `busy`: can take requests but should be avoided (ejected, probing,
 * overloaded). `closed`: will never take another request.
 */
export type ServiceStatus = 'open' | 'busy' | 'closed';

/**
 * The next step of a stack: a plain function, so that composing filters costs no allocation per
 * call. `Ctx` is what the step reads of the call: {@link CallInfo} for a user's filter.
 */
export type Next<Req, Res, Ctx extends CallInfo = CallInfo> = (req: Req, ctx: Ctx) => Promise<Res>;

/**
 * A filter sees a request on its way down and the result on its way back up. It reads the call
 * through {@link CallInfo}, and passes the `ctx` it was given on to `next`. Below `retry`, it
 * calls `next` at most once per attempt (a second descent fails with NextCalledTwiceError).
 *
 * weft's own filters are `Filter<Req, Res, CallContext>`: they work on the whole context, whose
 * fields beyond CallInfo each belong to one layer, and go into a stack through
 * {@link contextFilter}.
 */
export type Filter<Req, Res, Ctx extends CallInfo = CallInfo> = (
  req: Req,
  ctx: Ctx,
  next: Next<Req, Res, Ctx>,
) => Promise<Res>;

/**
 * One of weft's own filters as a stack's {@link Filter}. Sound because a stack is only ever run
 * by weft's clients, which pass the call's one CallContext all the way down
 * (src/client/stack-client.ts, composeFilters).
 */
export function contextFilter<Req, Res>(filter: Filter<Req, Res, CallContext>): Filter<Req, Res> {
  return filter as unknown as Filter<Req, Res>;
}

/** Something that answers requests: an endpoint's transport, a balancer, a whole client. */
export interface Service<Req, Res> {
  call(req: Req, ctx: CallInfo): Promise<Res>;
  /** Current health; read on every pick, so it must be cheap. */
  readonly status: ServiceStatus;
  /** Release resources; in-flight calls may finish. */
  close(): Promise<void>;
  /**
   * Told how a call ended, by whoever awaited it (the balancer, for endpoint stacks), after the
   * attempt was classified onto `ctx.classification`: the response, or the error with `failed`
   * true. A layer that only needs to look at outcomes (failure accrual) implements this instead of
   * awaiting its own call, so an endpoint stack costs no promise reaction per layer. Layers pass it
   * on inward first. Optional; never throws.
   */
  settled?(ctx: CallInfo, outcome: unknown, failed: boolean): void;
}

/**
 * Wraps the service of one endpoint (tower's `Layer`): applied once per endpoint, when the
 * balancer adds it, by the endpoint stack (src/client/endpoint-stack.ts).
 */
export type EndpointLayer<Req, Res> = (next: Service<Req, Res>, endpoint: Endpoint) => Service<Req, Res>;

/** Compose filters (outermost first) around a terminal function, once, at build time. */
export function composeFilters<Req, Res>(
  filters: readonly Filter<Req, Res>[],
  terminal: Next<Req, Res>,
): Next<Req, Res> {
  let next = terminal;
  for (let i = filters.length - 1; i >= 0; i--) {
    const filter = filters[i]!;
    const inner = next;
    next = (req, ctx) => filter(req, ctx, inner);
  }
  return next;
}
