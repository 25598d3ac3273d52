/**
 * The method of the slow-replica scenarios, whatever the protocol (./slow-replica.ts for HTTP,
 * ./grpc-slow-replica.ts for gRPC): four replicas; every contender runs against the four healthy,
 * then against the same four with one answering `slowMs` late. A fresh contender per condition
 * gets a warm-up first (what it learns then, it keeps); the measured open-loop runs are interleaved
 * round by round, and the percentiles pool every round's calls. Shown as one table (healthy and
 * slow p50, p99, p99.9, failed calls) and one bar chart of the slow condition. The scenario supplies
 * what differs: its contenders, its replica kind and its labels.
 */
import type { BackendProtocol } from '../backends.js';
import { openLoop } from '../load.js';
import type { BarChart, ResultTable } from '../result.js';
import { type ClosableContender, type LatencySummary, pause, summarize, withReplicas } from './common.js';
import { measureRecovery, type RecoveryResult } from './slow-replica-recovery.js';

/** How long and how hard a slow-replica scenario runs. */
export interface SlowReplicaOptions {
  /** Warm-up before measuring, ms (default 1000). */
  warmUpMs?: number;
  rate: number;
  durationMs: number;
  rounds: number;
  /** Added latency of the slow replica, ms (default 50). */
  slowMs?: number;
  /** Measure how long weft takes to notice that the slow replica healed (see ./slow-replica-recovery.ts). */
  recovery?: boolean;
}

const DEFAULT_WARM_UP_MS = 1_000;
const DEFAULT_SLOW_MS = 50;

/** The options with the slow replica's default latency filled in, as the summary and the details report them. */
export function withDefaultSlowMs(options: SlowReplicaOptions): SlowReplicaOptions & { slowMs: number } {
  return { ...options, slowMs: options.slowMs ?? DEFAULT_SLOW_MS };
}

/** What a protocol's slow-replica scenario measures with. */
export interface SlowReplicaContenders<Name extends string> {
  /** The contenders, in the order of the table. */
  readonly names: readonly Name[];
  /** Each contender's display name. */
  readonly labels: Readonly<Record<Name, string>>;
  /** The replicas' kind. */
  readonly protocol: BackendProtocol;
  /** A fresh contender over `addresses`. */
  readonly makeContender: (name: Name, addresses: readonly string[]) => ClosableContender;
}

/** A contender's latencies with four healthy replicas and with one slow, and its failed calls in both. */
export interface SlowReplicaRow<Name extends string> {
  readonly name: Name;
  readonly label: string;
  readonly healthy: LatencySummary;
  readonly slow: LatencySummary;
  readonly failed: number;
}

/** A run of the method: every contender's row, and the recovery of the contender that measured it. */
export interface SlowReplicaRun<Name extends string> {
  readonly rows: Array<SlowReplicaRow<Name>>;
  readonly recovery: RecoveryResult | undefined;
}

type Measured = Record<string, { summary: LatencySummary; failed: number }>;

/** Fresh contenders, warmed up, then measured in interleaved rounds; closed however it ends. */
async function measure<Name extends string>(
  addresses: readonly string[],
  options: SlowReplicaOptions,
  setup: SlowReplicaContenders<Name>,
): Promise<Measured> {
  const contenders = setup.names.map((name) => ({ name, ...setup.makeContender(name, addresses) }));
  try {
    for (const c of contenders)
      await openLoop(c.send, { rate: options.rate, durationMs: options.warmUpMs ?? DEFAULT_WARM_UP_MS });
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

/**
 * Measure every contender with four healthy replicas, then with the first one `slowMs` late; with
 * `options.recovery`, then how long the first contender takes to notice that the replica healed.
 */
export async function runSlowReplica<Name extends string>(
  options: SlowReplicaOptions,
  setup: SlowReplicaContenders<Name>,
): Promise<SlowReplicaRun<Name>> {
  return withReplicas(
    [{}, {}, {}, {}],
    async (replicas) => {
      const healthy = await measure(replicas.addresses, options, setup);
      const slowMs = withDefaultSlowMs(options).slowMs;
      await replicas.all[0]!.configure({ latencyMs: slowMs });
      const slow = await measure(replicas.addresses, options, setup);
      const rows = setup.names.map((n) => ({
        name: n,
        label: setup.labels[n],
        healthy: healthy[n]!.summary,
        slow: slow[n]!.summary,
        failed: healthy[n]!.failed + slow[n]!.failed,
      }));
      const first = setup.names[0]!;
      const recovery =
        options.recovery === true
          ? await measureRecovery(replicas, () => setup.makeContender(first, replicas.addresses), {
              rate: options.rate,
              slowMs,
            })
          : undefined;
      return { rows, recovery };
    },
    setup.protocol,
  );
}

/** One row per contender: healthy and one-slow p50, p99, p99.9, and failed calls. */
export function slowReplicaTable<Name extends string>(
  rows: ReadonlyArray<SlowReplicaRow<Name>>,
): ResultTable {
  return {
    columns: [
      'contender',
      'healthy p50',
      'healthy p99',
      'healthy p99.9',
      'one slow p50',
      'one slow p99',
      'one slow p99.9',
      'calls per condition',
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
      Math.min(x.healthy.samples, x.slow.samples),
      x.failed,
    ]),
  };
}

/** p50, p99 and p99.9 with one replica slow, one bar per contender, on a log axis. */
export function slowReplicaChart<Name extends string>(
  title: string,
  rows: ReadonlyArray<SlowReplicaRow<Name>>,
): BarChart {
  return {
    kind: 'bars',
    title,
    unit: 'ms',
    log: true,
    groups: ['p50', 'p99', 'p99.9'],
    series: rows.map((x) => ({ name: x.label, values: [x.slow.p50, x.slow.p99, x.slow.p999] })),
  };
}
