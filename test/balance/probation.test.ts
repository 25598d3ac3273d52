/**
 * Probation on the virtual clock (src/balance/probation.ts), through the balancer: four endpoints
 * answering in 1 ms, one of them 50 ms late; calls at a fixed rate, deterministic randomness.
 * Pinned: the slow endpoint's share of callers' picks, when it enters probation, the probes it
 * gets (rate, only copies of idempotent calls, budgeted, never awaited by the caller), how soon a
 * healed endpoint is back, the minority rule, fail open, and the end by decay without probes.
 */
import { describe, expect, it } from 'vitest';
import { Balancer } from '../../src/balance/balancer.js';
import type { EndpointNode } from '../../src/balance/endpoint-node.js';
import { PowerOfTwoChoices } from '../../src/balance/p2c.js';
import { PROBATION_DEFAULTS, probationLimit } from '../../src/balance/probation.js';
import { type P2cPeakEwmaOptions, p2cPeakEwma } from '../../src/balance/strategies.js';
import { Cancellation } from '../../src/core/cancellation.js';
import { CallContext } from '../../src/core/context.js';
import { ConfigError } from '../../src/core/errors.js';
import type { Service, ServiceStatus } from '../../src/core/service.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { DiscoveredEndpoints } from '../../src/discovery/endpoint-set.js';
import { staticResolver } from '../../src/discovery/static.js';

/** Deterministic uniform randomness (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An endpoint answering after `latencyMs` on the virtual clock; it tells callers' requests from probes. */
class TimedEndpoint implements Service<string, string> {
  status: ServiceStatus = 'open';
  latencyMs = 1;
  /** Every `hiccupEvery`-th answer takes `hiccupMs` (a GC pause, an event-loop stall). */
  hiccupEvery = 0;
  hiccupMs = 20;
  answered = 0;
  callers = 0;
  probes = 0;
  constructor(
    readonly clock: VirtualClock,
    readonly isCaller: (ctx: CallContext) => boolean,
  ) {}
  call(_req: string, ctx: CallContext): Promise<string> {
    if (this.isCaller(ctx)) this.callers++;
    else this.probes++;
    const hiccup = this.hiccupEvery > 0 && ++this.answered % this.hiccupEvery === 0;
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => resolve('ok'), hiccup ? this.hiccupMs : this.latencyMs);
      ctx.cancellation?.once('abort', () => {
        this.clock.clearTimeout(timer);
        reject(ctx.cancellation?.reason);
      });
    });
  }
  async close() {
    this.status = 'closed';
  }
}

const ADDRESSES = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80'];

function setup(
  options: {
    strategy?: P2cPeakEwmaOptions;
    idempotent?: boolean;
    budget?: { tryWithdraw(): boolean };
    addresses?: string[];
  } = {},
) {
  const clock = new VirtualClock();
  const callers = new WeakSet<CallContext>();
  const made: TimedEndpoint[] = [];
  const discarded: string[] = [];
  const balancer = new Balancer<string, string>({
    destination: 'svc',
    endpoints: new DiscoveredEndpoints(staticResolver(options.addresses ?? ADDRESSES), clock),
    strategy: p2cPeakEwma({ random: seeded(7), ...options.strategy }),
    clock,
    makeEndpoint: () => {
      const e = new TimedEndpoint(clock, (ctx) => callers.has(ctx));
      made.push(e);
      return e;
    },
    probes: {
      mayCopy: (_req, idempotent) => idempotent,
      discard: (res) => discarded.push(res),
      budget: options.budget ?? { tryWithdraw: () => true },
    },
  });
  const idempotent = options.idempotent ?? true;
  /** Callers' calls, every `everyMs`, for `ms`; resolves when every call has answered. */
  const run = async (ms: number, everyMs = 1) => {
    const calls: Array<Promise<string>> = [];
    for (let t = 0; t < ms; t += everyMs) {
      const ctx = new CallContext('svc', undefined, new Cancellation());
      ctx.clock = clock;
      ctx.idempotent = idempotent;
      ctx.deadline = clock.now() + 1_000;
      ctx.attemptDeadline = ctx.deadline;
      callers.add(ctx);
      calls.push(balancer.call('req', ctx));
      await clock.advanceAsync(everyMs);
    }
    await clock.advanceAsync(100);
    await Promise.all(calls);
  };
  const reset = () => {
    for (const e of made) {
      e.callers = 0;
      e.probes = 0;
    }
  };
  const share = (e: TimedEndpoint) => e.callers / made.reduce((sum, x) => sum + x.callers, 0);
  return { clock, balancer, made, run, reset, share, discarded, probation: balancer.probation! };
}

