/**
 * The endpoint stack: the layers built once per endpoint, between the balancer's pick and the
 * transport. A layer wraps the endpoint's service and may change its `status` (failure accrual
 * marks an ejected endpoint `busy`), which is how health flows up to the balancer.
 *
 *   failure-accrual  ejects an endpoint that keeps failing (busy, then probed): outermost, so it
 *                    sees every attempt's classified outcome and its status is the endpoint's.
 *   deadline-header  writes the attempt's remaining time on the request; after the pick, so any
 *                    wait for discovery is subtracted, and as close to the wire as a layer gets.
 *
 * Per-endpoint metrics slot in above deadline-header.
 */

import type { Clock } from '../core/clock.js';
import type { CallContext } from '../core/context.js';
import type { Endpoint } from '../core/endpoint.js';
import type { ProtocolAdapter } from '../core/protocol.js';
import {
  contextFilter,
  type EndpointLayer,
  type Filter,
  type Next,
  type Service,
  type ServiceStatus,
} from '../core/service.js';
import type { SharedReadings } from '../core/shared-readings.js';
import { Stack, type StackEntry } from '../core/stack.js';
import { type FailureAccrualOptions, failureAccrual } from '../policies/failure-accrual.js';
import { outboundDeadlineFilter } from '../policies/outbound-deadline.js';

export type { EndpointLayer } from '../core/service.js';

/** What the default endpoint layers are built from. */
export interface EndpointStackParams<Req> {
  readonly clock: Clock;
  readonly adapter: ProtocolAdapter<Req>;
  /** Write the remaining time on outbound requests; false leaves the `deadline-header` role out. */
  readonly propagateDeadline: boolean;
  /** Failure accrual settings; undefined leaves the `failure-accrual` role out. */
  readonly failureAccrual: FailureAccrualOptions | undefined;
  /** Which layers may share a clock reading, decided once the stack is edited (../core/shared-readings.ts). */
  readonly readings?: SharedReadings | undefined;
}

/** The default endpoint stack (outermost first). */
export function defaultEndpointStack<Req, Res>(
  params: EndpointStackParams<Req>,
): Stack<EndpointLayer<Req, Res>> {
  const entries: StackEntry<EndpointLayer<Req, Res>>[] = [];
  if (params.failureAccrual !== undefined) {
    entries.push({
      role: 'failure-accrual',
      description:
        "ejects an endpoint that keeps failing, then probes it; outermost, its status is the endpoint's",
      layer: failureAccrual<Req, Res>({ clock: params.clock, ...params.failureAccrual }),
    });
  }
  if (params.propagateDeadline) {
    entries.push({
      role: 'deadline-header',
      description:
        "writes the attempt's remaining time on the request, after the pick, just before the transport",
      layer: filterLayer(
        contextFilter(
          outboundDeadlineFilter<Req, Res>({
            clock: params.clock,
            adapter: params.adapter,
            readings: params.readings,
          }),
        ),
      ),
    });
  }
  return Stack.of(entries);
}

/** Build one endpoint's service: the layers, outermost first, around its transport. */
export function buildEndpoint<Req, Res>(
  stack: Stack<EndpointLayer<Req, Res>>,
  transport: Service<Req, Res>,
  endpoint: Endpoint,
): Service<Req, Res> {
  const layers = stack.layers();
  let service = transport;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!;
    service = layer(service, endpoint);
  }
  return service;
}

/** An endpoint layer from a filter: status and close pass through to the service below. */
export function filterLayer<Req, Res>(filter: Filter<Req, Res>): EndpointLayer<Req, Res> {
  return (next) => new FilteredService(filter, next);
}

class FilteredService<Req, Res> implements Service<Req, Res> {
  readonly #filter: Filter<Req, Res>;
  readonly #next: Service<Req, Res>;
  readonly #call: Next<Req, Res>;

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

  settled(ctx: CallContext, outcome: unknown, failed: boolean): void {
    this.#next.settled?.(ctx, outcome, failed);
  }
}
