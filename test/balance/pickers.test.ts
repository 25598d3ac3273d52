/**
 * Pickers: P2C picks the cheaper of two, prefers open and untried endpoints, fails open to busy
 * ones when none is open (panic), never picks a closed one; round robin and least loaded follow
 * the same avoidance rule.
 */
import { describe, expect, it } from 'vitest';
import type { EndpointNode } from '../../src/balance/endpoint-node.js';
import { LeastLoaded } from '../../src/balance/least-loaded.js';
import { PendingRequests } from '../../src/balance/load-metric.js';
import { PowerOfTwoChoices } from '../../src/balance/p2c.js';
import { PeakEwma } from '../../src/balance/peak-ewma.js';
import { RoundRobin } from '../../src/balance/round-robin.js';
import { SuccessWindow } from '../../src/balance/success-window.js';
import { CallContext } from '../../src/core/context.js';
import type { ServiceStatus } from '../../src/core/service.js';
import { createEndpoint } from '../../src/discovery/endpoint.js';

/** A node whose Peak EWMA has measured `rtt` (an unmeasured one would cost 0 while idle). */
function node(port: number, status: ServiceStatus, rtt: number): EndpointNode {
  const endpoint = createEndpoint('127.0.0.1', port);
  const load = new PeakEwma(0, 10_000, rtt);
  load.revive(0, rtt);
  return {
    address: endpoint.address,
    endpoint,
    load,
    outcomes: new SuccessWindow(),
    service: { status, call: () => Promise.reject(new Error('unused')), close: async () => {} },
  };
}

