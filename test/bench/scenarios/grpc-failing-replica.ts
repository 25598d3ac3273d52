/**
 * grpc-failing-replica: four grpc-js replicas; one starts failing every call, either answering
 * UNAVAILABLE (trailers-only, after the request arrived) or refusing connections, while open-loop
 * unary load runs. Contenders: weft's gRPC client, grpc-js `round_robin` without retries, and
 * grpc-js `round_robin` with a `retryPolicy` retrying UNAVAILABLE (3 attempts), weft configured
 * alike (../grpc-contenders.ts). As in `failing-replica`: each contender, fresh, first runs a
 * warm-up second against four healthy replicas; then the replica fails, and the measured window
 * begins. Reported: the callers' success rate, and the extra load (calls the replicas saw ÷ calls
 * made; 1.0 means nothing was sent twice).
 */
import { GRPC_LABELS, GRPC_MULTI_REPLICA, makeGrpcContender } from '../grpc-contenders.js';
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

export type GrpcFailingReplicaOptions = FailingReplicaOptions;

const NAMES = GRPC_MULTI_REPLICA;
const FAILURES: readonly ReplicaFailure[] = [
  { key: 'unavailable', label: 'answers UNAVAILABLE', behaviour: { errorRate: 1, grpcStatus: 14 } },
  REFUSING_CONNECTIONS,
];

export async function grpcFailingReplica(options: FailingReplicaOptions): Promise<ScenarioResult> {
  const runs = await runFailingReplica(options, {
    names: NAMES,
    failures: FAILURES,
    protocol: 'grpc',
    makeContender: makeGrpcContender,
  });
  const shown = withDefaultRounds(options);
  const rows = poolFailingReplicaRuns(runs, NAMES, FAILURES);
  const find = (name: string, failure: string) => rows.find((r) => r.name === name && r.failure === failure)!;
  const { tables, charts } = presentFailingReplica(rows, NAMES, FAILURES, {
    contenders: GRPC_LABELS,
    extraLoadColumn: 'extra load (server calls ÷ calls)',
    successChartTitle: 'gRPC, one of four replicas failing: calls that succeeded',
    extraLoadChartTitle: 'gRPC, one of four replicas failing: extra load (calls at the servers ÷ calls)',
  });
  return {
    scenario: 'grpc-failing-replica',
    summary: `4 grpc-js replicas, one failing every call; open loop of unary calls at ${options.rate} calls/s, ${shown.rounds} × ${options.durationMs / 1_000} s per contender and failure, each after a healthy warm-up second; calls of every round pooled`,
    tables,
    charts,
    headline: {
      weftSuccessPercentUnavailable: find('weft', 'unavailable').successPercent,
      weftExtraLoadUnavailable: find('weft', 'unavailable').extraLoad,
      retryPolicySuccessPercentUnavailable: find('grpc-js-retry', 'unavailable').successPercent,
      retryPolicyExtraLoadUnavailable: find('grpc-js-retry', 'unavailable').extraLoad,
      roundRobinSuccessPercentUnavailable: find('grpc-js-round-robin', 'unavailable').successPercent,
      weftSuccessPercentRefused: find('weft', 'refused').successPercent,
    },
    details: { options: shown, rows, runs },
  };
}
