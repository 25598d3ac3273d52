/**
 * The method of the failing-replica scenarios, whatever the protocol (./failing-replica.ts for
 * HTTP, ./grpc-failing-replica.ts for gRPC): four replicas; for each round, each way of failing and
 * each contender (order reversed on odd rounds), a fresh contender runs a warm-up against four
 * healthy replicas, then one replica fails and the measured open-loop window begins. The runs of
 * every round are pooled per contender and failure into a success rate and an extra load (requests
 * the replicas saw ÷ calls made), shown as one table per failure and two bar charts. The scenario
 * supplies what differs: its contenders, its replica kind, its failures and its labels.
 */
import type { BackendProtocol, Behaviour } from '../backends.js';
import { openLoop } from '../load.js';
import type { BarChart, ResultTable } from '../result.js';
import { round } from '../stats.js';
import { type ClosableContender, pause, percent, withReplicas } from './common.js';

/** One way the failing replica fails. */
export interface ReplicaFailure {
  /** The failure's key in rows and runs (`503`, `refused`). */
  readonly key: string;
  /** How the tables and charts say it, after "one replica" (`answers 503`). */
  readonly label: string;
  readonly behaviour: Behaviour;
}

/** The failure both protocols' scenarios meet: the replica stops listening, so connecting is refused. */
export const REFUSING_CONNECTIONS: ReplicaFailure = {
  key: 'refused',
  label: 'refuses connections',
  behaviour: { mode: 'refuse' },
};

/** How long and how hard a failing-replica scenario runs. */
export interface FailingReplicaOptions {
  /** Rounds; each runs every contender (order reversed on odd rounds). Default 1. */
  rounds?: number;
  /** Warm-up before measuring, ms (default 1000). */
  warmUpMs?: number;
  rate: number;
  durationMs: number;
}

const DEFAULT_ROUNDS = 1;
const DEFAULT_WARM_UP_MS = 1_000;

/** The options with the default number of rounds filled in, as the summary and the details report them. */
export function withDefaultRounds(
  options: FailingReplicaOptions,
): FailingReplicaOptions & { rounds: number } {
  return { ...options, rounds: options.rounds ?? DEFAULT_ROUNDS };
}

/** What a protocol's failing-replica scenario measures with. */
export interface FailingReplicaContenders<Name extends string> {
  /** The contenders, in the order of the tables. */
  readonly names: readonly Name[];
  readonly failures: readonly ReplicaFailure[];
  /** The replicas' kind. */
  readonly protocol: BackendProtocol;
  /** A fresh contender over `addresses`. */
  readonly makeContender: (name: Name, addresses: readonly string[]) => ClosableContender;
}

/** One contender against one failure in one round. */
export interface FailingReplicaRun<Name extends string> {
  readonly name: Name;
  readonly failure: string;
  readonly calls: number;
  readonly ok: number;
  readonly seen: number;
}

/** A contender's runs against one failure, every round pooled. */
export interface FailingReplicaRow<Name extends string> {
  readonly name: Name;
  readonly failure: string;
  readonly calls: number;
  readonly successPercent: number;
  /** Requests the replicas saw ÷ calls made, to 0.001. */
  readonly extraLoad: number;
}

/** Run every round, failure and contender against four replicas, the first of which fails. */
export async function runFailingReplica<Name extends string>(
  options: FailingReplicaOptions,
  setup: FailingReplicaContenders<Name>,
): Promise<Array<FailingReplicaRun<Name>>> {
  const rounds = options.rounds ?? DEFAULT_ROUNDS;
  const warmUpMs = options.warmUpMs ?? DEFAULT_WARM_UP_MS;
  const runs: Array<FailingReplicaRun<Name>> = [];
  await withReplicas(
    [{}, {}, {}, {}],
    async (replicas) => {
      for (let r = 0; r < rounds; r++) {
        for (const failure of setup.failures) {
          for (const name of r % 2 === 0 ? setup.names : [...setup.names].reverse()) {
            const c = setup.makeContender(name, replicas.addresses);
            try {
              await openLoop(c.send, { rate: options.rate, durationMs: warmUpMs });
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
    setup.protocol,
  );
  return runs;
}

/** Every round's calls pooled, per contender and failure (failures first, then contenders). */
export function poolFailingReplicaRuns<Name extends string>(
  runs: ReadonlyArray<FailingReplicaRun<Name>>,
  names: readonly Name[],
  failures: readonly ReplicaFailure[],
): Array<FailingReplicaRow<Name>> {
  return failures.flatMap((f) =>
    names.map((name) => {
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
}

/** How a failing-replica scenario words its tables and charts. */
export interface FailingReplicaLabels<Name extends string> {
  /** Each contender's display name. */
  readonly contenders: Readonly<Record<Name, string>>;
  /** The last column of each table (`extra load (server requests ÷ calls)`). */
  readonly extraLoadColumn: string;
  readonly successChartTitle: string;
  readonly extraLoadChartTitle: string;
}

/** One table per failure (success %, extra load per contender) and two bar charts, grouped by failure. */
export function presentFailingReplica<Name extends string>(
  rows: ReadonlyArray<FailingReplicaRow<Name>>,
  names: readonly Name[],
  failures: readonly ReplicaFailure[],
  labels: FailingReplicaLabels<Name>,
): { tables: ResultTable[]; charts: BarChart[] } {
  const find = (name: Name, failure: string) => rows.find((r) => r.name === name && r.failure === failure)!;
  const groups = failures.map((f) => `one ${f.label}`);
  const bars = (title: string, unit: string, figure: (row: FailingReplicaRow<Name>) => number): BarChart => ({
    kind: 'bars',
    title,
    unit,
    groups,
    series: names.map((n) => ({
      name: labels.contenders[n],
      values: failures.map((f) => figure(find(n, f.key))),
    })),
  });
  return {
    tables: failures.map((f) => ({
      columns: [`one replica ${f.label}`, 'success %', labels.extraLoadColumn],
      rows: names.map((n) => [labels.contenders[n], find(n, f.key).successPercent, find(n, f.key).extraLoad]),
    })),
    // Bars, not a scatter of extra load against success: several contenders land on the same point.
    charts: [
      bars(labels.successChartTitle, '%', (row) => row.successPercent),
      bars(labels.extraLoadChartTitle, '× calls', (row) => row.extraLoad),
    ],
  };
}
