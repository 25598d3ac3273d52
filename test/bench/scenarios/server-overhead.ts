/**
 * server-overhead: what weft's server half costs per request. Four services, each in a process of
 * its own (../workers/service-process.ts): bare Express, Express behind `weftMiddleware`, bare
 * Fastify, Fastify behind `weftPlugin`, all answering `GET /` with `ok` at once. The load comes
 * from Debian's wrk 4 (../wrk.ts), a C load generator we did not write, one thread, closed loop
 * over a fixed number of keep-alive connections, every request carrying a `weft-timeout-ms` header
 * as a weft client's do. Every service and wrk run pinned to one vCPU (../cpu-pinning.ts): across
 * vCPUs each response wakes the halted load generator with an inter-processor interrupt that costs
 * a slower server more, which amplified weft's cost two to three times (docs/benchmarks.md, "The
 * server-side figures"). Each round runs every framework's two back to back, bare first on even
 * rounds and weft first on odd ones, so drifts in machine load hit both alike
 * (./paired-rounds.ts); the rounds are shared among fresh sets of the four processes, each set
 * warmed up once: one process's CPU per request can sit a few percent from another's of the same
 * code for its whole life, so rounds on one set would measure that set. The headline is the
 * capacity ratio: the median over rounds of the bare server's CPU per request ÷ weft's in the same
 * round, read from the server processes themselves, i.e. the requests one core serves with weft ÷
 * without. Requests/s ÷ bare is reported beside it without a floor: wrk's own share of the core
 * dilutes it.
 */
import { choosePinning, type Pinning, pinProcess } from '../cpu-pinning.js';
import type { ResultTable, ScenarioResult } from '../result.js';
import { percentile, round } from '../stats.js';
import type { ServiceArgs, ServiceMessage, ServiceReady, ServiceStats } from '../workers/service-process.js';
import { runWrk } from '../wrk.js';
import type { LoadSample } from '../wrk-report.js';
import { type LiveWorker, startWorker } from './common.js';
import { type PairedRound, roundsOfPair, summarizePaired } from './paired-rounds.js';

export interface ServerOverheadOptions {
  rounds: number;
  /** Seconds of load per server and round, a whole number (wrk's `-d`). */
  durationS: number;
  /** wrk's connections, each with one request in flight. */
  connections: number;
  /** Seconds of load per server before the first round (warm-up, not counted), a whole number. */
  warmUpS: number;
  /**
   * Fresh sets of the four service processes the rounds are shared among (evenly, the rest to the
   * first sets): a process's CPU per request stays 3–5% above or below another's of the same code
   * for its whole life, so rounds on one set measure that set.
   */
  serviceSets: number;
}

type Framework = ServiceArgs['framework'];
const FRAMEWORKS: readonly Framework[] = ['express', 'fastify'];
const LABELS: Record<Framework, { bare: string; weft: string; name: string }> = {
  express: { bare: 'Express (bare)', weft: 'Express + weftMiddleware', name: 'Express' },
  fastify: { bare: 'Fastify (bare)', weft: 'Fastify + weftPlugin', name: 'Fastify' },
};
/** The deadline every request carries, as a weft client would send it. */
const DEADLINE_HEADER_VALUE = '3000';
/** With weft's server half, a server core keeps at least this share of the bare framework's capacity, or `npm run bench` fails (goal: 0.95). */
const FLOOR = 0.9;

const serviceScript = new URL('../workers/service-process.ts', import.meta.url);

type Service = LiveWorker<ServiceMessage, ServiceReady | ServiceStats>;
type Measured = LoadSample & { cpuUsPerRequest: number };

/** One wrk run against `service`: its figures and the server's µs of CPU per request. */
async function measure(
  service: Service,
  options: ServerOverheadOptions,
  pinning: Pinning,
  durationS: number,
): Promise<Measured> {
  const before = (await service.ask({ stats: true })) as ServiceStats;
  const sample = await runWrk({
    url: `http://127.0.0.1:${(service.ready as ServiceReady).port}/`,
    connections: options.connections,
    durationS,
    headers: { 'weft-timeout-ms': DEADLINE_HEADER_VALUE },
    pinning,
  });
  const after = (await service.ask({ stats: true })) as ServiceStats;
  const requests = after.handled - before.handled;
  return { ...sample, cpuUsPerRequest: requests > 0 ? (after.cpuUs - before.cpuUs) / requests : Number.NaN };
}

