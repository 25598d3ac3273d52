/**
 * server-overhead: what weft's server half costs per request. Four services, each in a process of
 * its own (../workers/service-process.ts): bare Express, Express behind `weftMiddleware`, bare
 * Fastify, Fastify behind `weftPlugin`, all answering `GET /` with `ok` at once. The load comes
 * from autocannon, a load generator we did not write, in one more process
 * (../workers/autocannon-worker.ts), closed loop over a fixed number of keep-alive connections,
 * every request carrying a `weft-timeout-ms` header as a weft client's do. All four stay up and
 * warm; each round runs every framework's two back to back, bare first on even rounds and weft
 * first on odd ones, so drifts in machine load hit both alike. Figures are the median over rounds
 * of weft's ratio to bare in the same round (./paired-rounds.ts), with the interquartile range,
 * and each server's CPU per request, read from the server process itself.
 */
import type { ResultTable, ScenarioResult } from '../result.js';
import { round } from '../stats.js';
import type { AutocannonMessage, AutocannonSample } from '../workers/autocannon-worker.js';
import type { ServiceArgs, ServiceMessage, ServiceReady, ServiceStats } from '../workers/service-process.js';
import { type LiveWorker, startWorker } from './common.js';
import { type PairedRound, summarizePaired } from './paired-rounds.js';

export interface ServerOverheadOptions {
  rounds: number;
  /** Seconds of load per server and round. */
  durationS: number;
  /** autocannon's connections, each with one request in flight. */
  connections: number;
  /** Seconds of load per server before the first round (warm-up, not counted). */
  warmUpS: number;
}

type Framework = ServiceArgs['framework'];
const FRAMEWORKS: readonly Framework[] = ['express', 'fastify'];
const LABELS: Record<Framework, { bare: string; weft: string }> = {
  express: { bare: 'Express (bare)', weft: 'Express + weftMiddleware' },
  fastify: { bare: 'Fastify (bare)', weft: 'Fastify + weftPlugin' },
};
/** The deadline every request carries, as a weft client would send it. */
const DEADLINE_HEADER_VALUE = '3000';
/** weft's server half keeps at least this share of the bare framework's requests/s, or `npm run bench` fails (goal: 0.95). */
const FLOOR = 0.9;

const serviceScript = new URL('../workers/service-process.ts', import.meta.url);
const autocannonScript = new URL('../workers/autocannon-worker.ts', import.meta.url);

type Service = LiveWorker<ServiceMessage, ServiceReady | ServiceStats>;
type Cannon = LiveWorker<AutocannonMessage, AutocannonSample | { ready: true }>;

/** One run of autocannon against `service`: its requests/s and the server's µs of CPU per request. */
async function measure(
  cannon: Cannon,
  service: Service,
  options: ServerOverheadOptions,
  durationS: number,
): Promise<AutocannonSample & { cpuUsPerRequest: number }> {
  const before = (await service.ask({ stats: true })) as ServiceStats;
  const sample = (await cannon.ask({
    url: `http://127.0.0.1:${(service.ready as ServiceReady).port}/`,
    connections: options.connections,
    durationS,
    headers: { 'weft-timeout-ms': DEADLINE_HEADER_VALUE },
  })) as AutocannonSample;
  const after = (await service.ask({ stats: true })) as ServiceStats;
  const requests = after.handled - before.handled;
  return { ...sample, cpuUsPerRequest: requests > 0 ? (after.cpuUs - before.cpuUs) / requests : Number.NaN };
}

