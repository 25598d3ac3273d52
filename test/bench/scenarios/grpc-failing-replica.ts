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
import type { Behaviour } from '../backends.js';
import {
  GRPC_LABELS,
  GRPC_MULTI_REPLICA,
  type GrpcContenderName,
  makeGrpcContender,
} from '../grpc-contenders.js';
import { openLoop } from '../load.js';
import type { ScenarioResult } from '../result.js';
import { round } from '../stats.js';
import { pause, percent, withReplicas } from './common.js';

export interface GrpcFailingReplicaOptions {
  /** Rounds; each runs every contender (order reversed on odd rounds). Default 1. */
  rounds?: number;
  /** Warm-up before measuring, ms (default 1000). */
  warmUpMs?: number;
  rate: number;
  durationMs: number;
}

const NAMES = GRPC_MULTI_REPLICA;
const FAILURES: ReadonlyArray<{ key: string; label: string; behaviour: Behaviour }> = [
  { key: 'unavailable', label: 'answers UNAVAILABLE', behaviour: { errorRate: 1, grpcStatus: 14 } },
  { key: 'refused', label: 'refuses connections', behaviour: { mode: 'refuse' } },
];
const WARM_UP_MS = 1_000;

interface Run {
  readonly name: GrpcContenderName;
  readonly failure: string;
  readonly calls: number;
  readonly ok: number;
  readonly seen: number;
}

export async function grpcFailingReplica(options: GrpcFailingReplicaOptions): Promise<ScenarioResult> {
  const runs: Run[] = [];
  const rounds = options.rounds ?? 1;
  await withReplicas(
    [{}, {}, {}, {}],
    async (replicas) => {
      for (let r = 0; r < rounds; r++) {
        for (const failure of FAILURES) {
          for (const name of r % 2 === 0 ? NAMES : [...NAMES].reverse()) {
            const c = makeGrpcContender(name, replicas.addresses);
            try {
              await openLoop(c.send, { rate: options.rate, durationMs: options.warmUpMs ?? WARM_UP_MS });
              await replicas.all[0]!.configure(failure.behaviour);
              await replicas.seen(true);
              const result = await openLoop(c.send, { rate: options.rate, durationMs: options.durationMs });
              const seen = await replicas.seen(true);
              runs.push({ name, failure: failure.key, calls: result.calls, ok: result.ok, seen });
            } finally {
              await c.close();
            }
            await replicas.all[0]!.configure({});
            await pause(100);
          }
        }
      }
    },
    'grpc',
  );
  // Every round's calls pooled, per contender and failure.
  const rows = FAILURES.flatMap((f) =>
    NAMES.map((name) => {
      const mine = runs.filter((r) => r.name === name && r.failure === f.key);
      const calls = mine.reduce((sum, r) => sum + r.calls, 0);
      const ok = mine.reduce((sum, r) => sum + r.ok, 0);
      const seen = mine.reduce((sum, r) => sum + r.seen, 0);
      return {
        name,
        failure: f.key,
        calls,
        successPercent: percent(ok, calls),
        extraLoad: round(seen / calls, 3),
      };
    }),
  );
  const find = (name: string, failure: string) => rows.find((r) => r.name === name && r.failure === failure)!;
  return {
    scenario: 'grpc-failing-replica',
    summary: `4 grpc-js replicas, one failing every call; open loop of unary calls at ${options.rate} calls/s, ${rounds} × ${options.durationMs / 1_000} s per contender and failure, each after a healthy warm-up second; calls of every round pooled`,
    tables: FAILURES.map((f) => ({
      columns: [`one replica ${f.label}`, 'success %', 'extra load (server calls ÷ calls)'],
      rows: NAMES.map((n) => [GRPC_LABELS[n], find(n, f.key).successPercent, find(n, f.key).extraLoad]),
    })),
    charts: [
      {
        kind: 'bars',
        title: 'gRPC, one of four replicas failing: calls that succeeded',
        unit: '%',
        groups: FAILURES.map((f) => `one ${f.label}`),
        series: NAMES.map((n) => ({
          name: GRPC_LABELS[n],
          values: FAILURES.map((f) => find(n, f.key).successPercent),
        })),
      },
      {
        kind: 'bars',
        title: 'gRPC, one of four replicas failing: extra load (calls at the servers ÷ calls)',
        unit: '× calls',
        groups: FAILURES.map((f) => `one ${f.label}`),
        series: NAMES.map((n) => ({
          name: GRPC_LABELS[n],
          values: FAILURES.map((f) => find(n, f.key).extraLoad),
        })),
      },
    ],
    headline: {
      weftSuccessPercentUnavailable: find('weft', 'unavailable').successPercent,
      weftExtraLoadUnavailable: find('weft', 'unavailable').extraLoad,
      retryPolicySuccessPercentUnavailable: find('grpc-js-retry', 'unavailable').successPercent,
      retryPolicyExtraLoadUnavailable: find('grpc-js-retry', 'unavailable').extraLoad,
      roundRobinSuccessPercentUnavailable: find('grpc-js-round-robin', 'unavailable').successPercent,
      weftSuccessPercentRefused: find('weft', 'refused').successPercent,
    },
    details: { options: { ...options, rounds }, rows, runs },
  };
}
