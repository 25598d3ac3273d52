/**
 * overload: two replicas of a Fastify service whose capacity is fixed: each handler holds one slot
 * of an 8-slot pool for 20 ms (../workers/service-process.ts), so a replica completes at most
 * 400 calls/s and queues the rest, in order, while its event loop stays idle. Offered load, open
 * loop (../load.ts), steps up from a quarter of the two replicas' capacity to twice it. Every call
 * carries a deadline (`weft-timeout-ms`, and the client gives up at it). Per protection, with fresh
 * replicas each:
 *
 *   weft             `weftPlugin` (Gradient2 limit, nacks) + a weft client, which requeues a nack
 *                    on the other replica under its retry budget
 *   weft-no-accrual  the same, the client with `failureAccrual: false` (failure accrual counts a
 *                    nack as a failure, so under overload it ejects a replica that nacks)
 *   under-pressure   @fastify/under-pressure at a 100 ms event-loop delay or 98% utilization + a
 *                    plain undici BalancedPool, which gives up at the deadline
 *   none             no protection + the same plain client
 *
 * Goodput is calls that succeeded within their deadline, per second of a step; latency is of those
 * accepted calls, from each call's scheduled start. The goal (issue 15): at twice the capacity,
 * goodput at least 90% of capacity, and p99 within twice the unloaded p99 (the first step's).
 */
import { BalancedPool } from 'undici';
import { DEFAULT_SETTINGS, weftOptions, weftSend } from '../contenders.js';
import { openLoop, type Send } from '../load.js';
import type { ChartSpec, ResultTable, ScenarioResult } from '../result.js';
import { round } from '../stats.js';
import { weft } from '../weft.js';
import type { ServiceArgs, ServiceMessage, ServiceReady, ServiceStats } from '../workers/service-process.js';
import {
  type ClosableContender,
  type LatencySummary,
  type LiveWorker,
  pause,
  startWorker,
  summarize,
} from './common.js';

export interface OverloadOptions {
  /** Seconds of load per step. */
  durationS: number;
  /** Offered load of each step, as multiples of the replicas' capacity; the first is the unloaded reference, the last the peak. */
  steps?: readonly number[];
  /** Slots of each replica's pool (default 8). */
  slots?: number;
  /** How long a call holds its slot, ms (default 20). */
  workMs?: number;
  /** Each call's deadline, ms (default 200). */
  deadlineMs?: number;
  /** Seconds of load at the first step's rate before measuring (default 2). */
  warmUpS?: number;
}

const DEFAULTS = { steps: [0.25, 0.5, 1, 1.5, 2], slots: 8, workMs: 20, deadlineMs: 200, warmUpS: 2 };
const REPLICAS = 2;
/** Connections per replica, for every client: more than a replica's fill of calls at the peak. */
const CONNECTIONS = 128;

type Protection = 'weft' | 'weft-no-accrual' | 'under-pressure' | 'none';
const PROTECTIONS: readonly Protection[] = ['weft', 'weft-no-accrual', 'under-pressure', 'none'];
const LABELS: Record<Protection, string> = {
  weft: 'weft plugin + weft client',
  'weft-no-accrual': 'weft plugin + weft client, failureAccrual: false',
  'under-pressure': 'under-pressure + undici',
  none: 'no protection + undici',
};
/**
 * @fastify/under-pressure checks nothing by default (every threshold 0); these are its README's
 * event-loop thresholds made stricter: 100 ms of event-loop delay, or 98% utilization.
 */
const UNDER_PRESSURE = { maxEventLoopDelay: 100, maxEventLoopUtilization: 0.98 };
/**
 * weft's limit here: Gradient2 with its defaults except the floor. Its default `minLimit` (20, as
 * Netflix's) would keep 20 calls admitted on a replica that does 8 at a time, so the floor is 1
 * and it starts from the pool's size.
 */
const gradient2For = (slots: number) => ({ minLimit: 1, initialLimit: slots });

/** Goal: goodput at the peak, as a share of capacity. */
const GOODPUT_GOAL = 0.9;
/** Goal: p99 at the peak at most this many times the unloaded p99. */
const P99_GOAL = 2;

type Service = LiveWorker<ServiceMessage, ServiceReady | ServiceStats>;
const serviceScript = new URL('../workers/service-process.ts', import.meta.url);

/** One step of the ramp for one protection. */
interface StepFigures {
  readonly load: number;
  readonly offeredPerS: number;
  readonly goodputPerS: number;
  /** Calls that failed or missed their deadline, share of the step's calls. */
  readonly failedShare: number;
  readonly latency: LatencySummary;
  /** Handlers that finished for a caller who had already gone. */
  readonly wastedWork: number;
  /** weft's concurrency limit on each replica at the end of the step (weft's server half only). */
  readonly limits: readonly number[];
}

