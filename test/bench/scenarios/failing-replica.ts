/**
 * failing-replica: four replicas; one starts failing every request, either answering 503 or
 * refusing connections, while open-loop load runs. Each contender, fresh, first runs a warm-up
 * second against four healthy replicas; then the replica fails, and the measured window begins.
 * Reported: the callers' success rate, and the extra load, which is the requests the replicas
 * saw divided by the calls made (1.0 means nothing was sent twice).
 */

import { LABELS, MULTI_REPLICA, makeContender } from '../contenders.js';
import type { ScenarioResult } from '../result.js';
import {
  type FailingReplicaOptions,
  poolFailingReplicaRuns,
  presentFailingReplica,
  REFUSING_CONNECTIONS,
  type ReplicaFailure,
  runFailingReplica,
  withDefaultRounds,
} from './failing-replica-method.js';

export type { FailingReplicaOptions };

const NAMES = MULTI_REPLICA;
const FAILURES: readonly ReplicaFailure[] = [
  { key: '503', label: 'answers 503', behaviour: { errorRate: 1, errorStatus: 503 } },
  REFUSING_CONNECTIONS,
];

export async function failingReplica(options: FailingReplicaOptions): Promise<ScenarioResult> {
  const runs = await runFailingReplica(options, {
    names: NAMES,
    failures: FAILURES,
    protocol: 'http',
    makeContender,
  });
  const shown = withDefaultRounds(options);
  const rows = poolFailingReplicaRuns(runs, NAMES, FAILURES);
  const find = (name: string, failure: string) => rows.find((r) => r.name === name && r.failure === failure)!;
  const { tables, charts } = presentFailingReplica(rows, NAMES, FAILURES, {
    contenders: LABELS,
    extraLoadColumn: 'extra load (server requests ÷ calls)',
    successChartTitle: 'One of four replicas failing: calls that succeeded',
    extraLoadChartTitle: 'One of four replicas failing: extra load (requests at the servers ÷ calls)',
  });
  return {
    scenario: 'failing-replica',
    summary: `4 replicas, one failing every request; open loop at ${options.rate} calls/s, ${shown.rounds} × ${options.durationMs / 1_000} s per contender and failure, each after a healthy warm-up second; calls of every round pooled`,
    tables,
    charts,
    headline: {
      weftSuccessPercent503: find('weft', '503').successPercent,
      weftExtraLoad503: find('weft', '503').extraLoad,
      weftSuccessPercentRefused: find('weft', 'refused').successPercent,
      balancedPoolSuccessPercent503: find('undici-balanced-pool', '503').successPercent,
    },
    details: { options: shown, rows, runs },
  };
}
