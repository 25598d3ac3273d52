/**
 * Service and Filter, the two shapes everything in weft is built from (Finagle's model).
 * A Service answers requests and reports its health through `status`; a Filter wraps the next
 * service in the stack. Health flows upward: failure accrual marks an endpoint `busy`, and the
 * balancer prefers `open` endpoints.
 */
import type { CallContext } from './context.js';
import type { Endpoint } from './endpoint.js';

/**
 * `open`: ready for requests. `busy`: can take requests but should be avoided (ejected, probing,
 * overloaded). `closed`: will never take another request.
 */
export type ServiceStatus = 'open' | 'busy' | 'closed';

/** The next step of a stack: a plain function, so that composing filters costs no allocation per call. */
export type Next<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

/** A filter sees a request on its way down and the result on its way back up. */
export type Filter<Req, Res> = (req: Req, ctx: CallContext, next: Next<Req, Res>) => Promise<Res>;

/** Something that answers requests: an endpoint's transport, a balancer, a whole client. */
export interface Service<Req, Res> {
  call(req: Req, ctx: CallContext): Promise<Res>;
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
  settled?(ctx: CallContext, outcome: unknown, failed: boolean): void;
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
