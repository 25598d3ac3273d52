/**
 * server-overhead: what weft's server half costs per request. Six services, each in a process of
 * its own (../workers/service-process.ts), three per framework: bare Express, Express with one
 * middleware that only runs the rest of the request inside `AsyncLocalStorage.run`, Express behind
 * `weftMiddleware`, and the same three for Fastify (an `onRequest` hook, `weftPlugin`), all
 * answering `GET /` with `ok` at once. The `AsyncLocalStorage.run`-only service is a reference
 * row, without a floor: weft runs every request inside such a store to carry its deadline and
 * cancellation to the handler's outbound calls, and on Node 24 that store alone costs a few
 * percent of a bare server's capacity (every async resource of the request carries the frame), a
 * cost any per-request async context pays (OpenTelemetry's context manager too); the row splits
 * weft's cost into that part and weft's own. The load comes from Debian's wrk 4 (../wrk.ts), a C
 * load generator we did not write, one thread, closed loop over a fixed number of keep-alive
 * connections, every request carrying a `weft-timeout-ms` header as a weft client's do. Every
 * service and wrk run pinned to one vCPU (../cpu-pinning.ts): across vCPUs each response wakes the
 * halted load generator with an inter-processor interrupt that costs a slower server more, which
 * amplified weft's cost two to three times (docs/benchmarks.md, "The server-side figures"). Each
 * round runs a framework's three services back to back in an order that rotates from round to
 * round (./round-order.ts: over six rounds each goes first twice and each pair runs in either
 * order three times), so drifts in machine load hit all alike; the rounds are shared among fresh
 * sets of the six processes, each warmed up once: one process's CPU per request can sit a few
 * percent from another's of the same code for its whole life, so rounds on one set would measure
 * that set. The headline is the capacity ratio: the median over rounds of the bare server's CPU
 * per request ÷ weft's (or the reference's) in the same round, read from the server processes
 * themselves, i.e. the requests one core serves with weft ÷ without. Requests/s ÷ bare is
 * reported beside it without a floor: wrk's own share of the core dilutes it.
 */
import { choosePinning, type Pinning, pinProcess } from '../cpu-pinning.js';
import type { ResultTable, ScenarioResult } from '../result.js';
import { percentile, round } from '../stats.js';
import type { ServiceArgs, ServiceMessage, ServiceReady, ServiceStats } from '../workers/service-process.js';
import { runWrk } from '../wrk.js';
import type { LoadSample } from '../wrk-report.js';
import { type LiveWorker, startWorker } from './common.js';
import { type PairedRound, type PairedSummary, roundsOfPair, summarizePaired } from './paired-rounds.js';
import { orderOfRound } from './round-order.js';

export interface ServerOverheadOptions {
  rounds: number;
  /** Seconds of load per server and round, a whole number (wrk's `-d`). */
  durationS: number;
  /** wrk's connections, each with one request in flight. */
  connections: number;
  /** Seconds of load per server before the first round (warm-up, not counted), a whole number; 0: none (the harness's tiny test run). */
  warmUpS: number;
  /**
   * Fresh sets of the six service processes the rounds are shared among (evenly, the rest to the
   * first sets): a process's CPU per request stays 3–5% above or below another's of the same code
   * for its whole life, so rounds on one set measure that set.
   */
  serviceSets: number;
}

type Framework = ServiceArgs['framework'];
const FRAMEWORKS: readonly Framework[] = ['express', 'fastify'];

/**
 * A framework's three services: bare, `AsyncLocalStorage.run` only (the reference), and weft's
 * server half; in this order in the table, and in the first round's order.
 */