/** A random source that replays `values` in a loop. */
function sequence(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

const ctx = () => new CallContext('test');

describe('PowerOfTwoChoices', () => {
  it('sends to the cheaper of the two it draws', () => {
    const nodes = [node(1, 'open', 10), node(2, 'open', 50), node(3, 'open', 5)];
    // draws i = floor(0.0*3) = 0, j = floor(0.99*2) = 1 -> +1 = 2: nodes 0 and 2; node 2 is cheaper
    const p2c = new PowerOfTwoChoices(sequence([0, 0.99]));
    expect(p2c.pick(nodes, ctx(), 0)).toBe(nodes[2]);
    // draws 0 and 1: node 0 is cheaper
    const p2c2 = new PowerOfTwoChoices(sequence([0, 0]));
    expect(p2c2.pick(nodes, ctx(), 0)).toBe(nodes[0]);
  });

  it('always draws two distinct nodes', () => {
    const nodes = [node(1, 'open', 10), node(2, 'open', 10)];
    const seen = new Set<number>();
    const p2c = new PowerOfTwoChoices(sequence([0.7, 0.7]));
    const original = nodes[0]!.load.cost.bind(nodes[0]!.load);
    nodes[0]!.load.cost = (now) => {
      seen.add(0);
      return original(now);
    };
    p2c.pick(nodes, ctx(), 0);
    expect(seen.has(0)).toBe(true);
  });

  it('prefers an open endpoint to a cheaper busy one', () => {
    const nodes = [node(1, 'busy', 1), node(2, 'open', 100)];
    const p2c = new PowerOfTwoChoices(Math.random);
    for (let i = 0; i < 50; i++) expect(p2c.pick(nodes, ctx(), 0)).toBe(nodes[1]);
  });

  it('avoids endpoints this call already tried when others are open', () => {
    const nodes = [node(1, 'open', 1), node(2, 'open', 100), node(3, 'open', 100)];
    const p2c = new PowerOfTwoChoices(Math.random);
    for (let i = 0; i < 50; i++) {
      const c = ctx();
      c.markTried(nodes[0]!.address);
      expect(p2c.pick(nodes, c, 0)).not.toBe(nodes[0]);
    }
  });

  it('fails open: with every endpoint busy it still picks one, the cheaper of two', () => {
    const nodes = [node(1, 'busy', 10), node(2, 'busy', 90), node(3, 'busy', 90)];
    const p2c = new PowerOfTwoChoices(sequence([0, 0]));
    expect(p2c.pick(nodes, ctx(), 0)).toBe(nodes[0]);
  });

  it('reaches the only open endpoint by scan after maxEffort unlucky draws', () => {
    const nodes = [node(1, 'busy', 1), node(2, 'busy', 1), node(3, 'open', 100)];
    // Every draw picks nodes 0 and 1 (both busy).
    const p2c = new PowerOfTwoChoices(sequence([0, 0]), 5);
    expect(p2c.pick(nodes, ctx(), 0)).toBe(nodes[2]);
  });

  it('never picks a closed endpoint, and returns undefined when all are closed', () => {
    const nodes = [node(1, 'closed', 1), node(2, 'busy', 100)];
    const p2c = new PowerOfTwoChoices(Math.random);
    for (let i = 0; i < 20; i++) expect(p2c.pick(nodes, ctx(), 0)).toBe(nodes[1]);
    expect(p2c.pick([node(3, 'closed', 1)], ctx(), 0)).toBeUndefined();
    expect(p2c.pick([node(3, 'closed', 1), node(4, 'closed', 1)], ctx(), 0)).toBeUndefined();
    expect(p2c.pick([], ctx(), 0)).toBeUndefined();
  });
});

describe('RoundRobin', () => {
  it('cycles through open endpoints and skips busy ones', () => {
    const nodes = [node(1, 'open', 1), node(2, 'busy', 1), node(3, 'open', 1)];
    const rr = new RoundRobin();
    const picks = Array.from({ length: 6 }, () => rr.pick(nodes, ctx(), 0)?.endpoint.port);
    expect(picks).toEqual([1, 3, 1, 3, 1, 3]);
  });

  it('fails open to a busy endpoint and never picks a closed one', () => {
    const nodes = [node(1, 'closed', 1), node(2, 'busy', 1)];
    const rr = new RoundRobin();
    expect(rr.pick(nodes, ctx(), 0)?.endpoint.port).toBe(2);
    expect(rr.pick([node(1, 'closed', 1)], ctx(), 0)).toBeUndefined();
  });
});

describe('LeastLoaded', () => {
  it('picks the endpoint with the fewest pending requests', () => {
    const nodes = [1, 2, 3].map((port) => ({ ...node(port, 'open', 1), load: new PendingRequests() }));
    nodes[0]!.load.start(0);
    nodes[0]!.load.start(0);
    nodes[2]!.load.start(0);
    const ll = new LeastLoaded();
    for (let i = 0; i < 5; i++) expect(ll.pick(nodes, ctx(), 0)).toBe(nodes[1]);
  });
});

describe('weights and closed nodes', () => {
  it('P2C divides cost by weight: a weight-3 node with twice the cost still wins', () => {
    const light = node(1, 'open', 10);
    const heavyEndpoint = createEndpoint('127.0.0.1', 2, 3);
    const heavy: EndpointNode = {
      ...node(2, 'open', 20),
      endpoint: heavyEndpoint,
      address: heavyEndpoint.address,
    };
    const p2c = new PowerOfTwoChoices(sequence([0, 0]));
    expect(p2c.pick([light, heavy], ctx(), 0)).toBe(heavy);
  });

  it('least loaded never returns a closed node', () => {
    const ll = new LeastLoaded();
    expect(ll.pick([node(1, 'closed', 1), node(2, 'closed', 1)], ctx(), 0)).toBeUndefined();
    const open = node(3, 'busy', 1);
    expect(ll.pick([node(1, 'closed', 1), open], ctx(), 0)).toBe(open);
  });

  it('Peak EWMA keeps counting pending requests after the estimate decays to nothing', () => {
    const ewma = new PeakEwma(0, 10, 1);
    ewma.start(0);
    const later = 10 * 10_000; // exp(-10000) underflows to 0
    expect(ewma.cost(later)).toBeGreaterThan(0);
    const idle = new PeakEwma(0, 10, 1);
    expect(ewma.cost(later)).toBeGreaterThan(idle.cost(later));
  });
});

describe('P2C with an unusable node in the set', () => {
  it('never hands a pick to a node just because it was drawn beside a busy one', () => {
    const fast = [node(1, 'open', 10), node(2, 'open', 10)];
    const slow = node(3, 'open', 100);
    const ejected = node(4, 'busy', 1);
    const nodes = [...fast, slow, ejected];
    const p2c = new PowerOfTwoChoices(Math.random);
    let toSlow = 0;
    for (let i = 0; i < 6_000; i++) if (p2c.pick(nodes, ctx(), 0) === slow) toSlow++;
    // Paired with a fast node, the slow one always loses; drawn beside the ejected node, it must
    // be compared with another usable node, not handed the pick (which would be 1/6 of picks).
    expect(toSlow).toBeLessThan(60);
  });
});
