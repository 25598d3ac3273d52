/**
 * grpc-slow-replica: four grpc-js replicas, one answering 50 ms late; open-loop unary calls
 * (started at a fixed rate, latency from each call's scheduled start). weft's gRPC client and a
 * grpc-js client with the `round_robin` policy over the four addresses run against the four
 * healthy replicas, then against the same four with one slow: p50, p99 and p99.9 of each. As in
 * `slow-replica`: a fresh contender per condition gets a warm-up second first (what it learns then,
 * it keeps); the measured runs are interleaved round by round, and the percentiles pool every
 * round's calls.
 */
import { GRPC_LABELS, type GrpcContenderName, makeGrpcContender } from '../grpc-contenders.js';
import type { ScenarioResult } from '../result.js';
import { round } from '../stats.js';
import {
  runSlowReplica,
  type SlowReplicaOptions,
  slowReplicaChart,
  slowReplicaTable,
  withDefaultSlowMs,
} from './slow-replica-method.js';

export type GrpcSlowReplicaOptions = SlowReplicaOptions;

/** weft, and what a grpc-js user balancing over several replicas would pick. */
const NAMES: readonly GrpcContenderName[] = ['weft', 'grpc-js-round-robin'];

export async function grpcSlowReplica(options: SlowReplicaOptions): Promise<ScenarioResult> {
  const shown = withDefaultSlowMs(options);
  const { rows } = await runSlowReplica(options, {
    names: NAMES,
    labels: GRPC_LABELS,
    protocol: 'grpc',
    makeContender: makeGrpcContender,
  });
  const weft = rows.find((x) => x.name === 'weft')!;
  const roundRobin = rows.find((x) => x.name === 'grpc-js-round-robin')!;
  return {
    scenario: 'grpc-slow-replica',
    summary: `4 grpc-js replicas, one +${shown.slowMs} ms; open loop of unary calls at ${options.rate} calls/s, ${options.rounds} × ${options.durationMs / 1_000} s per contender and condition`,
    tables: [slowReplicaTable(rows)],
    charts: [
      slowReplicaChart(
        `gRPC latency with one of four replicas ${shown.slowMs} ms slower (open loop, ${options.rate}/s)`,
        rows,
      ),
    ],
    headline: {
      weftSlowP99Ms: weft.slow.p99,
      roundRobinSlowP99Ms: roundRobin.slow.p99,
      weftSlowP999Ms: weft.slow.p999,
      roundRobinSlowP999Ms: roundRobin.slow.p999,
      p99GainVsRoundRobin: round(roundRobin.slow.p99 / weft.slow.p99, 2),
    },
    details: { options: shown, rows },
  };
}
