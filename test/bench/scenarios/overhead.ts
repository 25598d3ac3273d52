/**
 * overhead: closed-loop throughput and client CPU per call of every contender against one
 * loopback backend process, with weft twice: as it comes, and with Prometheus metrics and
 * OpenTelemetry tracing on (no SDK registered: the API's no-op tracer). Same connection count
 * for all. Each contender runs in a process of its own beside raw undici Pool
 * (../workers/overhead-worker.ts): a service uses one client, and contenders sharing a process
 * would share undici's call sites and slow each other down. In each round the worker runs raw
 * Pool and the contender back to back, in alternating order, so drifts in machine load hit both
 * alike. Figures are the median over rounds of the contender's ratio to raw Pool in the same
 * round (the machines are shared and noisy), with the interquartile range to show how noisy it
 * was. Raw Pool's own figures are the median over every worker's rounds.
 */
import { type ContenderName, LABELS } from '../contenders.js';
import type { ScenarioResult } from '../result.js';
import { median, percentile, round } from '../stats.js';
import type { OverheadRound, OverheadWorkerArgs } from '../workers/overhead-worker.js';
import { runWorker, withReplicas } from './common.js';

export interface OverheadOptions {
  /** Calls per contender per round. */
  requests: number;
  /** Calls in flight at once, and connections per contender. */
  concurrency: number;
  rounds: number;
}

type Entry = OverheadWorkerArgs['contender'];
const ENTRIES: readonly Entry[] = [
  'weft',
  'weft-telemetry',
  'undici-round-robin-pool',
  'undici-balanced-pool',
  'undici-retry-agent',
  'cockatiel',
  'undici-fetch',
];
const label = (e: Entry | 'undici-pool') =>
  e === 'weft-telemetry' ? 'weft + metrics + tracing' : LABELS[e as ContenderName];
const worker = new URL('../workers/overhead-worker.ts', import.meta.url);

export async function overhead(options: OverheadOptions): Promise<ScenarioResult> {
  return withReplicas([{}], async (replicas) => {
    const measured: Array<{ entry: Entry; rounds: OverheadRound[] }> = [];
    for (const entry of ENTRIES) {
      const rounds = await runWorker<OverheadRound[]>(worker, {
        contender: entry,
        address: replicas.addresses[0]!,
        requests: options.requests,
        concurrency: options.concurrency,
        rounds: options.rounds,
      });
      measured.push({ entry, rounds });
    }
    const all = measured.flatMap((m) => m.rounds);
    const rawRow = {
      key: 'undici-pool',
      label: label('undici-pool'),
      rps: round(median(all.map((r) => r.rawRps)), 0),
      cpuUsPerCall: round(median(all.map((r) => r.rawCpu)), 1),
      throughputRatio: 1,
      ratioP25: 1,
      ratioP75: 1,
      cpuRatio: 1,
      perRoundRatios: [] as number[],
    };
    const rows = [
      rawRow,
      ...measured.map(({ entry, rounds }) => {
        const ratios = rounds.map((r) => r.rps / r.rawRps);
        return {
          key: entry,
          label: label(entry),
          rps: round(median(rounds.map((r) => r.rps)), 0),
          cpuUsPerCall: round(median(rounds.map((r) => r.cpu)), 1),
          throughputRatio: round(median(ratios)),
          ratioP25: round(percentile(ratios, 25)),
          ratioP75: round(percentile(ratios, 75)),
          cpuRatio: round(median(rounds.map((r) => r.rawCpu / r.cpu))),
          perRoundRatios: ratios.map((x) => round(x)),
        };
      }),
    ];
    const of = (key: string) => rows.find((x) => x.key === key)!;
    return {
      scenario: 'overhead',
      summary: `${options.rounds} rounds of ${options.requests} closed-loop GETs per contender and raw undici Pool, ${options.concurrency} in flight, one backend process; each contender in a process of its own`,
      tables: [
        {
          columns: ['contender', 'req/s', 'µs CPU/call', 'throughput ÷ undici Pool', 'IQR', 'CPU ratio'],
          rows: rows.map((x) => [
            x.label,
            x.rps,
            x.cpuUsPerCall,
            x.throughputRatio,
            x.key === 'undici-pool' ? '' : `${x.ratioP25}–${x.ratioP75}`,
            x.cpuRatio,
          ]),
        },
      ],
      charts: [
        {
          kind: 'bars',
          title: 'Closed-loop throughput and CPU efficiency relative to raw undici Pool (median of rounds)',
          unit: '× undici Pool',
          groups: ['throughput', 'CPU efficiency (Pool CPU ÷ own CPU)'],
          series: rows.map((x) => ({ name: x.label, values: [x.throughputRatio, x.cpuRatio] })),
        },
      ],
      headline: {
        weftThroughputRatio: of('weft').throughputRatio,
        weftTelemetryThroughputRatio: of('weft-telemetry').throughputRatio,
        weftCpuRatio: of('weft').cpuRatio,
        weftTelemetryCpuRatio: of('weft-telemetry').cpuRatio,
        failedCalls: all.reduce((sum, r) => sum + r.failed, 0),
      },
      details: { options, rows },
    };
  });
}