/** Where the processes ran, for the summary. */
function placement(pinning: Pinning): string {
  return pinning.cpu === undefined
    ? `every server and wrk unpinned (${pinning.unpinned}), so the figures carry the cross-vCPU wake-ups pinning avoids`
    : `every server and wrk pinned to vCPU ${pinning.cpu} (taskset)`;
}

/** One round of one framework: its bare and weft servers, measured back to back. */
interface MeasuredRound {
  /** The set of service processes it ran on, from 0. */
  readonly set: number;
  readonly bare: Measured;
  readonly weft: Measured;
}

/**
 * Start fresh set number `set` of the four services, pin them, warm each up, and run `count`
 * rounds on them, the bare server first when `offset + round` is even; the services are closed
 * however it ends.
 * Resolves with each framework's rounds.
 */
async function runServiceSet(
  options: ServerOverheadOptions,
  pinning: Pinning,
  set: number,
  count: number,
  offset: number,
): Promise<Record<Framework, MeasuredRound[]>> {
  const started = await Promise.allSettled(
    FRAMEWORKS.flatMap((framework) =>
      (['none', 'weft'] as const).map((protection) =>
        startWorker<ServiceMessage, ServiceReady | ServiceStats>(serviceScript, {
          framework,
          protection,
        } satisfies ServiceArgs),
      ),
    ),
  );
  const services = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    for (const service of services) pinProcess(pinning, service.pid);
    const pairs = FRAMEWORKS.map((framework, i) => ({
      framework,
      bare: services[2 * i]!,
      weft: services[2 * i + 1]!,
    }));
    for (const pair of pairs) {
      await measure(pair.bare, options, pinning, options.warmUpS);
      await measure(pair.weft, options, pinning, options.warmUpS);
    }
    const rounds: Record<Framework, MeasuredRound[]> = { express: [], fastify: [] };
    for (let r = 0; r < count; r++) {
      for (const pair of pairs) {
        const bareFirst = (offset + r) % 2 === 0;
        const first = await measure(bareFirst ? pair.bare : pair.weft, options, pinning, options.durationS);
        const second = await measure(bareFirst ? pair.weft : pair.bare, options, pinning, options.durationS);
        const [bare, weft] = bareFirst ? [first, second] : [second, first];
        rounds[pair.framework].push({ set, bare, weft });
      }
    }
    return rounds;
  } finally {
    await Promise.all(services.map((w) => w.close({ close: true })));
  }
}

