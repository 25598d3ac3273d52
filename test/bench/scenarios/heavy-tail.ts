/**
 * heavy-tail: four replicas that each answer 1% of requests 50× slower than the rest (any
 * request, any replica: a tail no balancer can route around), under open-loop load. weft runs
 * with and without hedging, beside the other contenders. Reported: p50, p99 and p99.9 of each,
 * and the extra load (requests at the servers ÷ calls): what the hedges cost. Each contender gets
 * a warm-up first (hedging needs latencies to set its delay); the measured runs are interleaved.
 * Also reported: each contender's calls (p99.9 is the slowest thousandth of them) and the share
 * that took over 10× the base latency, i.e. met a slow response unhedged. With 1% of responses
 * slow, that share sits near 1% and p99 falls on either side of the jump from run to run
 * (docs/benchmarks.md). weft + hedging may spend up to 4% extra load (`maxExtraLoad: 0.04`).
 * A last row, the floor, runs weft without hedging while the replicas answer without the tail, in
 * the same run: the noise of this machine at this rate (client and server stalls), below which
 * hedging cannot bring the p99.9 and which also counts in "calls in the tail".
 */

import type { Behaviour, Replicas } from '../backends.js';
import { type Contender, type ContenderName, makeContender } from '../contenders.js';
import { openLoop } from '../load.js';
import type { ScenarioResult } from '../result.js';
import { round } from '../stats.js';
import { pause, percent, summarize, withReplicas } from './common.js';

export interface HeavyTailOptions {
  /** Warm-up before measuring, ms (default 2000). */
  warmUpMs?: number;
  rate: number;
  durationMs: number;
  rounds: number;
  /** Latency of the common case, ms; the tail is 50× that. */
  baseMs?: number;
}

const NAMES: readonly ContenderName[] = [
  'weft',
  'weft-hedging',
  'undici-balanced-pool',
  'undici-retry-agent',
  'cockatiel',
  'undici-fetch',
];
const WARM_UP_MS = 2_000;
const BASE_MS = 2;

/** Key of the floor row: weft, no hedging, while the replicas answer without the tail. */
const FLOOR = 'floor';

async function run(replicas: Replicas, options: HeavyTailOptions, tailed: Behaviour, untailed: Behaviour) {
  const contenders: Contender[] = NAMES.map((n) => makeContender(n, replicas.addresses));
  // The floor: what this machine gives at this rate with no slow response at all (client and
  // server noise, stalls), measured in the same run. Hedging cannot go below it: a call slowed by
  // the client's own loop stays slow whichever replica answers.
  const floor: Contender = {
    ...makeContender('weft', replicas.addresses),
    label: 'weft, replicas without the tail (floor)',
  };
  const setTail = (b: Behaviour) => Promise.all(replicas.all.map((r) => r.configure(b)));
  const all = [...contenders, floor];
  const keyOf = (c: Contender) => (c === floor ? FLOOR : c.name);
  try {
    for (const c of all)
      await openLoop(c.send, { rate: options.rate, durationMs: options.warmUpMs ?? WARM_UP_MS });
    const latencies: Record<string, number[]> = {};
    const calls: Record<string, number> = {};
    const seen: Record<string, number> = {};
    const failed: Record<string, number> = {};
    for (const c of all) {
      const k = keyOf(c);
      latencies[k] = [];
      calls[k] = 0;
      seen[k] = 0;
      failed[k] = 0;
    }
    for (let r = 0; r < options.rounds; r++) {
      const order = r % 2 === 0 ? all : [...all].reverse();
      for (const c of order) {
        const k = keyOf(c);
        if (c === floor) await setTail(untailed);
        await replicas.seen(true);
        const result = await openLoop(c.send, { rate: options.rate, durationMs: options.durationMs });
        // Hedges that lost are cancelled, but the server may still be counting them: let them land.
        await pause(200);
        seen[k]! += await replicas.seen(true);
        calls[k]! += result.calls;
        failed[k]! += result.failed;
        latencies[k]!.push(...result.latenciesMs);
        if (c === floor) await setTail(tailed);
      }
    }
    // The slow responses take 50× the base: a call slower than 10× the base met one unhedged.
    const tailFrom = 10 * (options.baseMs ?? BASE_MS);
    return all.map((c) => {
      const k = keyOf(c);
      return {
        name: k,
        label: c.label,
        latency: summarize(latencies[k]!),
        tailPercent: percent(latencies[k]!.filter((ms) => ms > tailFrom).length, calls[k]!, 3),
        extraLoad: round(seen[k]! / calls[k]!, 3),
        failed: failed[k]!,
      };
    });
  } finally {
    await Promise.all(all.map((c) => c.close()));
  }
}

export async function heavyTail(options: HeavyTailOptions): Promise<ScenarioResult> {
  const baseMs = options.baseMs ?? BASE_MS;
  const behaviour = { latencyMs: baseMs, tail: { p: 0.01, ms: baseMs * 50 } };
  return withReplicas([behaviour, behaviour, behaviour, behaviour], async (replicas) => {
    const rows = await run(replicas, options, behaviour, { latencyMs: baseMs });
    const weft = rows.find((r) => r.name === 'weft')!;
    const hedged = rows.find((r) => r.name === 'weft-hedging')!;
    const floor = rows.find((r) => r.name === FLOOR)!;
    return {
      scenario: 'heavy-tail',
      summary: `4 replicas answering in ${baseMs} ms, 1% of requests in ${baseMs * 50} ms; open loop at ${options.rate} calls/s, ${options.rounds} × ${options.durationMs / 1_000} s per contender`,
      tables: [
        {
          columns: [
            'contender',
            'p50 (ms)',
            'p99 (ms)',
            'p99.9 (ms)',
            'calls in the tail (%)',
            'extra load',
            'calls',
            'failed',
          ],
          rows: rows.map((r) => [
            r.label,
            r.latency.p50,
            r.latency.p99,
            r.latency.p999,
            r.tailPercent,
            r.extraLoad,
            r.latency.samples,
            r.failed,
          ]),
        },
      ],
      charts: [
        {
          kind: 'bars',
          title: `Latency with a heavy tail (1% of requests 50× slower), open loop at ${options.rate}/s`,
          unit: 'ms',
          log: true,
          groups: ['p50', 'p99', 'p99.9'],
          series: rows.map((r) => ({
            name: r.label,
            values: [r.latency.p50, r.latency.p99, r.latency.p999],
          })),
        },
      ],
      headline: {
        weftP999Ms: weft.latency.p999,
        weftHedgingP999Ms: hedged.latency.p999,
        hedgingP999Gain: round(weft.latency.p999 / hedged.latency.p999, 2),
        hedgingExtraLoad: hedged.extraLoad,
        weftTailPercent: weft.tailPercent,
        weftHedgingTailPercent: hedged.tailPercent,
        floorP999Ms: floor.latency.p999,
        floorTailPercent: floor.tailPercent,
        callsPerP999: Math.min(...rows.map((r) => r.latency.samples)),
      },
      details: { options: { ...options, baseMs }, rows },
    };
  });
}
