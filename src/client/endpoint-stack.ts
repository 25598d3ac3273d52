/**
 * The endpoint stack: the layers built once per endpoint, between the balancer's pick and the
 * transport. A layer wraps the endpoint's service and may change its `status` (failure accrual
 * marks an ejected endpoint `busy`), which is how health flows up to the balancer. The default is
 * empty for now: failure accrual and per-endpoint metrics slot in here.
 */
import type { CallContext } from '../core/context.js';
import type { Filter, Service, ServiceStatus } from '../core/service.js';
import { Stack } from '../core/stack.js';
import type { Endpoint } from '../discovery/endpoint.js';

/** Wraps the service of one endpoint (tower's `Layer`). */
export type EndpointLayer<Req, Res> = (next: Service<Req, Res>, endpoint: Endpoint) => Service<Req, Res>;

/** The default endpoint stack (outermost first). */
export function defaultEndpointStack<Req, Res>(): Stack<EndpointLayer<Req, Res>> {
  return Stack.of<EndpointLayer<Req, Res>>([]);
}

/** Build one endpoint's service: the layers, outermost first, around its transport. */
export function buildEndpoint<Req, Res>(
  stack: Stack<EndpointLayer<Req, Res>>,
  transport: Service<Req, Res>,
  endpoint: Endpoint,
): Service<Req, Res> {
  const layers = stack.layers();
  let service = transport;
  for (let i = layers.length - 1; i >= 0; i--) service = layers[i]!(service, endpoint);
  return service;
}

/** An endpoint layer from a filter: status and close pass through to the service below. */
export function filterLayer<Req, Res>(filter: Filter<Req, Res>): EndpointLayer<Req, Res> {
  return (next) => new FilteredService(filter, next);
}

class FilteredService<Req, Res> implements Service<Req, Res> {
  readonly #filter: Filter<Req, Res>;
  readonly #next: Service<Req, Res>;
  readonly #call: (req: Req, ctx: CallContext) => Promise<Res>;

  constructor(filter: Filter<Req, Res>, next: Service<Req, Res>) {
    this.#filter = filter;
    this.#next = next;
    this.#call = (req, ctx) => next.call(req, ctx);
  }

  get status(): ServiceStatus {
    return this.#next.status;
  }

  call(req: Req, ctx: CallContext): Promise<Res> {
    return this.#filter(req, ctx, this.#call);
  }

  close(): Promise<void> {
    return this.#next.close();
  }
}