export async function serverOverhead(options: ServerOverheadOptions): Promise<ScenarioResult> {
  const pinning = choosePinning();
  const measured: Record<Framework, MeasuredRound[]> = { express: [], fastify: [] };
  for (let set = 0; set < options.serviceSets; set++) {
    const count = roundsOfPair(options.rounds, options.serviceSets, set);
    const rounds = await runServiceSet(options, pinning, set, count, measured.express.length);
    for (const framework of FRAMEWORKS) measured[framework].push(...rounds[framework]);
  }
  const pairs = FRAMEWORKS.map((framework) => ({
    framework,
    measured: measured[framework],
    rounds: measured[framework].map(
      ({ bare, weft }): PairedRound => ({
        rawRps: bare.rps,
        rawCpu: bare.cpuUsPerRequest,
        rps: weft.rps,
        cpu: weft.cpuUsPerRequest,
        failed: bare.failed + weft.failed,
      }),
    ),
  }));
  const summaries = pairs.map((pair) => {
    const capacityRatios = pair.rounds.map((x) => x.rawCpu / x.cpu);
    return {
      framework: pair.framework,
      summary: summarizePaired(pair.rounds),
      bare: summarizePaired(pair.rounds.map((x) => ({ ...x, rps: x.rawRps, cpu: x.rawCpu }))),
      capacityP25: round(percentile(capacityRatios, 25)),
      capacityP75: round(percentile(capacityRatios, 75)),
      perRoundCapacityRatios: capacityRatios.map((x) => round(x)),
      bareFailed: pair.measured.reduce((sum, m) => sum + m.bare.failed, 0),
      weftFailed: pair.measured.reduce((sum, m) => sum + m.weft.failed, 0),
      rounds: pair.rounds,
      measured: pair.measured,
    };
  });
  const table: ResultTable = {
    columns: [
      'server',
      'req/s',
      'server µs CPU/req',
      'req/s ÷ bare',
      'capacity ratio (bare CPU ÷ own)',
      'IQR of the capacity ratio',
      'failed',
    ],
    rows: summaries.flatMap((s) => [
      [LABELS[s.framework].bare, s.bare.rps, s.bare.cpuUsPerCall, 1, 1, '', s.bareFailed],
      [
        LABELS[s.framework].weft,
        s.summary.rps,
        s.summary.cpuUsPerCall,
        s.summary.throughputRatio,
        s.summary.cpuRatio,
        `${s.capacityP25}–${s.capacityP75}`,
        s.weftFailed,
      ],
    ]),
  };
  const of = (framework: Framework) => summaries.find((s) => s.framework === framework)!.summary;
  return {
    scenario: 'server-overhead',
    summary: `${options.rounds} rounds of ${options.durationS} s of wrk (one thread, ${options.connections} connections, one request in flight each) per server, bare and with weft's server half back to back in alternating order, shared among ${options.serviceSets} fresh ${options.serviceSets === 1 ? 'set' : 'sets'} of the four service processes, each server warmed up for ${options.warmUpS} s; every server and wrk in a process of its own, ${placement(pinning)}; capacity ratio = bare server CPU per request ÷ weft's (median of rounds), goal ≥ 0.95, floor ${FLOOR}; requests/s ÷ bare has no floor: on one core wrk's own CPU, the same for both, dilutes it`,
    tables: [table],
    charts: [
      {
        kind: 'bars',
        title:
          "Server capacity and requests/s with weft's server half, relative to the bare framework (median of rounds)",
        unit: '× bare',
        groups: ['capacity (bare CPU ÷ own CPU per request)', 'requests/s (diluted by wrk on the same core)'],
        series: summaries.map((s) => ({
          name: LABELS[s.framework].weft,
          values: [s.summary.cpuRatio, s.summary.throughputRatio],
        })),
      },
    ],
    headline: {
      expressCapacityRatio: of('express').cpuRatio,
      fastifyCapacityRatio: of('fastify').cpuRatio,
      expressThroughputRatio: of('express').throughputRatio,
      fastifyThroughputRatio: of('fastify').throughputRatio,
      failedRequests: summaries.reduce((sum, s) => sum + s.bareFailed + s.weftFailed, 0),
    },
    floors: FRAMEWORKS.map((framework) => ({
      name: `${framework}CapacityRatio`,
      floor: FLOOR,
      meaning: `${LABELS[framework].weft}, bare ${LABELS[framework].name}'s server CPU per request ÷ its own`,
    })),
    details: {
      options,
      pinning,
      frameworks: summaries.map((s) => ({
        framework: s.framework,
        perRoundCapacityRatios: s.perRoundCapacityRatios,
        perRoundThroughputRatios: s.summary.perRoundRatios,
        rounds: s.measured.map(({ set, bare, weft }) => ({
          set,
          bareRps: round(bare.rps, 0),
          bareCpuUs: round(bare.cpuUsPerRequest, 2),
          bareP99Ms: bare.p99Ms,
          weftRps: round(weft.rps, 0),
          weftCpuUs: round(weft.cpuUsPerRequest, 2),
          weftP99Ms: weft.p99Ms,
          failed: bare.failed + weft.failed,
        })),
      })),
    },
  };
}
