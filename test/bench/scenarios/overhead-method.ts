/**
 * The method of the closed-loop overhead scenarios, whatever the protocol (./overhead.ts for HTTP,
 * ./grpc-overhead.ts for gRPC): one replica; each entry's client, alone in a worker process of its
 * own, is paired with the raw client in another (./paired-rounds.ts), its rounds spread over
 * several fresh pairs of processes. The raw client as an entry is the control: raw paired with raw,
 * whose ratio should be 1. Shown as one row per client, the raw one first with the medians of its
 * own figures, in one table and one bar chart of throughput and CPU efficiency relative to raw. The
 * scenario supplies what differs: its worker, its entries, its replica kind and its labels.
 */
import type { BackendProtocol } from '../backends.js';
import type { BarChart, ResultTable } from '../result.js';
import { median, round } from '../stats.js';
import type { OverheadMessage, OverheadReply, OverheadRoundsArgs } from '../workers/overhead-rounds.js';
import { startWorker, withReplicas } from './common.js';
import {
  type PairedRound,
  type PairedSummary,
  roundsOfPair,
  runPairedRounds,
  summarizePaired,
} from './paired-rounds.js';

/** How long and how hard an overhead scenario runs. */
export interface OverheadRunOptions {
  /** Calls per client per round. */
  requests: number;
  /** Calls in flight at once (HTTP: and connections per contender; gRPC: all on one channel). */
  concurrency: number;
  rounds: number;
  /** Least time each process warms up before its first round, in ms (besides 20 000 calls). */
  warmUpMs: number;
}

/** What a protocol's overhead scenario measures with. */
export interface OverheadContenders<Entry extends string> {
  /** The worker script (../workers/*-overhead-worker.ts); it takes `{ contender: Entry, ...OverheadRoundsArgs }`. */
  readonly worker: URL;
  /** The replica's kind. */
  readonly protocol: BackendProtocol;
  /** The raw client every entry is paired with. */
  readonly raw: Entry;
  /** The clients measured, in the order of the table; `raw` among them is the control. */
  readonly entries: readonly Entry[];
}

/** An entry's rounds, each beside the raw client's in the same round. */
export interface MeasuredEntry<Entry extends string> {
  readonly entry: Entry;
  readonly rounds: readonly PairedRound[];
}

/** Fresh pairs of processes (contender, raw client) each entry's rounds are spread over. */
const PROCESS_PAIRS = 2;

/** The fresh pairs of processes each entry's `rounds` are spread over: {@link PROCESS_PAIRS}, at most one per round. */
export function processPairsFor(rounds: number): number {
  return Math.min(PROCESS_PAIRS, rounds);
}

/** Run every entry's rounds against one replica, each entry paired with the raw client. */
export async function measureOverhead<Entry extends string>(
  options: OverheadRunOptions,
  setup: OverheadContenders<Entry>,
): Promise<Array<MeasuredEntry<Entry>>> {
  return withReplicas(
    [{}],
    async (replicas) => {
      const start = (contender: Entry) => () =>
        startWorker<OverheadMessage, OverheadReply>(setup.worker, {
          contender,
          address: replicas.addresses[0]!,
          requests: options.requests,
          concurrency: options.concurrency,
          warmUpMs: options.warmUpMs,
        } satisfies OverheadRoundsArgs & { contender: Entry });
      const measured: Array<MeasuredEntry<Entry>> = [];
      // Each process has its own JIT decisions and its own place on the cores, which shifts its
      // figures as a whole, so the rounds are spread over several fresh pairs of processes.
      const pairs = processPairsFor(options.rounds);
      for (const entry of setup.entries) {
        const rounds: PairedRound[] = [];
        for (let pair = 0; pair < pairs; pair++) {
          const count = roundsOfPair(options.rounds, pairs, pair);
          rounds.push(...(await runPairedRounds(start(setup.raw), start(entry), count, rounds.length)));
        }
        measured.push({ entry, rounds });
      }
      return measured;
    },
    setup.protocol,
  );
}

/** One client's figures: its key (the raw client's control is `<raw>-control`) and display name. */
export interface OverheadRow extends PairedSummary {
  readonly key: string;
  readonly label: string;
}

/** The key of the control: the raw client measured as an entry. */
export function controlKey(raw: string): string {
  return `${raw}-control`;
}

/**
 * The raw client's row (medians of its own figures over every round, ratios of 1), then one per
 * entry; the control is labelled `<raw's label> again (control)`.
 */
export function overheadRows<Entry extends string>(
  measured: ReadonlyArray<MeasuredEntry<Entry>>,
  raw: Entry,
  labels: Readonly<Record<Entry, string>>,
): OverheadRow[] {
  const all = measured.flatMap((m) => m.rounds);
  const rawRow: OverheadRow = {
    key: raw,
    label: labels[raw],
    rps: round(median(all.map((r) => r.rawRps)), 0),
    cpuUsPerCall: round(median(all.map((r) => r.rawCpu)), 1),
    throughputRatio: 1,
    ratioP25: 1,
    ratioP75: 1,
    cpuRatio: 1,
    perRoundRatios: [],
  };
  return [
    rawRow,
    ...measured.map(({ entry, rounds }) => ({
      key: entry === raw ? controlKey(raw) : entry,
      label: entry === raw ? `${labels[raw]} again (control)` : labels[entry],
      ...summarizePaired(rounds),
    })),
  ];
}

/** Calls that failed in every round, in both processes of each pair. */
export function failedCalls<Entry extends string>(measured: ReadonlyArray<MeasuredEntry<Entry>>): number {
  return measured.flatMap((m) => m.rounds).reduce((sum, r) => sum + r.failed, 0);
}

/**
 * One row per client: its own calls/s and µs CPU/call, its throughput ratio to raw with the
 * interquartile range (none for raw itself), and its CPU ratio. `columns` names the six.
 */
export function overheadTable(
  rows: readonly OverheadRow[],
  raw: string,
  columns: readonly string[],
): ResultTable {
  return {
    columns,
    rows: rows.map((x) => [
      x.label,
      x.rps,
      x.cpuUsPerCall,
      x.throughputRatio,
      x.key === raw ? '' : `${x.ratioP25}–${x.ratioP75}`,
      x.cpuRatio,
    ]),
  };
}

/** How an overhead scenario words its chart. */
export interface OverheadChartLabels {
  readonly title: string;
  /** Of the ratios (`× undici Pool`). */
  readonly unit: string;
  /** The second group of bars (`CPU efficiency (Pool CPU ÷ own CPU)`). */
  readonly cpuEfficiency: string;
}

/** Throughput and CPU efficiency relative to raw, one bar per client. */
export function overheadChart(rows: readonly OverheadRow[], labels: OverheadChartLabels): BarChart {
  return {
    kind: 'bars',
    title: labels.title,
    unit: labels.unit,
    groups: ['throughput', labels.cpuEfficiency],
    series: rows.map((x) => ({ name: x.label, values: [x.throughputRatio, x.cpuRatio] })),
  };
}
