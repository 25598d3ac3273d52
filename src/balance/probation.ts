/**
 * Probation: keeps aside an endpoint whose RTT estimate is far above the best one's, so that P2C
 * stops exploring it with callers' requests, and lets probes, not callers, find out when it is
 * fast again. It belongs to the P2C picker of `p2cPeakEwma` (./p2c.ts reviews it on picks); the
 * balancer (./balancer.ts) sends the probes and reports their samples.
 *
 * Why: Peak EWMA decays an idle endpoint's estimate toward 0 (every read is a zero sample), so a
 * replica 50 ms slower than the others looks cheap again within 10–25 s and P2C sends it callers'
 * requests until one comes back slow; the fast replicas' own peaks (a GC pause) fade just as
 * slowly and make the slow one win comparisons. Measured: 1.4% of attempts went to a +50 ms
 * replica, above the 0.1% a p99.9 can absorb. Finagle marks nodes that fail busy and avoids them
 * while an open one exists; Prequal (NSDI 2024) keeps "hot" replicas out of selection while any
 * "cold" one is left and learns their state from probes rather than from callers' requests. This
 * does the same for latency:
 *
 *          review (every 100 ms, on a pick)               review or a sample in range
 *   normal ──── estimate > threshold, a quarter ─────▶ on probation ─────────────────────▶ normal
 *                                                       │  ▲
 *                                     probe (≤ 1/s, ≤ 1%│  │ sample above the threshold: stays
 *                                     of calls, budget) ▼  │
 *                                                   a mirrored copy
 *
 *   threshold = max(ratio × base, base + minExtraMs), base = the best typical latency among open
 *               nodes, min(smoothed RTT, Peak EWMA estimate) (./peak-ewma.ts), followed at once
 *               when it falls and over 5 s when it rises. The smoothed RTT (RFC 6298's SRTT)
 *               forgets within a few dozen samples the peak that a stall of the client puts on
 *               every node at once, which the estimate would keep for τ; the slow rise keeps
 *               those few dozen samples from lifting the threshold above the slow node.
 *   slow      = a node whose Peak EWMA estimate is above the threshold: one slow answer is enough
 *               to put it aside, and the estimate's decay while it is idle ends probation when no
 *               probe can be sent. Nodes still at the initial guess are neither best nor slow.
 *   Estimates, not costs, are compared, so load (pending requests) cannot flap a node in and out.
 *   At most a quarter of the nodes (1 of 3 to 7, 2 of 8, none of 2) is on probation at once, so a
 *   slow-down of the whole fleet is not mistaken for outliers, and P2C's draws still find two
 *   usable nodes without falling back to the O(n) scan. A node on probation keeps its place
 *   while it is still slow; newcomers fill what is left, the slowest first (a stall that peaks a
 *   fast node above the slow one must not swap them).
 *   A node on probation is avoided like a tried one (./endpoint-node.ts): picked only when no
 *   other open node is usable (fail open).
 *   A probe is a copy of an idempotent call with a body in memory, sent to the node on probation
 *   beside the call and discarded when it answers (the caller never waits for it), at most every
 *   `probeIntervalMs` and every `minCallsPerProbe` calls, each taking a retry-budget token.
 *   A sample at or below the threshold (a probe's, or any request's) ends probation at once and
 *   sets the estimate to that sample (./peak-ewma.ts `revive`), so a healed
 *   node is back within about one probe interval. Without eligible calls there are no probes: the
 *   estimate's own decay then ends probation once it falls below the threshold (after
 *   τ·ln(estimate/threshold), 15 s for 51 ms against 11 ms).
 *
 * Defaults (weft's choices; see docs/load-balancing.md): ratio 3, minExtraMs 10, probeIntervalMs
 * 1000, minCallsPerProbe 100 (so at most 1% of calls are mirrored), review every 100 ms and at
 * most once per n picks (O(1) per pick, amortized).
 */
import { WeftError } from '../core/errors.js';
import type { EndpointNode } from './endpoint-node.js';

/** Settings of probation (`p2cPeakEwma({ probation })`). */
export interface ProbationOptions {
  /** A node is slow when its estimate is above `ratio` × the best. Default 3. */
  ratio?: number;
  /** ... and above the best + `minExtraMs`. Default 10 ms. */
  minExtraMs?: number;
  /** Least time between probes, per client, in ms. Default 1000. */
  probeIntervalMs?: number;
  /** Least calls between probes, per client. Default 100 (at most 1% of calls). */
  minCallsPerProbe?: number;
}

/** Probation's defaults (weft's choices; docs/load-balancing.md). */
export const PROBATION_DEFAULTS = {
  ratio: 3,
  minExtraMs: 10,
  probeIntervalMs: 1_000,
  minCallsPerProbe: 100,
} as const;

