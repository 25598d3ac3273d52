/**
 * slow-replica: four replicas, one answering 50 ms late; open-loop load (calls started at a fixed
 * rate, latency from each call's scheduled start). Every contender runs against the four healthy
 * replicas, then against the same four with one slow: p50, p99 and p99.9 of each. A fresh
 * contender per condition gets a warm-up second first (what it learns then, it keeps); the
 * measured runs are interleaved round by round, and the percentiles pool every round's calls.
 */
import { type Contender, LABELS, MULTI_REPLICA, makeContender } from '../contenders.js';
import { openLoop } from '../load.js';
import type { ScenarioResult } from '../result.js';
import { round } from '../stats.js';
import { type LatencySummary, pause, summarize, withReplicas } from './common.js';

export interface SlowReplicaOptions {
  /** Warm-up before measuring, ms (default 1000). */
  warmUpMs?: number;
  rate: number;
  durationMs: number;
  rounds: number;
  /** Added latency of the slow replica, ms. */
  slowMs?: number;
}

const NAMES = MULTI_REPLICA;
const WARM_UP_MS = 1_000;

async function measure(
  addresses: readonly string[],
  options: SlowReplicaOptions,
): Promise<Record<string, { summary: LatencySummary; failed: number }>> {
  const contenders: Contender[] = NAMES.map((n) => makeContender(n, addresses));
  try {
    for (const c of contenders)
      await openLoop(c.send, { rate: options.rate, durationMs: options.warmUpMs ?? WARM_UP_MS });
    const latencies: Record<string, number[]> = {};
    const failed: Record<string, number> = {};
    for (const c of contenders) {
      latencies[c.name] = [];
      failed[c.name] = 0;
    }
    for (let r = 0; r < options.rounds; r++) {
      const order = r % 2 === 0 ? contenders : [...contenders].reverse();
      for (const c of order) {
        const result = await openLoop(c.send, { rate: options.rate, durationMs: options.durationMs });
        latencies[c.name]!.push(...result.latenciesMs);
        failed[c.name]! += result.failed;
        await pause(50);
      }
    }
    return Object.fromEntries(
      contenders.map((c) => [c.name, { summary: summarize(latencies[c.name]!), failed: failed[c.name]! }]),
    );
  } finally {
    await Promise.all(contenders.map((c) => c.close()));
  }
}

export async function slowReplica(options: SlowReplicaOptions): Promise<ScenarioResult> {
  const slowMs = options.slowMs ?? 50;
  return withReplicas([{}, {}, {}, {}], async (replicas) => {
    const healthy = await measure(replicas.addresses, options);
    await replicas.all[0]!.configure({ latencyMs: slowMs });
    const slow = await measure(replicas.addresses, options);
    const rows = NAMES.map((n) => ({
      name: n,
      label: LABELS[n],
      healthy: healthy[n]!.summary,
      slow: slow[n]!.summary,
      failed: healthy[n]!.failed + slow[n]!.failed,
    }));
    const weft = rows.find((x) => x.name === 'weft')!;
    const balanced = rows.find((x) => x.name === 'undici-balanced-pool')!;
    return {
      scenario: 'slow-replica',
      summary: `4 replicas, one +${slowMs} ms; open loop at ${options.rate} calls/s, ${options.rounds} × ${options.durationMs / 1_000} s per contender and condition`,
      tables: [
        {
          columns: [
            'contender',
            'healthy p50',
            'healthy p99',
            'healthy p99.9',
            'one slow p50',
            'one slow p99',
            'one slow p99.9',
            'failed',
          ],
          rows: rows.map((x) => [
            x.label,
            x.healthy.p50,
            x.healthy.p99,
            x.healthy.p999,
            x.slow.p50,
            x.slow.p99,
            x.slow.p999,
            x.failed,
          ]),
        },
      ],
      charts: [
        {
          kind: 'bars',
          title: `Latency with one of four replicas ${slowMs} ms slower (open loop, ${options.rate}/s)`,
          unit: 'ms',
          log: true,
          groups: ['p50', 'p99', 'p99.9'],
          series: rows.map((x) => ({ name: x.label, values: [x.slow.p50, x.slow.p99, x.slow.p999] })),
        },
      ],
      headline: {
        weftSlowP999Ms: weft.slow.p999,
        balancedPoolSlowP999Ms: balanced.slow.p999,
        p999GainVsBalancedPool: round(balanced.slow.p999 / weft.slow.p999, 2),
        weftSlowP99Ms: weft.slow.p99,
        balancedPoolSlowP99Ms: balanced.slow.p99,
      },
      details: { options: { ...options, slowMs }, rows },
    };
  });
}
