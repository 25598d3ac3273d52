/**
 * grpc-slow-replica: four grpc-js replicas, one answering 50 ms late; open-loop unary calls
 * (started at a fixed rate, latency from each call's scheduled start). weft's gRPC client and a
 * grpc-js client with the `round_robin` policy over the four addresses run against the four
 * healthy replicas, then against the same four with one slow: p50, p99 and p99.9 of each. As in
 * `slow-replica`: a fresh contender per condition gets a warm-up second first (what it learns then,
 * it keeps); the measured runs are interleaved round by round, and the percentiles pool every
 * round's calls.
 */
import {
  GRPC_LABELS,
  type GrpcContender,
  type GrpcContenderName,
  makeGrpcContender,
} from '../grpc-contenders.js';
import { openLoop } from '../load.js';
import type { ScenarioResult } from '../result.js';
import { round } from '../stats.js';
import { type LatencySummary, pause, summarize, withReplicas } from './common.js';

export interface GrpcSlowReplicaOptions {
  /** Warm-up before measuring, ms (default 1000). */
  warmUpMs?: number;
  rate: number;
  durationMs: number;
  rounds: number;
  /** Added latency of the slow replica, ms (default 50). */
  slowMs?: number;
}

/** weft, and what a grpc-js user balancing over several replicas would pick. */
const NAMES: readonly GrpcContenderName[] = ['weft', 'grpc-js-round-robin'];
const WARM_UP_MS = 1_000;

type Measured = Record<string, { summary: LatencySummary; failed: number }>;

async function measure(addresses: readonly string[], options: GrpcSlowReplicaOptions): Promise<Measured> {
  const contenders: GrpcContender[] = NAMES.map((n) => makeGrpcContender(n, addresses));
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
      for (const c of r % 2 === 0 ? contenders : [...contenders].reverse()) {
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

export async function grpcSlowReplica(options: GrpcSlowReplicaOptions): Promise<ScenarioResult> {
  const slowMs = options.slowMs ?? 50;
  return withReplicas(
    [{}, {}, {}, {}],
    async (replicas) => {
      const healthy = await measure(replicas.addresses, options);
      await replicas.all[0]!.configure({ latencyMs: slowMs });
      const slow = await measure(replicas.addresses, options);
      const rows = NAMES.map((n) => ({
        name: n,
        label: GRPC_LABELS[n],
        healthy: healthy[n]!.summary,
        slow: slow[n]!.summary,
        failed: healthy[n]!.failed + slow[n]!.failed,
      }));
      const weft = rows.find((x) => x.name === 'weft')!;
      const roundRobin = rows.find((x) => x.name === 'grpc-js-round-robin')!;
      return {
        scenario: 'grpc-slow-replica',
        summary: `4 grpc-js replicas, one +${slowMs} ms; open loop of unary calls at ${options.rate} calls/s, ${options.rounds} × ${options.durationMs / 1_000} s per contender and condition`,
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
            title: `gRPC latency with one of four replicas ${slowMs} ms slower (open loop, ${options.rate}/s)`,
            unit: 'ms',
            log: true,
            groups: ['p50', 'p99', 'p99.9'],
            series: rows.map((x) => ({ name: x.label, values: [x.slow.p50, x.slow.p99, x.slow.p999] })),
          },
        ],
        headline: {
          weftSlowP99Ms: weft.slow.p99,
          roundRobinSlowP99Ms: roundRobin.slow.p99,
          weftSlowP999Ms: weft.slow.p999,
          roundRobinSlowP999Ms: roundRobin.slow.p999,
          p99GainVsRoundRobin: round(roundRobin.slow.p99 / weft.slow.p99, 2),
        },
        details: { options: { ...options, slowMs }, rows },
      };
    },
    'grpc',
  );
}