interface ProtectionFigures {
  readonly protection: Protection;
  readonly steps: readonly StepFigures[];
}

/** The client each protection is measured with: weft's, or a plain BalancedPool that gives up at the deadline. */
function client(protection: Protection, addresses: readonly string[], deadlineMs: number): ClosableContender {
  if (protection === 'weft' || protection === 'weft-no-accrual') {
    const c = weft.createHttpClient({
      endpoints: addresses,
      ...weftOptions({
        ...DEFAULT_SETTINGS,
        connections: CONNECTIONS,
        attemptTimeoutMs: deadlineMs,
        totalTimeoutMs: deadlineMs,
      }),
      // Failure accrual counts a nack as a failure: under overload it ejects a replica that nacks.
      ...(protection === 'weft-no-accrual' ? { failureAccrual: false } : {}),
    });
    return { send: weftSend(c), close: () => c.close() };
  }
  const pool = new BalancedPool(
    addresses.map((a) => `http://${a}`),
    { connections: CONNECTIONS },
  );
  const headers = { 'weft-timeout-ms': String(deadlineMs) };
  const send: Send = async () => {
    const res = await pool.request({
      path: '/',
      method: 'GET',
      headers,
      signal: AbortSignal.timeout(deadlineMs),
    });
    await res.body.text();
    return res.statusCode;
  };
  return { send, close: () => pool.close() };
}

/** Start `REPLICAS` services with `protection`; they are closed however `body` ends. */
async function withServices<T>(
  protection: Protection,
  pool: { slots: number; workMs: number },
  body: (services: readonly Service[]) => Promise<T>,
): Promise<T> {
  const weftServer = protection === 'weft' || protection === 'weft-no-accrual';
  const args: ServiceArgs = {
    framework: 'fastify',
    protection: weftServer ? 'weft' : protection,
    pool,
    ...(weftServer ? { gradient2: gradient2For(pool.slots) } : {}),
    ...(protection === 'under-pressure' ? { underPressure: UNDER_PRESSURE } : {}),
  };
  const started = await Promise.allSettled(
    Array.from({ length: REPLICAS }, () =>
      startWorker<ServiceMessage, ServiceReady | ServiceStats>(serviceScript, args),
    ),
  );
  const services = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    return await body(services);
  } finally {
    await Promise.all(services.map((s) => s.close({ close: true })));
  }
}

/** The replicas' wasted work so far, summed, and their weft limits now. */
async function replicaState(services: readonly Service[]): Promise<{ wasted: number; limits: number[] }> {
  let wasted = 0;
  const limits: number[] = [];
  for (const s of services) {
    const stats = (await s.ask({ stats: true })) as ServiceStats;
    wasted += stats.handledForNobody;
    if (stats.limit !== undefined) limits.push(round(stats.limit, 1));
  }
  return { wasted, limits };
}

/** Ramp one protection through the steps, on fresh replicas and a fresh client. */
async function rampOne(
  protection: Protection,
  o: Required<OverloadOptions>,
  capacityPerS: number,
): Promise<ProtectionFigures> {
  return withServices(protection, { slots: o.slots, workMs: o.workMs }, async (services) => {
    const addresses = services.map((s) => `127.0.0.1:${(s.ready as ServiceReady).port}`);
    const c = client(protection, addresses, o.deadlineMs);
    try {
      await openLoop(c.send, { rate: capacityPerS * o.steps[0]!, durationMs: o.warmUpS * 1_000 });
      const steps: StepFigures[] = [];
      let wasted = (await replicaState(services)).wasted;
      for (const load of o.steps) {
        const rate = capacityPerS * load;
        const result = await openLoop(c.send, { rate, durationMs: o.durationS * 1_000 });
        const inTime = result.latenciesMs.filter((ms) => ms <= o.deadlineMs);
        const state = await replicaState(services);
        steps.push({
          load,
          offeredPerS: round(rate, 0),
          goodputPerS: round(inTime.length / o.durationS, 0),
          failedShare: round((result.calls - inTime.length) / result.calls, 4),
          latency: summarize(inTime),
          wastedWork: state.wasted - wasted,
          limits: state.limits,
        });
        wasted = state.wasted;
      }
      return { protection, steps };
    } finally {
      await c.close();
      await pause(50);
    }
  });
}

