/**
 * Paired rounds, the method of the closed-loop overhead scenarios (./overhead.ts,
 * ./grpc-overhead.ts): a contender's worker process and a raw client's, both warm, run their
 * rounds back to back, in alternating order, so drifts in machine load hit both alike; each
 * figure is then the median over rounds of the contender's ratio to the raw client in the same
 * round, with the interquartile range to show how noisy the run was.
 */
import { median, percentile, round } from '../stats.js';
import type { OverheadMessage, OverheadReply, OverheadSample } from '../workers/overhead-rounds.js';
import type { LiveWorker } from './common.js';

/** One round: the raw client's and the contender's figures, measured back to back. */
export interface PairedRound {
  readonly rawRps: number;
  /** µs of client CPU per call. */
  readonly rawCpu: number;
  readonly rps: number;
  readonly cpu: number;
  /** Calls that failed, in both processes. */
  readonly failed: number;
}

/** A contender's figures over its rounds. */
export interface PairedSummary {
  /** Median of its own calls per second. */
  readonly rps: number;
  /** Median of its own client CPU per call, µs. */
  readonly cpuUsPerCall: number;
  /** Median over rounds of its throughput ÷ the raw client's in the same round. */
  readonly throughputRatio: number;
  readonly ratioP25: number;
  readonly ratioP75: number;
  /** Median over rounds of the raw client's CPU per call ÷ its own (above 1: it costs less). */
  readonly cpuRatio: number;
  readonly perRoundRatios: readonly number[];
}

/** The figures of a contender's `rounds` (at least one), as ratios to the raw client paired with it. */
export function summarizePaired(rounds: readonly PairedRound[]): PairedSummary {
  if (rounds.length === 0) throw new Error('summarizePaired: no rounds');
  const ratios = rounds.map((r) => r.rps / r.rawRps);
  return {
    rps: round(median(rounds.map((r) => r.rps)), 0),
    cpuUsPerCall: round(median(rounds.map((r) => r.cpu)), 1),
    throughputRatio: round(median(ratios)),
    ratioP25: round(percentile(ratios, 25)),
    ratioP75: round(percentile(ratios, 75)),
    cpuRatio: round(median(rounds.map((r) => r.rawCpu / r.cpu))),
    perRoundRatios: ratios.map((x) => round(x)),
  };
}

type OverheadWorker = LiveWorker<OverheadMessage, OverheadReply>;

/**
 * Start a raw worker and a contender's side by side (they warm up together, which halves the wait;
 * started one after the other, the second measured behind: `overhead`'s control at 0.93–0.95, not
 * 1), run `count` rounds on them back to back, the raw one first
 * when `offset + round` is even, and close both however it ends.
 */
export async function runPairedRounds(
  startRaw: () => Promise<OverheadWorker>,
  startContender: () => Promise<OverheadWorker>,
  count: number,
  offset: number,
): Promise<PairedRound[]> {
  const [rawStart, contenderStart] = await Promise.allSettled([startRaw(), startContender()]);
  const raw = rawStart.status === 'fulfilled' ? rawStart.value : undefined;
  const contender = contenderStart.status === 'fulfilled' ? contenderStart.value : undefined;
  try {
    if (raw === undefined) throw (rawStart as PromiseRejectedResult).reason;
    if (contender === undefined) throw (contenderStart as PromiseRejectedResult).reason;
    const rounds: PairedRound[] = [];
    for (let r = 0; r < count; r++) {
      const rawFirst = (offset + r) % 2 === 0;
      const first = (await (rawFirst ? raw : contender).ask({ round: true })) as OverheadSample;
      const second = (await (rawFirst ? contender : raw).ask({ round: true })) as OverheadSample;
      const [rawSample, sample] = rawFirst ? [first, second] : [second, first];
      rounds.push({
        rawRps: rawSample.rps,
        rawCpu: rawSample.cpu,
        rps: sample.rps,
        cpu: sample.cpu,
        failed: sample.failed + rawSample.failed,
      });
    }
    return rounds;
  } finally {
    await Promise.all([raw?.close({ close: true }), contender?.close({ close: true })]);
  }
}

/** How many of `rounds` the pair numbered `pair` (of `pairs`) runs: an even share, the rest to the first. */
export function roundsOfPair(rounds: number, pairs: number, pair: number): number {
  return Math.floor(rounds / pairs) + (pair < rounds % pairs ? 1 : 0);
}
