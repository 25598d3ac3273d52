/**
 * slow-replica: four replicas, one answering 50 ms late; open-loop load (calls started at a fixed
 * rate, latency from each call's scheduled start). Every contender runs against the four healthy
 * replicas, then against the same four with one slow: p50, p99 and p99.9 of each. A fresh
 * contender per condition gets a warm-up second first (what it learns then, it keeps); the
 * measured runs are interleaved round by round, and the percentiles pool every round's calls.
 */
import { LABELS, MULTI_REPLICA, makeContender } from '../contenders.js';
import type { ScenarioResult } from '../result.js';
import { round } from '../stats.js';
import {
  runSlowReplica,
  type SlowReplicaOptions,
  slowReplicaChart,
  slowReplicaTable,
  withDefaultSlowMs,
} from './slow-replica-method.js';

export type { SlowReplicaOptions };

const NAMES = MULTI_REPLICA;

export async function slowReplica(options: SlowReplicaOptions): Promise<ScenarioResult> {
  const shown = withDefaultSlowMs(options);
  const rows = await runSlowReplica(options, {
    names: NAMES,
    labels: LABELS,
    protocol: 'http',
    makeContender,
  });
  const weft = rows.find((x) => x.name === 'weft')!;
  const balanced = rows.find((x) => x.name === 'undici-balanced-pool')!;
  return {
    scenario: 'slow-replica',
    summary: `4 replicas, one +${shown.slowMs} ms; open loop at ${options.rate} calls/s, ${options.rounds} × ${options.durationMs / 1_000} s per contender and condition`,
    tables: [slowReplicaTable(rows)],
    charts: [
      slowReplicaChart(
        `Latency with one of four replicas ${shown.slowMs} ms slower (open loop, ${options.rate}/s)`,
        rows,
      ),
    ],
    headline: {
      weftSlowP999Ms: weft.slow.p999,
      balancedPoolSlowP999Ms: balanced.slow.p999,
      p999GainVsBalancedPool: round(balanced.slow.p999 / weft.slow.p999, 2),
      weftSlowP99Ms: weft.slow.p99,
      balancedPoolSlowP99Ms: balanced.slow.p99,
    },
    details: { options: shown, rows },
  };
}