describe('probation (p2cPeakEwma)', () => {
  it('keeps callers off an endpoint 50 ms slower than the rest: under 0.01% of picks, against over 0.1% without', async () => {
    // The fast endpoints stall for 30 ms once in 100 answers: peaks that fade as slowly as the slow
    // endpoint's estimate decays, so that without probation P2C keeps trying the slow one.
    const noisy = (h: ReturnType<typeof setup>) => {
      h.made[0]!.latencyMs = 51;
      for (const e of h.made.slice(1)) {
        e.hiccupEvery = 100;
        e.hiccupMs = 30;
      }
    };
    const withIt = setup();
    noisy(withIt);
    await withIt.run(5_000); // learn
    withIt.reset();
    await withIt.run(60_000);
    expect(withIt.share(withIt.made[0]!)).toBeLessThan(0.0001);

    const without = setup({ strategy: { probation: false } });
    noisy(without);
    await without.run(5_000);
    without.reset();
    await without.run(60_000);
    expect(without.share(without.made[0]!)).toBeGreaterThan(0.001);
  });

  it('puts the slow endpoint on probation within a review (100 ms) of its first slow answer', async () => {
    const h = setup();
    await h.run(1_000);
    expect(h.probation.count).toBe(0);
    h.made[0]!.latencyMs = 51;
    const node = h.balancer.nodes[0]!;
    let at = Number.NaN;
    const start = h.clock.now();
    for (let t = 0; t < 3_000 && Number.isNaN(at); t++) {
      await h.run(1);
      if (node.onProbation) at = h.clock.now() - start;
    }
    // Its next pick comes once decay makes it look cheap; then one answer and one review.
    expect(at).toBeLessThan(3_000);
    expect(h.probation.stats.entered).toBe(1);
    expect(h.probation.threshold).toBeGreaterThanOrEqual(PROBATION_DEFAULTS.minExtraMs);
    expect(h.probation.threshold).toBeLessThan(51);
  });

  it('probes the endpoint on probation about once a second, with copies whose responses are dropped', async () => {
    const h = setup();
    h.made[0]!.latencyMs = 51;
    await h.run(5_000);
    h.reset();
    const discardedBefore = h.discarded.length;
    await h.run(20_000);
    // One probe per probeIntervalMs (1 s) at 1 000 calls/s: 20 in 20 s (19 to 21 by phase).
    expect(h.made[0]!.probes).toBeGreaterThanOrEqual(19);
    expect(h.made[0]!.probes).toBeLessThanOrEqual(21);
    expect(h.made.slice(1).every((e) => e.probes === 0)).toBe(true);
    expect(h.discarded.length - discardedBefore).toBe(h.made[0]!.probes);
    expect(h.balancer.nodes[0]!.onProbation).toBe(true);
  });

  it('sends at most one probe per minCallsPerProbe calls when traffic is light', async () => {
    const h = setup();
    h.made[0]!.latencyMs = 51;
    await h.run(20_000, 20); // 50 calls/s
    h.reset();
    await h.run(40_000, 20); // 2 000 calls: at most 20 probes, not 40
    expect(h.made[0]!.probes).toBeGreaterThanOrEqual(18);
    expect(h.made[0]!.probes).toBeLessThanOrEqual(20);
  });

  it('copies no call that may not be sent twice, and none the budget refuses', async () => {
    const h = setup({ idempotent: false });
    h.made[0]!.latencyMs = 51;
    await h.run(5_000);
    expect(h.probation.count).toBe(1);
    expect(h.made[0]!.probes).toBe(0);

    const broke = setup({ budget: { tryWithdraw: () => false } });
    broke.made[0]!.latencyMs = 51;
    await broke.run(5_000);
    expect(broke.probation.count).toBe(1);
    expect(broke.made[0]!.probes).toBe(0);
  });

  it('notices a healed endpoint within about one probe interval, and gives it its share again', async () => {
    const h = setup();
    h.made[0]!.latencyMs = 51;
    await h.run(10_000);
    expect(h.balancer.nodes[0]!.onProbation).toBe(true);
    h.made[0]!.latencyMs = 1;
    const healedAt = h.clock.now();
    let back = Number.NaN;
    for (let t = 0; t < 5_000 && Number.isNaN(back); t += 10) {
      await h.run(10);
      if (!h.balancer.nodes[0]!.onProbation) back = h.clock.now() - healedAt;
    }
    expect(back).toBeLessThanOrEqual(PROBATION_DEFAULTS.probeIntervalMs + 110);
    expect(h.probation.stats.revived).toBe(1);
    h.reset();
    await h.run(5_000);
    expect(h.share(h.made[0]!)).toBeGreaterThan(0.15);
  });

  it('without probes, ends probation when the estimate has decayed below the threshold', async () => {
    const h = setup({ idempotent: false });
    h.made[0]!.latencyMs = 51;
    await h.run(3_000);
    expect(h.balancer.nodes[0]!.onProbation).toBe(true);
    const entered = h.probation.stats.entered;
    await h.run(60_000);
    // τ·ln(51/11) ≈ 15 s: decay let it go; once P2C found it cheap again (its estimate under the
    // others' ~1 ms, τ·ln(11) ≈ 24 s later) a caller found it slow, and it went back on probation.
    expect(h.probation.stats.decayed).toBeGreaterThanOrEqual(1);
    expect(h.probation.stats.entered).toBeGreaterThan(entered);
  });

  it('keeps at most a quarter aside (at least one from three nodes): the slowest one of four, none of two', async () => {
    expect([2, 3, 4, 7, 8, 100].map(probationLimit)).toEqual([0, 1, 1, 1, 2, 25]);
    const four = setup();
    four.made[0]!.latencyMs = 51;
    four.made[1]!.latencyMs = 31;
    await four.run(5_000);
    expect(four.balancer.nodes.map((n) => n.onProbation)).toEqual([true, false, false, false]);

    const two = setup({ addresses: ADDRESSES.slice(0, 2) });
    two.made[0]!.latencyMs = 51;
    await two.run(5_000);
    expect(two.balancer.nodes.map((n) => n.onProbation)).toEqual([false, false]);
  });

  it('keeps the slow endpoint aside through a stall that peaks the fast ones above it (a newcomer does not take its place)', async () => {
    const h = setup();
    h.made[0]!.latencyMs = 51;
    await h.run(5_000);
    expect(h.balancer.nodes[0]!.onProbation).toBe(true);
    // A stall of 200 ms that slows every fast endpoint's answers (80, 60, 60 ms): their estimates
    // peak at or above the slow one's, one of them well above.
    h.made.slice(1).forEach((e, i) => {
      e.hiccupEvery = 1;
      e.hiccupMs = i === 0 ? 80 : 60;
    });
    await h.run(200);
    for (const e of h.made.slice(1)) e.hiccupEvery = 0;
    h.reset();
    await h.run(10_000);
    expect(h.balancer.nodes[0]!.onProbation).toBe(true);
    expect(h.made[0]!.callers).toBe(0);
  });

  it('never lets P2C draw a node on probation while two others are usable, however cheap it looks', () => {
    const node = (address: string, cost: number, onProbation = false) =>
      ({
        address,
        endpoint: { address, weight: 1 },
        service: { status: 'open' },
        load: { pending: 0, cost: () => cost, peek: () => cost, start() {}, end() {} },
        onProbation,
      }) as unknown as EndpointNode;
    const nodes = [node('a', 0.001, true), node('b', 5), node('c', 5), node('d', 5)];
    const picker = new PowerOfTwoChoices(seeded(3));
    const picked = new Set<string>();
    for (let i = 0; i < 1_000; i++) picked.add(picker.pick(nodes, new CallContext('svc'), i)!.address);
    expect(picked.has('a')).toBe(false);
    expect(picked.size).toBe(3);
  });

  it('fails open: the endpoint on probation is picked when no other one is open', async () => {
    const h = setup();
    h.made[0]!.latencyMs = 51;
    await h.run(5_000);
    expect(h.balancer.nodes[0]!.onProbation).toBe(true);
    for (const e of h.made.slice(1)) e.status = 'busy';
    h.reset();
    await h.run(100);
    // Busy nodes rank after an open one on probation (src/balance/endpoint-node.ts).
    expect(h.made[0]!.callers).toBe(100);
  });

  it('rejects bad settings with a ConfigError naming the option', () => {
    expect(() => p2cPeakEwma({ probation: { ratio: 1 } })).toThrow(ConfigError);
    expect(() => p2cPeakEwma({ probation: { ratio: 1 } })).toThrow(/balancer\.probation\.ratio/);
    expect(() => p2cPeakEwma({ probation: { probeIntervalMs: 0 } })).toThrow(/probeIntervalMs/);
    expect(() => p2cPeakEwma({ probation: { minCallsPerProbe: 0.5 } })).toThrow(/minCallsPerProbe/);
    expect(() => p2cPeakEwma({ probation: { ratoi: 3 } as never })).toThrow(/balancer\.probation/);
    expect(() => p2cPeakEwma({ probation: 'on' as never })).toThrow(/balancer\.probation/);
  });
});
