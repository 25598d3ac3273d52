/**
 * Least loaded: a full scan for the node with the fewest pending requests per unit of weight
 * (Finagle's heap balancer, by pending count), ties broken by a rotating start so equal nodes
 * share the load.
 * O(n) per pick: right for small, uniform sets; P2C is the better default for large ones.
 */
import type { CallContext } from '../core/context.js';
import { avoidance, CLOSED, type EndpointNode } from './endpoint-node.js';
import type { Picker } from './picker.js';

export class LeastLoaded implements Picker {
  #offset = 0;

  pick(nodes: readonly EndpointNode[], ctx: CallContext, now: number): EndpointNode | undefined {
    const n = nodes.length;
    if (n === 0) return undefined;
    const start = this.#offset++ % n;
    if (this.#offset > 0x3fffffff) this.#offset = 0;
    let best: EndpointNode | undefined;
    let bestLevel = CLOSED;
    let bestCost = Number.POSITIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const node = nodes[(start + k) % n]!;
      const level = avoidance(node.service.status, ctx.tried, node.address);
      if (level === CLOSED || level > bestLevel) continue;
      const cost = node.load.cost(now) / node.endpoint.weight;
      if (level < bestLevel || cost < bestCost) {
        best = node;
        bestLevel = level;
        bestCost = cost;
      }
    }
    return best;
  }
}