export async function overload(options: OverloadOptions): Promise<ScenarioResult> {
  const o: Required<OverloadOptions> = { ...DEFAULTS, ...options };
  if (o.steps.length < 2)
    throw new Error('overload: at least two steps (the unloaded reference and the peak)');
  const capacityPerS = (REPLICAS * o.slots * 1_000) / o.workMs;
  const measured: ProtectionFigures[] = [];
  for (const protection of PROTECTIONS) measured.push(await rampOne(protection, o, capacityPerS));

  const peakLoad = o.steps[o.steps.length - 1]!;
  const peak = (f: ProtectionFigures) => f.steps[f.steps.length - 1]!;
  const unloaded = (f: ProtectionFigures) => f.steps[0]!;
  const goodputShare = (f: ProtectionFigures) => round(peak(f).goodputPerS / capacityPerS, 3);
  const p99Ratio = (f: ProtectionFigures) => round(peak(f).latency.p99 / unloaded(f).latency.p99, 2);
  /** A p99 for a table: none (`—`) where no call got through. */
  const shown = (value: number) => (Number.isNaN(value) ? '—' : value);
  const of = (p: Protection) => measured.find((m) => m.protection === p)!;

  const summaryTable: ResultTable = {
    columns: [
      'protection',
      `goodput at ${peakLoad}× (calls/s)`,
      '÷ capacity',
      'p99 unloaded (ms)',
      `p99 at ${peakLoad}× (ms)`,
      'p99 ÷ unloaded',
      `failed or late at ${peakLoad}×`,
      'work for callers gone',
      `weft limits at ${peakLoad}×`,
    ],
    rows: measured.map((f) => [
      LABELS[f.protection],
      peak(f).goodputPerS,
      goodputShare(f),
      shown(unloaded(f).latency.p99),
      shown(peak(f).latency.p99),
      shown(p99Ratio(f)),
      `${round(peak(f).failedShare * 100, 2)}%`,
      f.steps.reduce((sum, s) => sum + s.wastedWork, 0),
      peak(f).limits.join(', '),
    ]),
  };
  const rampTable: ResultTable = {
    columns: ['offered', ...measured.flatMap((f) => [`${LABELS[f.protection]}: goodput/s`, 'p99 (ms)'])],
    rows: o.steps.map((load, i) => [
      `${load}× (${round(capacityPerS * load, 0)}/s)`,
      ...measured.flatMap((f) => [f.steps[i]!.goodputPerS, shown(f.steps[i]!.latency.p99)]),
    ]),
  };
  const charts: ChartSpec[] = [
    {
      kind: 'lines',
      title: `Goodput (calls/s within a ${o.deadlineMs} ms deadline) as offered load rises; capacity ${capacityPerS}/s`,
      xLabel: 'offered load (× capacity)',
      yLabel: 'goodput (calls/s)',
      series: measured.map((f) => ({
        name: LABELS[f.protection],
        points: f.steps.map((s) => [s.load, s.goodputPerS] as const),
      })),
    },
    {
      kind: 'lines',
      title: 'p99 of accepted calls as offered load rises',
      xLabel: 'offered load (× capacity)',
      yLabel: 'p99 (ms)',
      logY: true,
      series: measured.map((f) => ({
        name: LABELS[f.protection],
        points: f.steps.map((s) => [s.load, Math.max(s.latency.p99, 0.01)] as const),
      })),
    },
  ];
  const weftFigures = of('weft');
  // A protection under which no call got through at the peak has no p99: its figures are left out.
  const headline = Object.fromEntries(
    Object.entries({
      weftGoodputShare: goodputShare(weftFigures),
      weftP99Ratio: p99Ratio(weftFigures),
      weftP99Ms: peak(weftFigures).latency.p99,
      weftNoAccrualGoodputShare: goodputShare(of('weft-no-accrual')),
      weftNoAccrualP99Ratio: p99Ratio(of('weft-no-accrual')),
      underPressureGoodputShare: goodputShare(of('under-pressure')),
      underPressureP99Ratio: p99Ratio(of('under-pressure')),
      unprotectedGoodputShare: goodputShare(of('none')),
      unprotectedP99Ratio: p99Ratio(of('none')),
      weftMeetsGoal: goodputShare(weftFigures) >= GOODPUT_GOAL && p99Ratio(weftFigures) <= P99_GOAL ? 1 : 0,
    }).filter(([, value]) => !Number.isNaN(value)),
  );
  return {
    scenario: 'overload',
    summary: `2 Fastify replicas, each ${o.slots} slots × ${o.workMs} ms of work (capacity ${capacityPerS} calls/s together); open loop stepping through ${o.steps.join(', ')}× capacity, ${o.durationS} s per step after ${o.warmUpS} s of warm-up, fresh replicas per protection; deadline ${o.deadlineMs} ms; goal at ${peakLoad}×: goodput ≥ ${GOODPUT_GOAL * 100}% of capacity and p99 ≤ ${P99_GOAL}× unloaded`,
    tables: [summaryTable, rampTable],
    charts,
    headline,
    details: {
      options: o,
      capacityPerS,
      underPressure: UNDER_PRESSURE,
      gradient2: gradient2For(o.slots),
      measured,
    },
  };
}
