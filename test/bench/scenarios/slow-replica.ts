/**
 * slow-replica: four replicas, one answering 50 ms late; open-loop load (calls started at a fixed
 * rate, latency from each call's scheduled start). Every contender runs against the four healthy
 * replicas, then against the same four with one slow: p50, p99 and p99.9 of each. A fresh
 * contender per condition gets a warm-up second first (what it learns then, it keeps); the
 * measured runs are interleaved round by round, and the percentiles pool every round's calls.
 * The table gives the calls each percentile rests on. Last, weft runs once more with the slow
 * replica, which then heals: the time until weft sends it its share again (./slow-replica-recovery.ts).
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
  const { rows, recovery } = await runSlowReplica(
    { recovery: true, ...options },
    {
      names: NAMES,
      labels: LABELS,
      protocol: 'http',
      makeContender,
    },
  );
  const weft = rows.find((x) => x.name === 'weft')!;
  const balanced = rows.find((x) => x.name === 'undici-balanced-pool')!;
  return {
    scenario: 'slow-replica',
    summary: `4 replicas, one +${shown.slowMs} ms; open loop at ${options.rate} calls/s, ${options.rounds} × ${options.durationMs / 1_000} s per contender and condition`,
    tables: [
      slowReplicaTable(rows),
      ...(recovery === undefined
        ? []
        : [
            {
              columns: [
                'after the slow replica heals',
                'its share before (%)',
                'its share 3–5 s after (%)',
                'time to its share (ms)',
              ],
              rows: [
                [
                  'weft',
                  recovery.shareBeforePercent,
                  recovery.shareAfterPercent,
                  recovery.recoveryMs ?? 'never',
                ],
              ],
            },
          ]),
    ],
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
      weftHealthyP999Ms: weft.healthy.p999,
      weftHealthyP99Ms: weft.healthy.p99,
      weftP999SlowOverHealthy: round(weft.slow.p999 / weft.healthy.p999, 2),
      weftP99SlowOverHealthy: round(weft.slow.p99 / weft.healthy.p99, 2),
      callsPerP999: Math.min(...rows.flatMap((x) => [x.healthy.samples, x.slow.samples])),
      ...(recovery === undefined
        ? {}
        : {
            weftRecoveryMs: recovery.recoveryMs ?? -1,
            weftSlowShareBeforeHealPercent: recovery.shareBeforePercent,
          }),
    },
    details: { options: shown, rows, recovery },
  };
}
