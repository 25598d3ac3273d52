/**
 * Round robin: each call goes to the next node in turn, skipping nodes the call should avoid
 * (busy, already tried) when a better one exists; closed nodes are never picked. Load-blind: it
 * is here as the baseline that P2C Peak EWMA is measured against, and for uniform backends.
 * Endpoint weights are ignored.
 */
import type { CallContext } from '../core/context.js';
import { avoidance, CLOSED, type EndpointNode } from './endpoint-node.js';
import type { Picker } from './picker.js';

export class RoundRobin implements Picker {
  #cursor = 0;

  pick(nodes: readonly EndpointNode[], ctx: CallContext, _now: number): EndpointNode | undefined {
    const n = nodes.length;
    if (n === 0) return undefined;
    const start = this.#cursor % n;
    let best = -1;
    let bestLevel = CLOSED;
    for (let k = 0; k < n; k++) {
      const index = (start + k) % n;
      const node = nodes[index]!;
      const level = avoidance(node.service.status, ctx.tried, node.address);
      if (level < bestLevel) {
        bestLevel = level;
        best = index;
        if (level === 0) break;
      }
    }
    if (best < 0) return undefined;
    // Continue after the node picked, so skipping a busy node does not double its neighbour's share.
    this.#cursor = best + 1;
    return nodes[best];
  }
}
