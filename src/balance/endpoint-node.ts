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
  /**
   * Kept aside as much slower than the best endpoint (./probation.ts): pickers avoid it while a
   * node not on probation is usable, and only probes reach it. Absent or false: not on probation.
   */
  onProbation?: boolean;
}

/**
 * How much a picker should avoid a node for the call at hand (lower is better):
 *
 *   0  open, not yet tried by this call
 *   1  open, on probation (much slower than the best: ./probation.ts), not yet tried
 *   2  open, already tried
 *   3  open, on probation, already tried
 *   4  busy (ejected, probing)
 *   5  busy, already tried
 *   never  closed
 *
 * A slow endpoint comes before one this call already tried, so a retry goes elsewhere; a busy one
 * (failing) comes after every open one, slow or not.
 */
export function avoidance(
  status: ServiceStatus,
  tried: readonly string[] | undefined,
  address: string,
  onProbation = false,
): number {
  if (status === 'closed') return CLOSED;
  const base = status === 'open' ? (onProbation ? 1 : 0) : 4;
  return tried?.includes(address) ? base + (status === 'open' ? 2 : 1) : base;
}

/** Avoidance of a node that must never be picked. */
export const CLOSED = 6;
