/**
 * failing-replica: four replicas; one starts failing every request, either answering 503 or
 * refusing connections, while open-loop load runs. Each contender, fresh, first runs a warm-up
 * second against four healthy replicas; then the replica fails, and the measured window begins.
 * Reported: the callers' success rate, and the extra load, which is the requests the replicas
 * saw divided by the calls made (1.0 means nothing was sent twice).
 */

import type { Behaviour } from '../backends.js';
import { type ContenderName, LABELS, MULTI_REPLICA } from '../contenders.js';
import { openLoop } from '../load.js';
import type { ScenarioResult } from '../result.js';
import { round } from '../stats.js';
import { pause, percent, withContender, withReplicas } from './common.js';

export interface FailingReplicaOptions {
  /** Rounds; each runs every contender (order reversed on odd rounds). Default 1. */
  rounds?: number;
  /** Warm-up before measuring, ms (default 1000). */
  warmUpMs?: number;
  rate: number;
  durationMs: number;
}

const NAMES = MULTI_REPLICA;
const FAILURES: ReadonlyArray<{ key: string; label: string; behaviour: Behaviour }> = [
  { key: '503', label: 'answers 503', behaviour: { errorRate: 1, errorStatus: 503 } },
  { key: 'refused', label: 'refuses connections', behaviour: { mode: 'refuse' } },
];
const WARM_UP_MS = 1_000;

interface Row {
  readonly name: ContenderName;
  readonly failure: string;
  readonly calls: number;
  readonly ok: number;
  readonly seen: number;
}

export async function failingReplica(options: FailingReplicaOptions): Promise<ScenarioResult> {
  const runs: Row[] = [];
  const rounds = options.rounds ?? 1;
  await withReplicas([{}, {}, {}, {}], async (replicas) => {
    for (let r = 0; r < rounds; r++) {
      for (const failure of FAILURES) {
        for (const name of r % 2 === 0 ? NAMES : [...NAMES].reverse()) {
          const row = await withContender(name, replicas.addresses, async (c) => {
            await openLoop(c.send, { rate: options.rate, durationMs: options.warmUpMs ?? WARM_UP_MS });
            await replicas.all[0]!.configure(failure.behaviour);
            await replicas.seen(true);
            const result = await openLoop(c.send, { rate: options.rate, durationMs: options.durationMs });
            const seen = await replicas.seen(true);
            return { name, failure: failure.key, calls: result.calls, ok: result.ok, seen };
          });
          runs.push(row);
          await replicas.all[0]!.configure({});
          await pause(100);
        }
      }
    }
  });
  // Every round's calls pooled, per contender and failure.
  const rows = FAILURES.flatMap((f) =>
    NAMES.map((name) => {
      const mine = runs.filter((r) => r.name === name && r.failure === f.key);
      const calls = mine.reduce((sum, r) => sum + r.calls, 0);
      const ok = mine.reduce((sum, r) => sum + r.ok, 0);
      const seen = mine.reduce((sum, r) => sum + r.seen, 0);
      return {
        name,
        failure: f.key,
        calls,
        successPercent: percent(ok, calls),
        extraLoad: round(seen / calls, 3),
      };
    }),
  );
  const find = (name: string, failure: string) => rows.find((r) => r.name === name && r.failure === failure)!;
  return {
    scenario: 'failing-replica',
    summary: `4 replicas, one failing every request; open loop at ${options.rate} calls/s, ${rounds} × ${options.durationMs / 1_000} s per contender and failure, each after a healthy warm-up second; calls of every round pooled`,
    tables: FAILURES.map((f) => ({
      columns: [`one replica ${f.label}`, 'success %', 'extra load (server requests ÷ calls)'],
      rows: NAMES.map((n) => [LABELS[n], find(n, f.key).successPercent, find(n, f.key).extraLoad]),
    })),
    // Bars, not a scatter of extra load against success: several contenders land on the same point.
    charts: [
      {
        kind: 'bars',
        title: 'One of four replicas failing: calls that succeeded',
        unit: '%',
        groups: FAILURES.map((f) => `one ${f.label}`),
        series: NAMES.map((n) => ({
          name: LABELS[n],
          values: FAILURES.map((f) => find(n, f.key).successPercent),
        })),
      },
      {
        kind: 'bars',
        title: 'One of four replicas failing: extra load (requests at the servers ÷ calls)',
        unit: '× calls',
        groups: FAILURES.map((f) => `one ${f.label}`),
        series: NAMES.map((n) => ({
          name: LABELS[n],
          values: FAILURES.map((f) => find(n, f.key).extraLoad),
        })),
      },
    ],
    headline: {
      weftSuccessPercent503: find('weft', '503').successPercent,
      weftExtraLoad503: find('weft', '503').extraLoad,
      weftSuccessPercentRefused: find('weft', 'refused').successPercent,
      balancedPoolSuccessPercent503: find('undici-balanced-pool', '503').successPercent,
    },
    details: { options: { ...options, rounds }, rows, runs },
  };
}
