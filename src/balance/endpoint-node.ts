/**
 * EndpointNode: what the balancer holds for each endpoint: the endpoint, the service built from
 * the endpoint stack, its load metric and its recent success rate. A node lives as long as
 * discovery keeps its address, so its EWMA, in-flight count and success rate survive updates.
 */

import type { Endpoint } from '../core/endpoint.js';
import type { Service, ServiceStatus } from '../core/service.js';
import type { LoadMetric } from './load-metric.js';
import type { SuccessWindow } from './success-window.js';

export interface EndpointNode<Req = unknown, Res = unknown> {
  readonly address: string;
  endpoint: Endpoint;
  readonly service: Service<Req, Res>;
  readonly load: LoadMetric;
  /** Its attempts' outcomes over the last 30 s, as the balancer classified them. */
  readonly outcomes: SuccessWindow;
}

/**
 * How much a picker should avoid a node for the call at hand (lower is better): open and not yet
 * tried by this call 0; open but tried 1; busy (ejected, probing) 2; busy and tried 3; closed never.
 */
export function avoidance(
  status: ServiceStatus,
  tried: readonly string[] | undefined,
  address: string,
): number {
  if (status === 'closed') return CLOSED;
  const base = status === 'open' ? 0 : 2;
  return tried?.includes(address) ? base + 1 : base;
}

/** Avoidance of a node that must never be picked. */
export const CLOSED = 4;
