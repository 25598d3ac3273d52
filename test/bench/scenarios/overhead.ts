/**
 * overhead: closed-loop throughput and client CPU per call of every contender against one
 * loopback backend process, with weft twice: as it comes, and with Prometheus metrics and
 * OpenTelemetry tracing on (no SDK registered: the API's no-op tracer). Same connection count
 * for all. The run is many short rounds; each round runs every contender once, in an order that
 * rotates from round to round, so drifts in machine load hit all of them alike. Figures are the
 * median over rounds of each contender's ratio to raw undici Pool in the same round (the
 * machines are shared and noisy), with the interquartile range to show how noisy the run was.
 */
import { Registry } from 'prom-client';
import { createHttpClient } from '../../../src/index.js';
import { openTelemetryTracing } from '../../../src/opentelemetry.js';
import { prometheusMetrics } from '../../../src/prometheus.js';
import { type ContenderName, DEFAULT_SETTINGS, LABELS, makeContender } from '../contenders.js';
import { closedLoop, type Send } from '../load.js';
import type { ScenarioResult } from '../result.js';
import { median, percentile, round } from '../stats.js';
import { withReplicas } from './common.js';

export interface OverheadOptions {
  /** Calls per contender per round. */
  requests: number;
  /** Calls in flight at once, and connections per contender. */
  concurrency: number;
  rounds: number;
}

const NAMES: readonly ContenderName[] = [
  'undici-pool',
  'weft',
  'undici-round-robin-pool',
  'undici-balanced-pool',
  'undici-retry-agent',
  'cockatiel',
  'undici-fetch',
];
const TELEMETRY = 'weft-telemetry';
const TELEMETRY_LABEL = 'weft + metrics + tracing';

interface Entry {
  readonly key: string;
  readonly label: string;
  readonly send: Send;
  close(): Promise<void>;
}

export async function overhead(options: OverheadOptions): Promise<ScenarioResult> {
  const settings = { ...DEFAULT_SETTINGS, connections: options.concurrency };
  return withReplicas([{}], async (replicas) => {
    const entries: Entry[] = [];
    try {
      for (const name of NAMES) {
        const c = makeContender(name, replicas.addresses, settings);
        entries.push({ key: name, label: c.label, send: c.send, close: () => c.close() });
      }
      // weft with telemetry: a contender of its own, in the same rounds.
      const observed = createHttpClient({
        endpoints: replicas.addresses,
        connections: settings.connections,
        timeoutMs: settings.totalTimeoutMs,
        attemptTimeoutMs: settings.attemptTimeoutMs,
        telemetry: [prometheusMetrics({ registry: new Registry() }), openTelemetryTracing()],
      });
      entries.push({
        key: TELEMETRY,
        label: TELEMETRY_LABEL,
        send: async () => {
          const res = await observed.request({ path: '/' });
          await res.body.text();
          return res.statusCode;
        },
        close: () => observed.close(),
      });

      const warm = Math.min(2_000, options.requests);
      for (const e of entries) await closedLoop(e.send, warm, options.concurrency);
      const rps: Record<string, number[]> = {};
      const cpu: Record<string, number[]> = {};
      const ratio: Record<string, number[]> = {};
      let failed = 0;
      for (const e of entries) {
        rps[e.key] = [];
        cpu[e.key] = [];
        ratio[e.key] = [];
      }
      for (let r = 0; r < options.rounds; r++) {
        const shift = r % entries.length;
        const order = [...entries.slice(shift), ...entries.slice(0, shift)];
        const round: Record<string, { rps: number; cpu: number }> = {};
        for (const e of order) {
          const result = await closedLoop(e.send, options.requests, options.concurrency);
          failed += result.failed;
          round[e.key] = { rps: result.rps, cpu: result.cpuUsPerCall };
        }
        const raw = round['undici-pool']!;
        for (const e of entries) {
          rps[e.key]!.push(round[e.key]!.rps);
          cpu[e.key]!.push(round[e.key]!.cpu);
          ratio[e.key]!.push(round[e.key]!.rps / raw.rps);
        }
      }

      const rows = entries.map((e) => {
        const ratios = ratio[e.key]!;
        return {
          key: e.key,
          label: e.label,
          rps: round(median(rps[e.key]!), 0),
          cpuUsPerCall: round(median(cpu[e.key]!), 1),
          throughputRatio: round(median(ratios)),
          ratioP25: round(percentile(ratios, 25)),
          ratioP75: round(percentile(ratios, 75)),
          cpuRatio: round(median(cpu['undici-pool']!) / median(cpu[e.key]!)),
          perRoundRatios: ratios.map((x) => round(x)),
        };
      });
      const of = (key: string) => rows.find((x) => x.key === key)!;
      return {
        scenario: 'overhead',
        summary: `${options.rounds} rounds of ${options.requests} closed-loop GETs per contender, ${options.concurrency} in flight, one backend process`,
        tables: [
          {
            columns: ['contender', 'req/s', 'µs CPU/call', 'throughput ÷ undici Pool', 'IQR', 'CPU ratio'],
            rows: rows.map((x) => [
              x.label,
              x.rps,
              x.cpuUsPerCall,
              x.throughputRatio,
              `${x.ratioP25}–${x.ratioP75}`,
              x.cpuRatio,
            ]),
          },
        ],
        charts: [
          {
            kind: 'bars',
            title: 'Closed-loop throughput relative to raw undici Pool (median of rounds)',
            unit: '× undici Pool',
            groups: ['throughput', 'CPU efficiency (Pool CPU ÷ own CPU)'],
            series: rows.map((x) => ({ name: x.label, values: [x.throughputRatio, x.cpuRatio] })),
          },
        ],
        headline: {
          weftThroughputRatio: of('weft').throughputRatio,
          weftTelemetryThroughputRatio: of(TELEMETRY).throughputRatio,
          weftCpuRatio: of('weft').cpuRatio,
          weftTelemetryCpuRatio: of(TELEMETRY).cpuRatio,
          failedCalls: failed,
        },
        details: { options, rows, labels: LABELS },
      };
    } finally {
      await Promise.all(entries.map((e) => e.close()));
    }
  });
}
