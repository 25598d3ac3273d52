/**
 * overhead: closed-loop throughput and client CPU per call of every contender against one
 * loopback backend process, with weft twice: as it comes, and with Prometheus metrics and
 * OpenTelemetry tracing on (no SDK registered: the API's no-op tracer). Same connection count
 * for all. Every client runs alone in a process of its own (../workers/overhead-worker.ts), as
 * in a service, which uses one HTTP client: two clients in one process would share undici's call
 * sites and slow each other down. Each contender is paired with a raw undici Pool in another
 * process, both kept warm; in each round the two run back to back, in alternating order, so
 * drifts in machine load hit both alike. Each process first warms up to a steady state, for a
 * number of calls and a least time (`warmUpMs`): measured from the first call, CPU per call kept
 * falling for about 1.5 s, for weft longer than for raw Pool, and a warm-up counted in calls
 * alone (20 000, under a second) left weft measured while V8 was still optimizing it. A process's
 * figures also shift as a whole (its own JIT decisions, its place on the cores), so the rounds
 * are spread over two fresh pairs. Figures are the median over rounds of the contender's ratio
 * to raw Pool in the same round (the machines are shared and noisy), with the interquartile
 * range to show how noisy it was. Raw Pool's own figures are the median over every round.
 */
import { LABELS } from '../contenders.js';
import type { ScenarioResult } from '../result.js';
import type { OverheadWorkerArgs } from '../workers/overhead-worker.js';
import {
  controlKey,
  failedCalls,
  measureOverhead,
  type OverheadRunOptions,
  overheadChart,
  overheadRows,
  overheadTable,
  processPairsFor,
} from './overhead-method.js';

export interface OverheadOptions extends OverheadRunOptions {
  /**
   * Which entries to measure (default: all). The headline needs the control (`undici-pool`),
   * `weft` and `weft-telemetry`, so those must be among them. The harness's test measures only
   * those three: each entry costs two process starts, about 1–2 s on a loaded machine.
   */
  entries?: readonly OverheadEntry[];
}

type Entry = OverheadWorkerArgs['contender'];
export type OverheadEntry = Entry;
/**
 * `undici-pool` among the entries is the control: raw Pool paired with raw Pool. Its ratio should
 * be 1; how far it lands from 1 in a run is that run's own error (noise, or a bias of the setup).
 */
const ENTRIES: readonly Entry[] = [
  'undici-pool',
  'weft',
  'weft-telemetry',
  'undici-round-robin-pool',
  'undici-balanced-pool',
  'undici-retry-agent',
  'cockatiel',
  'undici-fetch',
];
const RAW = 'undici-pool';
const CONTROL = controlKey(RAW);
const ENTRY_LABELS: Record<Entry, string> = { ...LABELS, 'weft-telemetry': 'weft + metrics + tracing' };
const worker = new URL('../workers/overhead-worker.ts', import.meta.url);
/**
 * The observability issue's cost point: with metrics and tracing on (no SDK), weft keeps at least
 * this share of raw undici Pool's closed-loop throughput. Below it, `npm run bench` fails.
 */
const TELEMETRY_FLOOR = 0.9;

/** The entries the headline is made of: the control, weft, and weft with metrics and tracing. */
const HEADLINE_ENTRIES: readonly Entry[] = ['undici-pool', 'weft', 'weft-telemetry'];

export async function overhead(options: OverheadOptions): Promise<ScenarioResult> {
  const entries = options.entries ?? ENTRIES;
  const lacking = HEADLINE_ENTRIES.filter((e) => !entries.includes(e));
  if (lacking.length > 0)
    throw new Error(`overhead: entries must include ${lacking.join(', ')} (the headline's)`);
  const measured = await measureOverhead(options, {
    worker,
    protocol: 'http',
    raw: RAW,
    entries,
  });
  const rows = overheadRows(measured, RAW, ENTRY_LABELS);
  const of = (key: string) => rows.find((x) => x.key === key)!;
  return {
    scenario: 'overhead',
    summary: `${options.rounds} rounds of ${options.requests} closed-loop GETs per contender and raw undici Pool, ${options.concurrency} in flight, one backend process; every client alone in a process of its own, warmed up for at least ${options.warmUpMs / 1_000} s, each contender paired with raw Pool in ${processPairsFor(options.rounds)} fresh pairs of processes`,
    tables: [
      overheadTable(rows, RAW, [
        'contender',
        'req/s',
        'µs CPU/call',
        'throughput ÷ undici Pool',
        'IQR',
        'CPU ratio',
      ]),
    ],
    charts: [
      overheadChart(rows, {
        title: 'Closed-loop throughput and CPU efficiency relative to raw undici Pool (median of rounds)',
        unit: '× undici Pool',
        cpuEfficiency: 'CPU efficiency (Pool CPU ÷ own CPU)',
      }),
    ],
    headline: {
      weftThroughputRatio: of('weft').throughputRatio,
      weftTelemetryThroughputRatio: of('weft-telemetry').throughputRatio,
      controlThroughputRatio: of(CONTROL).throughputRatio,
      weftCpuRatio: of('weft').cpuRatio,
      weftTelemetryCpuRatio: of('weft-telemetry').cpuRatio,
      failedCalls: failedCalls(measured),
    },
    floors: [
      {
        name: 'weftTelemetryThroughputRatio',
        floor: TELEMETRY_FLOOR,
        meaning: 'weft with metrics and tracing (no SDK), throughput ÷ raw undici Pool',
      },
    ],
    details: { options, rows },
  };
}
