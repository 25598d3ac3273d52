/**
 * total-outage: four replicas under open-loop load; every replica answers 503 for a while, then
 * all recover. Each contender, fresh, runs the same timeline on its own: a healthy stretch, the
 * outage, the recovery. Reported: the extra load during the outage (requests the replicas saw ÷
 * calls made in it: the retry-storm test), the success rate in each phase, and the time to
 * recover: from the moment the replicas are healthy again to the start of the first timeline
 * bucket from which every bucket has at least 99% of its calls succeed.
 */
import { type ContenderName, LABELS, MULTI_REPLICA } from '../contenders.js';
import { openLoop } from '../load.js';
import type { ScenarioResult } from '../result.js';
import { median, round } from '../stats.js';
import { pause, percent, withContender, withReplicas } from './common.js';

export interface TotalOutageOptions {
  rate: number;
  healthyMs: number;
  outageMs: number;
  recoveryMs: number;
  /** Timeline resolution, ms. */
  bucketMs?: number;
  /** Rounds; each runs every contender through the timeline (order reversed on odd rounds). Default 1. */
  rounds?: number;
}

const NAMES = MULTI_REPLICA;
const RECOVERED = 99;

interface Row {
  readonly name: ContenderName;
  readonly outageExtraLoad: number;
  readonly healthySuccessPercent: number;
  readonly outageSuccessPercent: number;
  readonly recoverySuccessPercent: number;
  /** ms after recovery; null when it did not recover within the recovery phase. */
  readonly timeToRecoverMs: number | null;
  readonly timeline: Array<[number, number]>;
}

export async function totalOutage(options: TotalOutageOptions): Promise<ScenarioResult> {
  const bucketMs = options.bucketMs ?? 100;
  const total = options.healthyMs + options.outageMs + options.recoveryMs;
  const outageStart = options.healthyMs;
  const recoveryStart = options.healthyMs + options.outageMs;
  const rounds = options.rounds ?? 1;
  const runs: Row[] = [];
  await withReplicas([{}, {}, {}, {}], async (replicas) => {
    const setAll = (errorRate: number) =>
      Promise.all(replicas.all.map((r) => r.configure({ errorRate, errorStatus: 503 })));
    for (let r = 0; r < rounds; r++)
      for (const name of r % 2 === 0 ? NAMES : [...NAMES].reverse()) {
        const row = await withContender(name, replicas.addresses, async (c) => {
          await replicas.seen(true);
          let outageSeen = 0;
          const phases = (async () => {
            await pause(outageStart);
            await setAll(1);
            await replicas.seen(true);
            await pause(options.outageMs);
            await setAll(0);
            outageSeen = await replicas.seen(true);
          })();
          const result = await openLoop(c.send, { rate: options.rate, durationMs: total, bucketMs });
          await phases;
          const inPhase = (from: number, to: number) => {
            let ok = 0;
            let failed = 0;
            for (const [t, o, f] of result.timeline) {
              if (t >= from && t < to) {
                ok += o;
                failed += f;
              }
            }
            return { ok, failed, calls: ok + failed };
          };
          const healthy = inPhase(0, outageStart);
          const outage = inPhase(outageStart, recoveryStart);
          const recovery = inPhase(recoveryStart, total);
          const after = result.timeline.filter(([t, o, f]) => t >= recoveryStart && t < total && o + f > 0);
          let recoveredAt: number | null = null;
          for (let i = after.length - 1; i >= 0; i--) {
            const [t, o, f] = after[i]!;
            if (percent(o, o + f) < RECOVERED) break;
            recoveredAt = t;
          }
          return {
            name,
            outageExtraLoad: round(outageSeen / Math.max(1, outage.calls), 3),
            healthySuccessPercent: percent(healthy.ok, healthy.calls),
            outageSuccessPercent: percent(outage.ok, outage.calls),
            recoverySuccessPercent: percent(recovery.ok, recovery.calls),
            timeToRecoverMs: recoveredAt === null ? null : Math.round(recoveredAt - recoveryStart),
            timeline: result.timeline
              .filter(([t]) => t < total)
              .map(([t, o, f]) => [t, o + f === 0 ? 100 : percent(o, o + f, 1)] as [number, number]),
          };
        });
        runs.push(row);
        await setAll(0);
        await pause(200);
      }
  });
  // Per contender, the median over rounds (a run that never recovered counts as the slowest);
  // the timeline shown is the first round's.
  const rows: Row[] = NAMES.map((name) => {
    const mine = runs.filter((r) => r.name === name);
    const mid = (pick: (r: Row) => number) => median(mine.map(pick));
    const recover = mid((r) => r.timeToRecoverMs ?? Number.POSITIVE_INFINITY);
    return {
      name,
      outageExtraLoad: mid((r) => r.outageExtraLoad),
      healthySuccessPercent: mid((r) => r.healthySuccessPercent),
      outageSuccessPercent: mid((r) => r.outageSuccessPercent),
      recoverySuccessPercent: mid((r) => r.recoverySuccessPercent),
      timeToRecoverMs: Number.isFinite(recover) ? recover : null,
      timeline: mine[0]!.timeline,
    };
  });
  const weft = rows.find((r) => r.name === 'weft')!;
  const shown = (ms: number | null) => (ms === null ? `> ${options.recoveryMs}` : ms);
  return {
    scenario: 'total-outage',
    summary: `4 replicas, all answering 503 for ${options.outageMs / 1_000} s after ${options.healthyMs / 1_000} s healthy, then ${options.recoveryMs / 1_000} s recovered; open loop at ${options.rate} calls/s; ${rounds} round${rounds === 1 ? '' : 's'} per contender, medians of rounds`,
    tables: [
      {
        columns: [
          'contender',
          'extra load in the outage',
          'success % before',
          'success % in the outage',
          'success % after',
          'time to recover (ms)',
        ],
        rows: rows.map((r) => [
          LABELS[r.name],
          r.outageExtraLoad,
          r.healthySuccessPercent,
          r.outageSuccessPercent,
          r.recoverySuccessPercent,
          shown(r.timeToRecoverMs),
        ]),
      },
    ],
    charts: [
      {
        kind: 'lines',
        title: `Calls that succeeded, per ${bucketMs} ms, through a total outage (${outageStart / 1_000}–${recoveryStart / 1_000} s)`,
        xLabel: 'seconds since the start',
        yLabel: 'success (%)',
        series: rows.map((r) => ({
          name: LABELS[r.name],
          points: r.timeline.map(([t, s]) => [t / 1_000, s] as const),
        })),
      },
      {
        kind: 'bars',
        title: 'Extra load during the outage (requests at the servers ÷ calls)',
        unit: '× calls',
        groups: ['extra load'],
        series: rows.map((r) => ({ name: LABELS[r.name], values: [r.outageExtraLoad] })),
      },
    ],
    headline: {
      weftOutageExtraLoad: weft.outageExtraLoad,
      weftTimeToRecoverMs: weft.timeToRecoverMs ?? Number.POSITIVE_INFINITY,
      retryAgentOutageExtraLoad: rows.find((r) => r.name === 'undici-retry-agent')!.outageExtraLoad,
    },
    details: {
      options: { ...options, bucketMs, rounds },
      rows,
      runs: runs.map(({ timeline: _, ...run }) => run),
    },
  };
}
