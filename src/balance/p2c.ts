/**
 * Power of two choices (Mitzenmacher; Finagle's `P2C`, tower's `p2c`): pick two distinct nodes at
 * random and send to the cheaper (cost divided by the endpoint's weight). It tracks the best node
 * nearly as well as a full scan, in O(1), and never herds every client onto the same "best" node.
 *
 * Health: a node is usable when it is open and untried by this call. An unusable draw is
 * replaced by another, so the two compared are both usable (pairing a usable node with a busy
 * one would hand it the pick uncompared: with one of four nodes ejected, a slow node would win a
 * sixth of all picks). It draws at most 2·`maxEffort` times (Finagle's maxEffort, default 5). When
 * that finds fewer than two distinct usable nodes (simulated, with half the nodes unusable: 11% of
 * picks at 4 nodes, 2.6% at 10, 1.2% at 100; with all usable: 0.2% at 2 nodes, none at 10) it
 * scans for the least-avoided nodes and picks between two of those: O(n), but the same choice.
 * So a busy node is used only when no open one is left (fail open), and a closed one never.
 *
 * Probation (./probation.ts, given by `p2cPeakEwma`): a node much slower than the best is not
 * usable either, so it is compared only in the scan, when fewer than two other nodes are usable.
 * The picker reviews probation on its picks, at most every 100 ms: O(n) then, O(1) otherwise.
 */
import type { CallContext } from '../core/context.js';
import { avoidance, CLOSED, type EndpointNode } from './endpoint-node.js';
import type { Picker, RandomSource } from './picker.js';
import type { Probation } from './probation.js';

/** Draws of a pair before falling back to a scan (Finagle's `maxEffort` default). */
export const DEFAULT_MAX_EFFORT = 5;

export class PowerOfTwoChoices implements Picker {
  readonly #random: RandomSource;
  readonly #maxEffort: number;
  /** Keeps much slower nodes aside (p2cPeakEwma); undefined: every open node is usable. */
  readonly probation: Probation | undefined;

  constructor(
    random: RandomSource = Math.random,
    maxEffort: number = DEFAULT_MAX_EFFORT,
    probation?: Probation | undefined,
  ) {
    this.#random = random;
    this.#maxEffort = maxEffort;
    this.probation = probation;
  }

  pick(nodes: readonly EndpointNode[], ctx: CallContext, now: number): EndpointNode | undefined {
    const n = nodes.length;
    if (n === 0) return undefined;
    this.probation?.beforePick(nodes, now);
    const tried = ctx.tried;
    if (n === 1) {
      const only = nodes[0]!;
      return only.service.status === 'closed' ? undefined : only;
    }
    // Draw until two distinct usable nodes are found: an unusable draw is replaced, not paired,
    // or a usable node drawn beside a busy one would win without a comparison.
    let a: EndpointNode | undefined;
    const draws = 2 * this.#maxEffort;
    for (let k = 0; k < draws; k++) {
      const node = nodes[Math.floor(this.#random() * n)]!;
      if (
        node === a ||
        node.onProbation === true ||
        avoidance(node.service.status, tried, node.address) !== 0
      )
        continue;
      if (a === undefined) a = node;
      else return cheaper(a, node, now);
    }
    return this.#pickLeastAvoided(nodes, tried, now);
  }

  /** Degraded path: P2C among the nodes with the lowest avoidance. O(n), only when most are unusable. */
  #pickLeastAvoided(
    nodes: readonly EndpointNode[],
    tried: readonly string[] | undefined,
    now: number,
  ): EndpointNode | undefined {
    let best = CLOSED;
    const candidates: EndpointNode[] = [];
    for (const node of nodes) {
      const level = avoidance(node.service.status, tried, node.address, node.onProbation);
      if (level < best) {
        best = level;
        candidates.length = 0;
      }
      if (level === best && level < CLOSED) candidates.push(node);
    }
    const m = candidates.length;
    if (m === 0) return undefined;
    if (m === 1) return candidates[0];
    const i = Math.floor(this.#random() * m);
    let j = Math.floor(this.#random() * (m - 1));
    if (j >= i) j++;
    return cheaper(candidates[i]!, candidates[j]!, now);
  }
}

/** The cheaper of two nodes, cost divided by weight (Finagle's weighted P2C): weight 2 takes twice the load. */
function cheaper(a: EndpointNode, b: EndpointNode, now: number): EndpointNode {
  return a.load.cost(now) / a.endpoint.weight <= b.load.cost(now) / b.endpoint.weight ? a : b;
}
