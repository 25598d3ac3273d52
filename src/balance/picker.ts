/**
 * The picker axis of a balancer (Finagle's distributors): given the endpoint nodes and the call,
 * choose one. Pickers prefer open endpoints the call has not tried yet; when none is open they
 * fail open and pick among busy ones (Finagle's panic mode), never a closed one. See
 * docs/load-balancing.md for the exact rule.
 */
import type { CallContext } from '../core/context.js';
import type { EndpointNode } from './endpoint-node.js';
import type { Probation } from './probation.js';

export interface Picker {
  /** Choose a node for this call, or `undefined` when every node is closed (or there are none). */
  pick(nodes: readonly EndpointNode[], ctx: CallContext, now: number): EndpointNode | undefined;
  /** The picker's probation of much slower nodes (./probation.ts), whose probes the balancer sends; none by default. */
  readonly probation?: Probation | undefined;
}

/** A source of uniform random numbers in [0, 1), injectable for deterministic tests. */
export type RandomSource = () => number;