type Variant = 'bare' | 'als' | 'weft';
const VARIANTS: readonly Variant[] = ['bare', 'als', 'weft'];
/** The two measured against bare. */
type Contender = Exclude<Variant, 'bare'>;
const CONTENDERS: readonly Contender[] = ['als', 'weft'];
const PROTECTION: Record<Variant, ServiceArgs['protection']> = {
  bare: 'none',
  als: 'async-local-storage-only',
  weft: 'weft',
};
const LABELS: Record<Framework, Record<Variant, string> & { name: string }> = {
  express: {
    bare: 'Express (bare)',
    als: 'Express + AsyncLocalStorage.run only',
    weft: 'Express + weftMiddleware',
    name: 'Express',
  },
  fastify: {
    bare: 'Fastify (bare)',
    als: 'Fastify + AsyncLocalStorage.run only',
    weft: 'Fastify + weftPlugin',
    name: 'Fastify',
  },
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

/** One round of one framework: its three servers, measured back to back in `order`. */
type MeasuredRound = Record<Variant, Measured> & {
  /** The set of service processes it ran on, from 0. */
  readonly set: number;
  readonly order: readonly Variant[];
};

/**
 * Start fresh set number `set` of the six services, pin them, warm each up, and run `count`
 * rounds on them, round `r` in the order {@link orderOfRound} gives round `offset + r` (round
 * numbers count across sets, so the orders go on rotating where the last set stopped); the
 * services are closed however it ends. Resolves with each framework's rounds.
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
      VARIANTS.map((variant) =>
        startWorker<ServiceMessage, ServiceReady | ServiceStats>(serviceScript, {
          framework,
          protection: PROTECTION[variant],
        } satisfies ServiceArgs),
      ),
    ),
  );
  const services = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    for (const service of services) pinProcess(pinning, service.pid);
    const groups = FRAMEWORKS.map((framework, f) => ({
      framework,
      services: Object.fromEntries(
        VARIANTS.map((variant, v) => [variant, services[VARIANTS.length * f + v]!]),
      ) as Record<Variant, Service>,
    }));
    if (options.warmUpS > 0) {
      for (const group of groups) {
        for (const variant of VARIANTS) {
          await measure(group.services[variant], options, pinning, options.warmUpS);
        }
      }
    }
    const rounds: Record<Framework, MeasuredRound[]> = { express: [], fastify: [] };
    for (let r = 0; r < count; r++) {
      const order = orderOfRound(VARIANTS, offset + r);
      for (const group of groups) {
        const measured: Partial<Record<Variant, Measured>> = {};
        for (const variant of order) {
          measured[variant] = await measure(group.services[variant], options, pinning, options.durationS);
        }
        rounds[group.framework].push({ ...(measured as Record<Variant, Measured>), set, order });
      }
    }
    return rounds;
  } finally {
    await Promise.all(services.map((w) => w.close({ close: true })));
  }
}

/** A contender's figures against bare over a framework's rounds. */
interface ContenderSummary {
  readonly summary: PairedSummary;
  readonly capacityP25: number;
  readonly capacityP75: number;
  readonly perRoundCapacityRatios: readonly number[];
  readonly failed: number;
}

/** `contender`'s rounds paired with bare's of the same round. */
function summarizeContender(measured: readonly MeasuredRound[], contender: Contender): ContenderSummary {
  const rounds = measured.map(
    (m): PairedRound => ({
      rawRps: m.bare.rps,
      rawCpu: m.bare.cpuUsPerRequest,
      rps: m[contender].rps,
      cpu: m[contender].cpuUsPerRequest,
      failed: m[contender].failed,
    }),
  );
  const capacityRatios = rounds.map((x) => x.rawCpu / x.cpu);
  return {
    summary: summarizePaired(rounds),
    capacityP25: round(percentile(capacityRatios, 25)),
    capacityP75: round(percentile(capacityRatios, 75)),
    perRoundCapacityRatios: capacityRatios.map((x) => round(x)),
    failed: rounds.reduce((sum, x) => sum + x.failed, 0),
  };
}

export async function serverOverhead(options: ServerOverheadOptions): Promise<ScenarioResult> {
  const pinning = choosePinning();
  const measured: Record<Framework, MeasuredRound[]> = { express: [], fastify: [] };
  for (let set = 0; set < options.serviceSets; set++) {
    const count = roundsOfPair(options.rounds, options.serviceSets, set);
    const rounds = await runServiceSet(options, pinning, set, count, measured.express.length);
    for (const framework of FRAMEWORKS) measured[framework].push(...rounds[framework]);
  }
  const summaries = FRAMEWORKS.map((framework) => {
    const rounds = measured[framework];
    return {
      framework,
      bare: summarizePaired(
        rounds.map(({ bare }) => ({
          rawRps: bare.rps,
          rawCpu: bare.cpuUsPerRequest,
          rps: bare.rps,
          cpu: bare.cpuUsPerRequest,
          failed: bare.failed,
        })),
      ),
      bareFailed: rounds.reduce((sum, m) => sum + m.bare.failed, 0),
      als: summarizeContender(rounds, 'als'),
      weft: summarizeContender(rounds, 'weft'),
      measured: rounds,
    };
  });
  const contenderRow = (framework: Framework, contender: Contender, s: ContenderSummary) => [
    LABELS[framework][contender],
    s.summary.rps,
    s.summary.cpuUsPerCall,
    s.summary.throughputRatio,
    s.summary.cpuRatio,
    `${s.capacityP25}–${s.capacityP75}`,
    s.failed,
  ];
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
      ...CONTENDERS.map((contender) => contenderRow(s.framework, contender, s[contender])),
    ]),
  };
  const of = (framework: Framework, contender: Contender) =>
    summaries.find((s) => s.framework === framework)![contender].summary;
  return {
    scenario: 'server-overhead',
    summary: `${options.rounds} rounds of ${options.durationS} s of wrk (one thread, ${options.connections} connections, one request in flight each) per server, each framework bare, with a middleware or hook doing only AsyncLocalStorage.run (a reference without a floor: the part of weft's cost any per-request async context pays) and with weft's server half, back to back in an order rotating from round to round, shared among ${options.serviceSets} fresh ${options.serviceSets === 1 ? 'set' : 'sets'} of the six service processes, each server warmed up for ${options.warmUpS} s; every server and wrk in a process of its own, ${placement(pinning)}; capacity ratio = bare server CPU per request ÷ the server's own (median of rounds), with weft goal ≥ 0.95, floor ${FLOOR}; requests/s ÷ bare has no floor: on one core wrk's own CPU, the same for all, dilutes it`,
    tables: [table],
    charts: [
      {
        kind: 'bars',
        title:
          "Server capacity and requests/s with AsyncLocalStorage.run only and with weft's server half, relative to the bare framework (median of rounds)",
        unit: '× bare',
        groups: ['capacity (bare CPU ÷ own CPU per request)', 'requests/s (diluted by wrk on the same core)'],
        series: summaries.flatMap((s) =>
          CONTENDERS.map((contender) => ({
            name: LABELS[s.framework][contender],
            values: [s[contender].summary.cpuRatio, s[contender].summary.throughputRatio],
          })),
        ),
      },
    ],
    headline: {
      expressCapacityRatio: of('express', 'weft').cpuRatio,
      fastifyCapacityRatio: of('fastify', 'weft').cpuRatio,
      expressThroughputRatio: of('express', 'weft').throughputRatio,
      fastifyThroughputRatio: of('fastify', 'weft').throughputRatio,
      expressAlsCapacityRatio: of('express', 'als').cpuRatio,
      fastifyAlsCapacityRatio: of('fastify', 'als').cpuRatio,
      failedRequests: summaries.reduce((sum, s) => sum + s.bareFailed + s.als.failed + s.weft.failed, 0),
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
        perRoundCapacityRatios: s.weft.perRoundCapacityRatios,
        perRoundThroughputRatios: s.weft.summary.perRoundRatios,
        perRoundAlsCapacityRatios: s.als.perRoundCapacityRatios,
        perRoundAlsThroughputRatios: s.als.summary.perRoundRatios,
        rounds: s.measured.map((m) => ({
          set: m.set,
          order: m.order.join(' '),
          ...Object.fromEntries(
            VARIANTS.flatMap((variant) => [
              [`${variant}Rps`, round(m[variant].rps, 0)],
              [`${variant}CpuUs`, round(m[variant].cpuUsPerRequest, 2)],
              [`${variant}P99Ms`, m[variant].p99Ms],
            ]),
          ),
          failed: m.bare.failed + m.als.failed + m.weft.failed,
        })),
      })),
    },
  };
}