/** How often, at most, the nodes are reviewed (on a pick), in ms. */
export const REVIEW_INTERVAL_MS = 100;
/** Time constant with which the baseline follows a rise of the best latency, in ms (weft's choice). */
export const BASELINE_MS = 5_000;

/** Counters for tests and dashboards. */
export interface ProbationStats {
  /** Times a node was put on probation. */
  entered: number;
  /** Times a node left probation because its decayed estimate fell below the threshold. */
  decayed: number;
  /** Times a sample in the healthy range ended probation (a probe's, usually). */
  revived: number;
  /** Probes handed out. */
  probes: number;
}

export class Probation {
  readonly #ratio: number;
  readonly #minExtraMs: number;
  readonly #probeIntervalMs: number;
  readonly #minCallsPerProbe: number;
  #nextReview = Number.NEGATIVE_INFINITY;
  /** The estimate above which a node is kept aside, from the last review (Infinity: none is). */
  #threshold = Number.POSITIVE_INFINITY;
  /** The best latency, followed down at once and up over BASELINE_MS (NaN before the first review). */
  #baseline = Number.NaN;
  #baselineAt = 0;
  /** The nodes on probation as of the last review (some may have been revived since). */
  #kept: EndpointNode[] = [];
  /** Nodes on probation now. */
  #count = 0;
  #callsSinceProbe = 0;
  #picksSinceReview = 0;
  #nextProbe = Number.NEGATIVE_INFINITY;
  #turn = 0;
  readonly stats: ProbationStats = { entered: 0, decayed: 0, revived: 0, probes: 0 };

  constructor(options: Required<ProbationOptions>) {
    this.#ratio = options.ratio;
    this.#minExtraMs = options.minExtraMs;
    this.#probeIntervalMs = options.probeIntervalMs;
    this.#minCallsPerProbe = options.minCallsPerProbe;
  }

  /** The estimate above which a node is slow, as of the last review (Infinity before one). */
  get threshold(): number {
    return this.#threshold;
  }

  /** How many nodes are on probation now. */
  get count(): number {
    return this.#count;
  }

