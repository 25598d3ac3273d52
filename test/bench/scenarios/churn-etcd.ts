/**
 * churn-etcd: `churn` with the set changing through etcd. A real etcd (test/support/etcd.ts, the
 * Debian package etcd-server) holds one key per replica under a prefix; every 100 ms one replica's
 * key is deleted and the one left out before is put back, while weft, with `etcdResolver`, takes
 * open-loop load. Beside it, the same weft client over a static resolver changed by `update()`,
 * to show what the etcd source adds. Reported: failed calls (must be 0), latency, client CPU per
 * call with churn ÷ without (the etcd row includes the bench's own writes to etcd, two small HTTP
 * calls per change, made from the same process), and how long a change takes from the delete
 * sent to etcd until the resolver publishes the new set.
 */
import type * as WeftDiscovery from '../../../src/discovery.js';
import { type Etcd, startEtcd } from '../../support/etcd.js';
import { DEFAULT_SETTINGS, weftOptions, weftSend } from '../contenders.js';
import { openLoop, type Send } from '../load.js';
import type { ScenarioResult } from '../result.js';
import { percentile, round } from '../stats.js';
import { WEFT_ROOT, weft as weftBuild } from '../weft.js';
import { type LatencySummary, pause, summarize, withReplicas } from './common.js';

/** `weft/discovery` from the same build as `weft` (dist/, or src/ for the harness's tests). */
const weftDiscovery: typeof WeftDiscovery = await import(new URL('discovery.js', WEFT_ROOT).href);

export interface ChurnEtcdOptions {
  rate: number;
  durationMs: number;
  /** Time between set changes, ms. Default 100. */
  intervalMs?: number;
}

const PREFIX = 'services/bench-churn/';

/** A weft client over a changing set: `apply` makes `addresses` its set. */
interface Changeable {
  readonly label: string;
  readonly send: Send;
  apply(addresses: readonly string[]): Promise<void>;
  /** Delays from each change's delete sent to the new set published, ms (etcd only). */
  readonly propagationMs: number[];
  close(): Promise<void>;
}

function staticContender(initial: readonly string[]): Changeable {
  const resolver = weftBuild.staticResolver(initial);
  const client = weftBuild.createHttpClient({ resolver, ...weftOptions(DEFAULT_SETTINGS) });
  return {
    label: 'weft, static resolver',
    send: weftSend(client),
    apply: async (addresses) => resolver.update(addresses),
    propagationMs: [],
    close: () => client.close(),
  };
}

async function etcdContender(
  etcd: Etcd,
  all: readonly string[],
  initial: readonly string[],
): Promise<Changeable> {
  const key = (address: string) => `${PREFIX}${all.indexOf(address)}`;
  let current = new Set(initial);
  for (const address of current) await etcd.put(key(address), JSON.stringify({ Addr: address }));
  const resolver = weftDiscovery.etcdResolver({ endpoints: [etcd.url], prefix: PREFIX });
  // A second subscriber beside the client's: when did the resolver publish the expected set?
  let expected = '';
  let writtenAt = 0;
  const propagationMs: number[] = [];
  resolver.subscribe((state) => {
    if (state.kind !== 'bound' || writtenAt === 0) return;
    const published = state.endpoints
      .map((e) => e.address)
      .sort()
      .join();
    if (published === expected) {
      propagationMs.push(performance.now() - writtenAt);
      writtenAt = 0;
    }
  });
  const client = weftBuild.createHttpClient({ resolver, ...weftOptions(DEFAULT_SETTINGS) });
  return {
    label: 'weft, etcd resolver',
    send: weftSend(client),
    async apply(addresses) {
      const next = new Set(addresses);
      const joining = [...next].filter((a) => !current.has(a));
      const leaving = [...current].filter((a) => !next.has(a));
      current = next;
      for (const address of joining) await etcd.put(key(address), JSON.stringify({ Addr: address }));
      // The set after the puts is a superset on the way: time the delete, which makes the final set.
      expected = [...next].sort().join();
      writtenAt = performance.now();
      for (const address of leaving) await etcd.delete(key(address));
    },
    propagationMs,
    close: () => client.close(),
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
  options: ChurnEtcdOptions,
  churn: boolean,
): Promise<Measured> {
  const intervalMs = options.intervalMs ?? 100;
  let step = 0;
  let changes = 0;
  let applying: Promise<void> | undefined;
  // Five replicas, four in the set at a time; at each step the one left out moves on. A step
  // whose writes are still under way when the next is due is skipped, not queued.
  const timer = churn
    ? setInterval(() => {
        if (applying !== undefined) return;
        step++;
        const out = step % addresses.length;
        applying = client
          .apply(addresses.filter((_, i) => i !== out))
          .then(() => {
            changes++;
          })
          .finally(() => {
            applying = undefined;
          });
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
    await applying;
    await client.apply(addresses.slice(0, 4));
  }
}

export async function churnEtcd(options: ChurnEtcdOptions): Promise<ScenarioResult> {
  const intervalMs = options.intervalMs ?? 100;
  const etcd = await startEtcd();
  try {
    return await withReplicas([{}, {}, {}, {}, {}], async (replicas) => {
      const addresses = replicas.addresses;
      const rows: Array<{ label: string; fixed: Measured; churning: Measured; propagationMs: number[] }> = [];
      const makers = [
        async () => staticContender(addresses.slice(0, 4)),
        () => etcdContender(etcd, addresses, addresses.slice(0, 4)),
      ];
      for (const make of makers) {
        const client = await make();
        try {
          await openLoop(client.send, { rate: options.rate, durationMs: 500 });
          const fixed = await measure(client, addresses, options, false);
          await pause(100);
          client.propagationMs.length = 0;
          const churning = await measure(client, addresses, options, true);
          rows.push({ label: client.label, fixed, churning, propagationMs: [...client.propagationMs] });
        } finally {
          await client.close();
        }
      }
      const e = rows.find((r) => r.label === 'weft, etcd resolver')!;
      const propagation = (p: number) =>
        e.propagationMs.length === 0 ? Number.NaN : round(percentile(e.propagationMs, p), 2);
      return {
        scenario: 'churn-etcd',
        summary: `5 replicas, 4 in the set, one swapped every ${intervalMs} ms through etcd (a put and a delete) or a static resolver; open loop at ${options.rate} calls/s for ${options.durationMs / 1_000} s, without and with churn`,
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
          {
            columns: ['etcd delete sent → new set published', 'changes timed', 'p50 ms', 'p99 ms', 'max ms'],
            rows: [
              ['etcd resolver', e.propagationMs.length, propagation(50), propagation(99), propagation(100)],
            ],
          },
        ],
        charts: [
          {
            kind: 'bars',
            title: `Latency without and with an endpoint swapped every ${intervalMs} ms, static vs etcd`,
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
          weftEtcdFailedCallsUnderChurn: e.churning.failed + e.fixed.failed,
          weftEtcdSetChanges: e.churning.changes,
          weftEtcdChurnCpuRatio: round(e.churning.cpuUsPerCall / e.fixed.cpuUsPerCall, 2),
          weftEtcdPropagationP50Ms: propagation(50),
        },
        details: { options: { ...options, intervalMs }, rows },
      };
    });
  } finally {
    await etcd.stop();
  }
}
