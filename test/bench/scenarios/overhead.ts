/**
 * overhead: closed-loop throughput of N GETs through the full weft stack (deadline, attempt,
 * P2C Peak EWMA balancer, endpoint stack) vs raw undici `Pool.request`, same connection count,
 * same loopback backend (a separate process), same run. The run is many short rounds, each a
 * pair (raw, weft) in alternating order, so drifts in machine load hit both contenders alike; the
 * result is the median of the per-round ratios (the machines are shared and noisy), with the
 * interquartile range to show how noisy this run was.
 */

import { Registry } from 'prom-client';
import { Pool } from 'undici';
import { createHttpClient } from '../../../src/index.js';
import { openTelemetryTracing } from '../../../src/opentelemetry.js';
import { prometheusMetrics } from '../../../src/prometheus.js';
import { startBackendProcess } from '../backends.js';
import { median, percentile, round } from '../stats.js';

export interface OverheadOptions {
  requests: number;
  concurrency: number;
  rounds: number;
  /** Also enable Prometheus metrics (a private registry) and OpenTelemetry tracing (no SDK). */
  telemetry?: boolean;
}

type Send = () => Promise<void>;

async function closedLoop(
  send: Send,
  requests: number,
  concurrency: number,
): Promise<{ rps: number; cpuUsPerReq: number }> {
  let started = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (started < requests) {
      started++;
      await send();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rps: (requests / elapsed) * 1000, cpuUsPerReq: (cpu.user + cpu.system) / requests };
}

export async function overhead(options: OverheadOptions) {
  const backend = await startBackendProcess({ body: 'ok' });
  const pool = new Pool(`http://${backend.address}`, { connections: options.concurrency, pipelining: 1 });
  const client = createHttpClient({
    endpoints: [backend.address],
    connections: options.concurrency,
    telemetry: options.telemetry
      ? [prometheusMetrics({ registry: new Registry() }), openTelemetryTracing()]
      : [],
  });
  const raw: Send = async () => {
    const res = await pool.request({ path: '/', method: 'GET' });
    await res.body.text();
  };
  const weft: Send = async () => {
    const res = await client.request({ path: '/' });
    await res.body.text();
  };
  try {
    const warm = Math.min(2_000, options.requests);
    await closedLoop(raw, warm, options.concurrency);
    await closedLoop(weft, warm, options.concurrency);
    const rounds: { raw: number; weft: number; ratio: number; rawCpu: number; weftCpu: number }[] = [];
    for (let r = 0; r < options.rounds; r++) {
      const order = r % 2 === 0 ? (['raw', 'weft'] as const) : (['weft', 'raw'] as const);
      const result: Record<string, { rps: number; cpuUsPerReq: number }> = {};
      for (const name of order) {
        result[name] = await closedLoop(name === 'raw' ? raw : weft, options.requests, options.concurrency);
      }
      const rawR = result.raw!;
      const weftR = result.weft!;
      rounds.push({
        raw: rawR.rps,
        weft: weftR.rps,
        ratio: weftR.rps / rawR.rps,
        rawCpu: rawR.cpuUsPerReq,
        weftCpu: weftR.cpuUsPerReq,
      });
    }
    return {
      scenario: 'overhead',
      telemetry: options.telemetry === true,
      requests: options.requests,
      concurrency: options.concurrency,
      rounds: options.rounds,
      rawRps: round(median(rounds.map((x) => x.raw)), 0),
      weftRps: round(median(rounds.map((x) => x.weft)), 0),
      throughputRatio: round(median(rounds.map((x) => x.ratio))),
      throughputRatioP25: round(
        percentile(
          rounds.map((x) => x.ratio),
          25,
        ),
      ),
      throughputRatioP75: round(
        percentile(
          rounds.map((x) => x.ratio),
          75,
        ),
      ),
      cpuRatio: round(median(rounds.map((x) => x.rawCpu / x.weftCpu))),
      rawCpuUsPerRequest: round(median(rounds.map((x) => x.rawCpu)), 1),
      weftCpuUsPerRequest: round(median(rounds.map((x) => x.weftCpu)), 1),
      perRoundRatios: rounds.map((x) => round(x.ratio)),
    };
  } finally {
    await client.close();
    await pool.close();
    await backend.stop();
  }
}