  /**
   * A pick is about to happen: count the call, and review the nodes if the last review is 100 ms
   * old and at least as many picks as nodes have been made since (a review is O(n), so this keeps
   * it O(1) per pick, amortized, at any size).
   */
  beforePick(nodes: readonly EndpointNode[], now: number): void {
    this.#callsSinceProbe++;
    if (++this.#picksSinceReview >= nodes.length && now >= this.#nextReview) this.review(nodes, now);
  }

  /** Recompute the threshold and who is on probation. O(n), at most every 100 ms. */
  review(nodes: readonly EndpointNode[], now: number): void {
    this.#nextReview = now + REVIEW_INTERVAL_MS;
    this.#picksSinceReview = 0;
    let best = Number.POSITIVE_INFINITY;
    let open = 0;
    for (const node of nodes) {
      if (!judged(node)) continue;
      open++;
      const estimate = latencyOf(node, now);
      if (estimate < best) best = estimate;
    }
    const limit = probationLimit(nodes.length);
    const base = this.#follow(best, now);
    this.#threshold =
      limit > 0 && open > 1
        ? Math.max(base * this.#ratio, base + this.#minExtraMs)
        : Number.POSITIVE_INFINITY;
    // Nodes already on probation keep their places while still slow; new ones fill what is left of
    // the quarter, the slowest first. So a stall that peaks a fast node above the slow one cannot
    // swap them and hand the slow node back to callers.
    const stay: Array<{ node: EndpointNode; estimate: number }> = [];
    const join: Array<{ node: EndpointNode; estimate: number }> = [];
    for (const node of nodes) {
      if (!judged(node)) continue;
      const estimate = node.load.peekEstimate?.(now) ?? 0;
      if (estimate > this.#threshold) (node.onProbation === true ? stay : join).push({ node, estimate });
    }
    if (stay.length > limit) stay.sort((a, b) => b.estimate - a.estimate).length = Math.max(0, limit);
    if (join.length > limit - stay.length)
      join.sort((a, b) => b.estimate - a.estimate).length = Math.max(0, limit - stay.length);
    const slow = [...stay, ...join];
    const kept: EndpointNode[] = [];
    for (const { node } of slow) {
      if (node.onProbation !== true) this.stats.entered++;
      kept.push(node);
    }
    // Those that lost their place leave: O(kept) with a set, whatever the overlap.
    const next = new Set(kept);
    for (const node of this.#kept) {
      if (node.onProbation === true && !next.has(node)) {
        node.onProbation = false;
        this.stats.decayed++;
      }
    }
    for (const node of kept) node.onProbation = true;
    this.#kept = kept;
    this.#count = kept.length;
  }

  /**
   * The baseline the threshold is built from: the best latency, followed at once when it falls and
   * over BASELINE_MS when it rises. A stall of the client slows every answer in flight and raises
   * every node's smoothed RTT for a few dozen samples; followed at once, the threshold would rise
   * above the slow node, a probe would revive it, and callers would get it at the very moment
   * the fast nodes look slow. A real slow-down of the whole fleet is followed within seconds.
   */
  #follow(best: number, now: number): number {
    if (best === Number.POSITIVE_INFINITY) return best;
    const previous = this.#baseline;
    if (Number.isNaN(previous) || best <= previous) {
      this.#baseline = best;
    } else {
      const w = Math.exp(-(now - this.#baselineAt) / BASELINE_MS);
      this.#baseline = previous * w + best * (1 - w);
    }
    this.#baselineAt = now;
    return this.#baseline;
  }

  /**
   * Whether a probe should go out now (cheap: asked on every pick while a node is on probation):
   * a node is on probation, and `probeIntervalMs` and `minCallsPerProbe` calls have passed.
   */
  due(now: number): boolean {
    return this.#count > 0 && now >= this.#nextProbe && this.#callsSinceProbe >= this.#minCallsPerProbe;
  }

  /**
   * Take the probe that is due: the node to send it to (the nodes on probation in turn), or
   * undefined if none is open. Starts the wait for the next probe either way.
   */
  takeProbe(now: number): EndpointNode | undefined {
    this.#nextProbe = now + this.#probeIntervalMs;
    this.#callsSinceProbe = 0;
    const kept = this.#kept;
    for (let k = 0; k < kept.length; k++) {
      const node = kept[this.#turn++ % kept.length]!;
      if (node.onProbation === true && node.service.status === 'open') {
        this.stats.probes++;
        return node;
      }
    }
    return undefined;
  }

  /**
   * A request to a node on probation succeeded in `rttMs` (a probe, or a caller's request when
   * the balancer failed open): within the healthy range, probation ends at once and the node's
   * estimate restarts from this sample.
   */
  sampled(node: EndpointNode, rttMs: number, now: number): void {
    if (node.onProbation !== true || rttMs > this.#threshold) return;
    node.onProbation = false;
    node.load.revive?.(now, rttMs);
    this.#count--;
    this.stats.revived++;
  }
}

/** Whether review judges a node: open, and its estimate rests on a real sample, not the initial guess. */
function judged(node: EndpointNode): boolean {
  return node.service.status === 'open' && node.load.measured !== false;
}

/**
 * How many of `n` nodes may be on probation at once: a quarter, at least one from 3 nodes, none of
 * 2. A minority, so a slow-down of the whole fleet is not mistaken for outliers; a quarter, not
 * just under half, because P2C's draws must keep finding two usable nodes (with half unusable,
 * 1.2% of picks end in the O(n) scan at 100 nodes; with a quarter, almost none).
 */
export function probationLimit(n: number): number {
  return n <= 2 ? 0 : Math.max(1, Math.floor(n / 4));
}

/** A node's typical latency, for the best: the lower of its smoothed RTT and its decayed Peak EWMA estimate. */
function latencyOf(node: EndpointNode, now: number): number {
  const estimate = node.load.peekEstimate?.(now) ?? 0;
  const smoothed = node.load.smoothedRttMs;
  return smoothed !== undefined && smoothed < estimate ? smoothed : estimate;
}

/** Most time a probe may take when the call it copies has no deadline, in ms (weft's choice). */
export const MAX_PROBE_MS = 10_000;

/**
 * What the balancer needs to send probes: which requests may be copied (idempotent, with a body in
 * memory: the same rule as hedging), how to drop a response nobody reads, and the budget each
 * probe takes a token from (the client's retry budget, shared with retries and hedges).
 */
export interface ProbeSupport<Req, Res> {
  mayCopy(req: Req, idempotent: boolean): boolean;
  /** The request to send as the probe: a marked copy (HTTP: `weft-probe: 1`); absent, `req` itself. */
  copy?(req: Req): Req;
  discard(res: Res): void;
  readonly budget: { tryWithdraw(): boolean };
}

/** A probe ran past its time (the copied attempt's deadline, at most {@link MAX_PROBE_MS}). */
export class ProbeTimeoutError extends WeftError {
  constructor(timeoutMs: number, endpoint: string) {
    super('WEFT_ATTEMPT_TIMEOUT', `probe of ${endpoint} timed out after ${Math.round(timeoutMs)}ms`);
  }
}
