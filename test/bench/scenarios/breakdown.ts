/**
 * breakdown: where weft's per-request CPU goes. Raw undici variants (plain, with weft's
 * cancellation token as signal, with the deadline header) and weft clients with layers removed
 * (bare balancer + transport, no deadline, no header, full default stack, and the default stack
 * with metrics and tracing), all against one
 * loopback backend process, interleaved over many short rounds; reports the median client CPU
 * per request of each and its difference from raw undici.
 */
import { Registry } from 'prom-client';
import { Pool } from 'undici';
import type { HttpClient, HttpClientOptions } from '../../../src/index.js';
import { weft, weftOpenTelemetry, weftPrometheus } from '../weft.js';

const { createHttpClient } = weft;
const { openTelemetryTracing } = weftOpenTelemetry;
const { prometheusMetrics } = weftPrometheus;

import { startBackendProcess } from '../backends.js';
import type { ScenarioResult } from '../result.js';
import { median, round } from '../stats.js';

export interface BreakdownOptions {
  requests: number;
  concurrency: number;
  rounds: number;
}

async function cpuPerRequest(
  send: () => Promise<void>,
  requests: number,
  concurrency: number,
): Promise<number> {
  let started = 0;
  const cpu0 = process.cpuUsage();
  const worker = async () => {
    while (started < requests) {
      started++;
      await send();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / requests;
}

export async function breakdown(options: BreakdownOptions): Promise<ScenarioResult> {
  const backend = await startBackendProcess({});
  const pool = new Pool(`http://${backend.address}`, { connections: options.concurrency });
  const client = (extra: Partial<HttpClientOptions>): HttpClient =>
    createHttpClient({ endpoints: [backend.address], connections: options.concurrency, ...extra });
  const clients: Record<string, HttpClient> = {
    'weft bare (balancer + transport)': client({
      timeoutMs: Number.POSITIVE_INFINITY,
      retry: false,
      failureAccrual: false,
      stack: (s) => s.remove('deadline').remove('attempt'),
      endpointStack: (s) => s.remove('deadline-header'),
    }),
    'weft without deadline': client({ timeoutMs: Number.POSITIVE_INFINITY }),
    'weft without header': client({ propagateDeadline: false }),
    'weft without retry': client({ retry: false }),
    'weft without failure accrual': client({ failureAccrual: false }),
    'weft without retry, accrual': client({ retry: false, failureAccrual: false }),
    'weft default': client({}),
    'weft default + metrics': client({ telemetry: [prometheusMetrics({ registry: new Registry() })] }),
    'weft default + tracing (no SDK)': client({ telemetry: [openTelemetryTracing()] }),
    'weft default + metrics + tracing': client({
      telemetry: [prometheusMetrics({ registry: new Registry() }), openTelemetryTracing()],
    }),
  };
  const variants: Record<string, () => Promise<void>> = {
    'raw undici': async () => {
      const r = await pool.request({ path: '/', method: 'GET' });
      await r.body.text();
    },
    'raw + deadline header': async () => {
      const r = await pool.request({ path: '/', method: 'GET', headers: { 'weft-timeout-ms': '15000' } });
      await r.body.text();
    },
  };
  for (const [name, c] of Object.entries(clients)) {
    variants[name] = async () => {
      const r = await c.request({ path: '/' });
      await r.body.text();
    };
  }
  try {
    const samples: Record<string, number[]> = {};
    for (const [name, send] of Object.entries(variants)) {
      await cpuPerRequest(send, Math.min(2_000, options.requests), options.concurrency);
      samples[name] = [];
    }
    for (let r = 0; r < options.rounds; r++) {
      const names = Object.keys(variants);
      if (r % 2 === 1) names.reverse();
      for (const name of names)
        samples[name]!.push(await cpuPerRequest(variants[name]!, options.requests, options.concurrency));
    }
    const raw = median(samples['raw undici']!);
    const measured = Object.entries(samples).map(([name, values]) => ({
      name,
      cpuUsPerRequest: round(median(values), 2),
      deltaUs: round(median(values) - raw, 2),
    }));
    return {
      scenario: 'breakdown',
      summary: `${options.rounds} rounds of ${options.requests} GETs per variant, ${options.concurrency} in flight`,
      tables: [
        {
          columns: ['variant', 'µs CPU/call', 'Δ vs raw undici'],
          rows: measured.map((v) => [v.name, v.cpuUsPerRequest, `${v.deltaUs >= 0 ? '+' : ''}${v.deltaUs}`]),
        },
      ],
      charts: [],
      headline: Object.fromEntries(measured.map((v) => [v.name, v.deltaUs])),
      details: { options, variants: measured },
    };
  } finally {
    await Promise.all(Object.values(clients).map((c) => c.close()));
    await pool.close();
    await backend.stop();
  }
}
