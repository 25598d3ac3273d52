/**
 * churn: the endpoint set changes every 100 ms under open-loop load: of five healthy replicas,
 * one leaves and another comes back at each step, so every endpoint comes and goes (a rolling
 * deploy at high speed). weft gets each set from a static resolver's `update()`; undici
 * BalancedPool, the one contender that can change its set, from `addUpstream` and
 * `removeUpstream`. Each runs once with a fixed set and once with churn. Reported: failed calls
 * (must be 0: an endpoint that leaves finishes what it has in flight), latency, and client CPU per
 * call with churn relative to without.
 */
import { BalancedPool } from 'undici';
import { DEFAULT_SETTINGS, weftOptions, weftSend } from '../contenders.js';
import { openLoop, type Send } from '../load.js';
import type { ScenarioResult } from '../result.js';
import { round } from '../stats.js';
import { weft as weftBuild } from '../weft.js';
import { type LatencySummary, pause, summarize, withReplicas } from './common.js';

export interface ChurnOptions {
  rate: number;
  durationMs: number;
  /** Time between set changes, ms. Default 100. */
  intervalMs?: number;
}

/** A client over a changing set: `apply` makes `addresses` its set. */
interface Changeable {
  readonly label: string;
  readonly send: Send;
  apply(addresses: readonly string[]): void;
  close(): Promise<void>;
}

function weft(initial: readonly string[]): Changeable {
  const resolver = weftBuild.staticResolver(initial);
  const client = weftBuild.createHttpClient({ resolver, ...weftOptions(DEFAULT_SETTINGS) });
  return {
    label: 'weft',
    send: weftSend(client),
    apply: (addresses) => resolver.update(addresses),
    close: () => client.close(),
  };
}

function balancedPool(initial: readonly string[]): Changeable {
  const origin = (a: string) => `http://${a}`;
  let current = new Set(initial);
  const pool = new BalancedPool([...current].map(origin), {
    connections: DEFAULT_SETTINGS.connections,
    headersTimeout: DEFAULT_SETTINGS.attemptTimeoutMs,
    bodyTimeout: DEFAULT_SETTINGS.attemptTimeoutMs,
  });
  return {
    label: 'undici BalancedPool',
    send: async () => {
      const res = await pool.request({ origin: origin(initial[0]!), path: '/', method: 'GET' });
      await res.body.text();
      return res.statusCode;
    },
    apply(addresses) {
      const next = new Set(addresses);
      for (const a of next) if (!current.has(a)) pool.addUpstream(origin(a));
      for (const a of current) if (!next.has(a)) pool.removeUpstream(origin(a));
      current = next;
    },
    close: () => pool.close(),
  };
}

interface Measured {
  readonly latency: LatencySummary;
  readonly failed: number;
  readonly calls: number;
  readonly cpuUsPerCall: number;
  readonly changes: number;
}

async function measure(
  client: Changeable,
  addresses: readonly string[],
  options: ChurnOptions,
  churn: boolean,
): Promise<Measured> {
  const intervalMs = options.intervalMs ?? 100;
  let step = 0;
  let changes = 0;
  // Five replicas, four in the set at a time; at each step the one left out moves on.
  const timer = churn
    ? setInterval(() => {
        step++;
        const out = step % addresses.length;
        client.apply(addresses.filter((_, i) => i !== out));
        changes++;
      }, intervalMs)
    : undefined;
  const cpu0 = process.cpuUsage();
  try {
    const result = await openLoop(client.send, { rate: options.rate, durationMs: options.durationMs });
    const cpu = process.cpuUsage(cpu0);
    return {
      latency: summarize(result.latenciesMs),
      failed: result.failed,
      calls: result.calls,
      cpuUsPerCall: round((cpu.user + cpu.system) / result.calls, 1),
      changes,
    };
  } finally {
    if (timer !== undefined) clearInterval(timer);
    client.apply(addresses.slice(0, 4));
  }
}

export async function churn(options: ChurnOptions): Promise<ScenarioResult> {
  const intervalMs = options.intervalMs ?? 100;
  return withReplicas([{}, {}, {}, {}, {}], async (replicas) => {
    const addresses = replicas.addresses;
    const rows: Array<{ label: string; fixed: Measured; churning: Measured }> = [];
    for (const make of [weft, balancedPool]) {
      const client = make(addresses.slice(0, 4));
      try {
        await openLoop(client.send, { rate: options.rate, durationMs: 500 });
        const fixed = await measure(client, addresses, options, false);
        await pause(100);
        const churning = await measure(client, addresses, options, true);
        rows.push({ label: client.label, fixed, churning });
      } finally {
        await client.close();
      }
    }
    const w = rows.find((r) => r.label === 'weft')!;
    return {
      scenario: 'churn',
      summary: `5 replicas, 4 in the set, one swapped every ${intervalMs} ms; open loop at ${options.rate} calls/s for ${options.durationMs / 1_000} s, without and with churn`,
      tables: [
        {
          columns: [
            'contender',
            'set changes',
            'failed calls',
            'p50 fixed',
            'p50 churn',
            'p99 fixed',
            'p99 churn',
            'CPU/call churn ÷ fixed',
          ],
          rows: rows.map((r) => [
            r.label,
            r.churning.changes,
            r.churning.failed + r.fixed.failed,
            r.fixed.latency.p50,
            r.churning.latency.p50,
            r.fixed.latency.p99,
            r.churning.latency.p99,
            round(r.churning.cpuUsPerCall / r.fixed.cpuUsPerCall, 2),
          ]),
        },
      ],
      charts: [
        {
          kind: 'bars',
          title: `Latency without and with an endpoint swapped every ${intervalMs} ms`,
          unit: 'ms',
          groups: ['p50 fixed', 'p50 churn', 'p99 fixed', 'p99 churn'],
          series: rows.map((r) => ({
            name: r.label,
            values: [
              r.fixed.latency.p50,
              r.churning.latency.p50,
              r.fixed.latency.p99,
              r.churning.latency.p99,
            ],
          })),
        },
      ],
      headline: {
        weftFailedCallsUnderChurn: w.churning.failed,
        weftSetChanges: w.churning.changes,
        weftChurnCpuRatio: round(w.churning.cpuUsPerCall / w.fixed.cpuUsPerCall, 2),
      },
      details: { options: { ...options, intervalMs }, rows },
    };
  });
}
