// The demo's core, callable from tests: start the four backends, run weft with its defaults and
// then a naive round-robin client (no retries, no failure accrual) against them under the same
// load, print a live table per second and a summary (or one JSON object), close every client and
// server, and return the summary. While it runs, weft's admin page shows the client under load on
// loopback (its address is printed first; not in JSON mode).
import {
  type AdminServer,
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
  roundRobin,
  startAdminServer,
} from '../../src/index.js';
import { type Backend, startBackends } from './backends.js';
import { runLoad } from './load.js';
import { type ClientSummary, renderSummary, summarizeClient, verdict } from './summary.js';
import { renderTable, retries } from './table.js';

/** One client of the comparison. */
interface Contender {
  /** Short name, also the run tag the backends count by. */
  readonly name: string;
  /** Its setup in words, printed in the header and kept in the summary. */
  readonly setup: string;
  /** Options on top of `endpoints` and `name`. */
  readonly options: () => Omit<HttpClientOptions, 'endpoints' | 'resolver' | 'name'>;
}

/** weft as it ships, against the same client with the resilience switched off. */
const CONTENDERS: readonly Contender[] = [
  {
    name: 'weft',
    setup:
      'createHttpClient defaults: P2C Peak EWMA, retries (up to 3 attempts) under a retry budget, failure accrual',
    options: () => ({}),
  },
  {
    name: 'naive',
    setup:
      'round robin without retries or failure accrual: { balancer: roundRobin(), retry: false, failureAccrual: false }',
    options: () => ({ balancer: roundRobin(), retry: false, failureAccrual: false }),
  },
];

/** Defaults of {@link runDemo}: about 20 s in all. */
export const DEMO_DEFAULTS = {
  durationMs: 10_000,
  concurrency: 16,
  maxRequests: 200_000,
  tickMs: 1_000,
  warmupMs: 500,
} as const;

export interface DemoOptions {
  /** Load time per client, in ms. Default 10 000. */
  durationMs?: number;
  /** Concurrent request loops. Default 16. */
  concurrency?: number;
  /** Request cap per client. Default 200 000. */
  maxRequests?: number;
  /** Print one JSON object at the end instead of tables. Default false. */
  json?: boolean;
  /** Where text goes. Default console.log. */
  log?: (text: string) => void;
  /** Colour the tables (only for a TTY). Default false. */
  color?: boolean;
  /** Serve weft's admin page on 127.0.0.1 (any free port) while the demo runs; never with `json`. Default true. */
  admin?: boolean;
  /** Interval of the live table, in ms. Default 1 000. */
  tickMs?: number;
  /**
   * Uncounted load before the measured runs, in ms (0: none). Default 500. A cold process pays
   * for JIT and lazy loading on its first calls (~100 ms spikes here), and Peak EWMA keeps a peak
   * for about τ = 10 s, so without it the first client measured would carry the process's start.
   */
  warmupMs?: number;
}

export interface DemoSummary {
  readonly durationMs: number;
  readonly concurrency: number;
  readonly maxRequests: number;
  /** weft with its defaults first, then the naive round-robin client. */
  readonly clients: readonly ClientSummary[];
  readonly verdict: string;
  /** Checked after shutdown: every client has no endpoint left and no server listens. */
  readonly closed: { readonly clients: boolean; readonly servers: boolean };
}