export async function serverOverhead(options: ServerOverheadOptions): Promise<ScenarioResult> {
  const starts = [
    startWorker<AutocannonMessage, AutocannonSample | { ready: true }>(autocannonScript, {}),
    ...FRAMEWORKS.flatMap((framework) =>
      (['none', 'weft'] as const).map((protection) =>
        startWorker<ServiceMessage, ServiceReady | ServiceStats>(serviceScript, {
          framework,
          protection,
        } satisfies ServiceArgs),
      ),
    ),
  ];
  const started = await Promise.allSettled(starts);
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const [cannon, ...services] = workers as [Cannon, ...Service[]];
    const pairs = FRAMEWORKS.map((framework, i) => ({
      framework,
      bare: services[2 * i]!,
      weft: services[2 * i + 1]!,
      rounds: [] as PairedRound[],
      latency: [] as Array<{ bareP99: number; weftP99: number }>,
    }));
    for (const pair of pairs) {
      await measure(cannon, pair.bare, options, options.warmUpS);
      await measure(cannon, pair.weft, options, options.warmUpS);
    }
    for (let r = 0; r < options.rounds; r++) {
      for (const pair of pairs) {
        const bareFirst = r % 2 === 0;
        const first = await measure(cannon, bareFirst ? pair.bare : pair.weft, options, options.durationS);
        const second = await measure(cannon, bareFirst ? pair.weft : pair.bare, options, options.durationS);
        const [bare, weft] = bareFirst ? [first, second] : [second, first];
        pair.rounds.push({
          rawRps: bare.rps,
          rawCpu: bare.cpuUsPerRequest,
          rps: weft.rps,
          cpu: weft.cpuUsPerRequest,
          failed: bare.failed + weft.failed,
        });
        pair.latency.push({ bareP99: bare.p99Ms, weftP99: weft.p99Ms });
      }
    }
    const summaries = pairs.map((pair) => {
      const summary = summarizePaired(pair.rounds);
      const bareRps = summarizePaired(pair.rounds.map((x) => ({ ...x, rps: x.rawRps, cpu: x.rawCpu })));
      return {
        framework: pair.framework,
        summary,
        bare: bareRps,
        rounds: pair.rounds,
        latency: pair.latency,
      };
    });
    const table: ResultTable = {
      columns: ['server', 'req/s', 'server µs CPU/req', 'req/s ÷ bare', 'IQR', 'CPU ratio', 'failed'],
      rows: summaries.flatMap((s) => [
        [LABELS[s.framework].bare, s.bare.rps, s.bare.cpuUsPerCall, 1, '', 1, 0],
        [
          LABELS[s.framework].weft,
          s.summary.rps,
          s.summary.cpuUsPerCall,
          s.summary.throughputRatio,
          `${s.summary.ratioP25}–${s.summary.ratioP75}`,
          s.summary.cpuRatio,
          s.rounds.reduce((sum, x) => sum + x.failed, 0),
        ],
      ]),
    };
    const of = (framework: Framework) => summaries.find((s) => s.framework === framework)!.summary;
    return {
      scenario: 'server-overhead',
      summary: `${options.rounds} rounds of ${options.durationS} s of autocannon (${options.connections} connections, one request in flight each) per server, bare and with weft's server half back to back in alternating order, after ${options.warmUpS} s of warm-up each; every server and autocannon in a process of its own; goal ≥ 0.95 of bare, floor ${FLOOR}`,
      tables: [table],
      charts: [
        {
          kind: 'bars',
          title:
            "Requests/s and server CPU efficiency with weft's server half, relative to the bare framework (median of rounds)",
          unit: '× bare',
          groups: ['requests/s', 'CPU efficiency (bare CPU ÷ own CPU)'],
          series: summaries.map((s) => ({
            name: LABELS[s.framework].weft,
            values: [s.summary.throughputRatio, s.summary.cpuRatio],
          })),
        },
      ],
      headline: {
        expressThroughputRatio: of('express').throughputRatio,
        fastifyThroughputRatio: of('fastify').throughputRatio,
        expressCpuRatio: of('express').cpuRatio,
        fastifyCpuRatio: of('fastify').cpuRatio,
        failedRequests: summaries.reduce((sum, s) => sum + s.rounds.reduce((n, x) => n + x.failed, 0), 0),
      },
      floors: FRAMEWORKS.map((framework) => ({
        name: `${framework}ThroughputRatio`,
        floor: FLOOR,
        meaning: `${LABELS[framework].weft}, requests/s ÷ bare ${framework === 'express' ? 'Express' : 'Fastify'}`,
      })),
      details: {
        options,
        frameworks: summaries.map((s) => ({
          framework: s.framework,
          perRoundRatios: s.summary.perRoundRatios,
          rounds: s.rounds.map((x) => ({ ...x, rawCpu: round(x.rawCpu, 2), cpu: round(x.cpu, 2) })),
          p99Ms: s.latency,
        })),
      },
    };
  } finally {
    await Promise.all(workers.map((w) => w.close({ close: true })));
  }
}