/** Run the whole demo and return its summary. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const durationMs = options.durationMs ?? DEMO_DEFAULTS.durationMs;
  const concurrency = options.concurrency ?? DEMO_DEFAULTS.concurrency;
  const maxRequests = options.maxRequests ?? DEMO_DEFAULTS.maxRequests;
  const log = options.log ?? console.log;
  const json = options.json ?? false;
  const backends = await startBackends();
  const clients: ClientSummary[] = [];
  // The clients running now, as the admin page shows them.
  const live = new Set<HttpClient>();
  let admin: AdminServer | undefined;
  let clientsClosed = true;
  try {
    if (!json && (options.admin ?? true)) {
      admin = await startAdminServer({ clients: () => [...live] });
      log(
        `admin page: ${admin.url}  (live endpoint state while the demo runs; JSON at ${admin.url}state.json)`,
      );
    }
    if (!json) {
      log('contenders, one after the other, same backends, same load:');
      for (const c of CONTENDERS) log(`  ${c.name.padEnd(5)}  ${c.setup}`);
      log("  (weft's defaults against a client with them off: this shows what the defaults buy)");
      log(`backends: ${backends.map((b) => `${b.label}=${b.address}`).join('  ')}`);
      log(
        `load: ${concurrency} concurrent loops, ${durationMs / 1_000} s per client, cap ${maxRequests} calls`,
      );
    }
    const warmupMs = options.warmupMs ?? DEMO_DEFAULTS.warmupMs;
    if (warmupMs > 0) {
      if (!json) log(`warm-up: ${warmupMs / 1_000} s with a throwaway client, not counted`);
      await warmUp(backends, warmupMs, concurrency, live);
    }
    for (const contender of CONTENDERS) {
      const run = await runClient(contender, backends, live, {
        ...options,
        durationMs,
        concurrency,
        maxRequests,
      });
      clients.push(run.summary);
      clientsClosed &&= run.closed;
    }
  } finally {
    await Promise.all([admin?.close(), ...backends.map((b) => b.close())]);
  }
  const [weft, naive] = clients as [ClientSummary, ClientSummary];
  const summary: DemoSummary = {
    durationMs,
    concurrency,
    maxRequests,
    clients,
    verdict: verdict(weft, naive),
    closed: { clients: clientsClosed, servers: backends.every((b) => !b.listening) },
  };
  log(json ? JSON.stringify(summary, roundNumbers) : `\n${renderSummary(clients, summary.verdict)}`);
  return summary;
}

async function runClient(
  contender: Contender,
  backends: readonly Backend[],
  live: Set<HttpClient>,
  options: DemoOptions & { durationMs: number; concurrency: number; maxRequests: number },
): Promise<{ summary: ClientSummary; closed: boolean }> {
  const log = options.log ?? console.log;
  const color = options.color ?? false;
  const client = createHttpClient({
    ...contender.options(),
    name: `demo-${contender.name}`,
    endpoints: backends.map((b) => b.address),
  });
  live.add(client);
  let summary: ClientSummary;
  try {
    if (!options.json) log(`\n== ${contender.name} (${client.strategy}): ${options.durationMs / 1_000} s ==`);
    const result = await runLoad(client, {
      run: contender.name,
      durationMs: options.durationMs,
      concurrency: options.concurrency,
      maxRequests: options.maxRequests,
      tickMs: options.tickMs ?? DEMO_DEFAULTS.tickMs,
      onTick: options.json
        ? undefined
        : (progress) => log(renderTable(client, contender.name, backends, progress, color)),
    });
    if (!options.json) log(renderTable(client, contender.name, backends, result, color, 'final'));
    // Read before close: a closed client has no endpoints left.
    summary = summarizeClient(
      {
        name: contender.name,
        setup: contender.setup,
        balancer: client.strategy,
        endpoints: client.endpoints(),
        retryBudget: retries(client) ? client.retryBudget.balance() : null,
      },
      backends,
      result,
    );
  } finally {
    live.delete(client);
    await client.close();
  }
  // A closed client has dropped every endpoint (and with them their undici pools).
  return { summary, closed: client.endpoints().length === 0 };
}

/** Run uncounted load through a throwaway client, then close it. */
async function warmUp(
  backends: readonly Backend[],
  durationMs: number,
  concurrency: number,
  live: Set<HttpClient>,
): Promise<void> {
  const client = createHttpClient({ name: 'demo-warm-up', endpoints: backends.map((b) => b.address) });
  live.add(client);
  try {
    await runLoad(client, { run: 'warm-up', durationMs, concurrency, maxRequests: Number.POSITIVE_INFINITY });
  } finally {
    live.delete(client);
    await client.close();
  }
}

/** JSON replacer: fractions to 4 decimals so the output stays readable. */
function roundNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1e4) / 1e4 : value;
}
