// The end-of-run summary: per client, the caller's view (calls, calls/s, success = final status
// 200, latency of every call), what reached the backends (attempts; retries = attempts − calls;
// the slow replica's share of attempts; probation's probes, apart), what weft did about the flaky replica (ejections) and
// the retry budget left at the end; then a one-line verdict that says what is better and what is
// not. A feature a client does not have is `null` (shown as `off`), never a made-up zero.
import type { EndpointStats } from '../../src/index.js';
import type { Backend } from './backends.js';
import { FLAKY_LABEL, SLOW_LABEL } from './backends.js';
import type { LatencyPercentiles } from './latency.js';
import type { LoadResult } from './load.js';
import { accrualLabel, percent } from './table.js';

export interface EndpointSummary {
  readonly label: string;
  readonly address: string;
  /** Attempts this backend received from the client (first tries, retries; not probation's probes). */
  readonly attempts: number;
  /** Probation's probes it received (copies marked `weft-probe`, their responses dropped). */
  readonly probes: number;
  /** Its fraction of all attempts, in [0, 1]. */
  readonly share: number;
  /** Attempts it received carrying `weft-attempt` ≥ 2. */
  readonly retries: number;
  /** 503s it answered. */
  readonly errors: number;
  /** Times failure accrual ejected it; null without failure accrual. */
  readonly ejections: number | null;
  /** Failure accrual's state at the end of the run; null without failure accrual. */
  readonly state: 'alive' | 'ejected' | 'probing' | null;
}

export interface ClientSummary {
  /** Short name of the contender: `weft` or `naive`. */
  readonly name: string;
  /** How the client was configured, in words. */
  readonly setup: string;
  /** Balancing strategy, e.g. `p2c-peak-ewma`. */
  readonly balancer: string;
  readonly elapsedMs: number;
  /** Calls completed (with or without a response). */
  readonly calls: number;
  readonly callsPerSecond: number;
  /** Calls whose final response was 200: the caller's view. */
  readonly succeeded: number;
  /** succeeded / calls, in [0, 1]. */
  readonly successRate: number;
  /** Calls whose final response was not 200, by status. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Calls that failed without a response, by error code. */
  readonly failures: Readonly<Record<string, number>>;
  /** Attempts received by the backends. */
  readonly attempts: number;
  /** attempts − calls: the extra attempts the client's retries sent. */
  readonly retries: number;
  /** Probation's probes the backends received: extra requests beside the calls, not attempts. */
  readonly probes: number;
  /** Failure accrual ejections, summed over the endpoints; null without failure accrual. */
  readonly ejections: number | null;
  /** The retry budget's balance at the end, rounded; null when the client does not retry. */
  readonly retryBudget: number | null;
  /** Latency of every call (failures included), to the end of the body. */
  readonly latencyMs: LatencyPercentiles & { readonly mean: number };
  /** The slow replica's fraction of all attempts, in [0, 1]. */
  readonly slowShare: number;
  readonly endpoints: readonly EndpointSummary[];
}

/** What the demo read from a client at the end of its run, before closing it. */
export interface ClientSnapshot {
  readonly name: string;
  readonly setup: string;
  readonly balancer: string;
  readonly endpoints: readonly EndpointStats[];
  /** `client.retryBudget.balance()`, or null when the client does not retry. */
  readonly retryBudget: number | null;
}

/** Summarize one client's run: the load's counts, the backends' counts and the client's state. */
export function summarizeClient(
  client: ClientSnapshot,
  backends: readonly Backend[],
  result: LoadResult,
): ClientSummary {
  const stats = new Map(client.endpoints.map((e) => [e.address, e]));
  const counts = backends.map((b) => b.counts(client.name));
  const attempts = counts.reduce((n, c) => n + c.attempts, 0);
  const endpoints: EndpointSummary[] = backends.map((b, i) => {
    const c = counts[i]!;
    const accrual = stats.get(b.address)?.accrual;
    return {
      label: b.label,
      address: b.address,
      attempts: c.attempts,
      share: attempts > 0 ? c.attempts / attempts : 0,
      retries: c.retries,
      probes: c.probes,
      errors: c.failures,
      ejections: accrual === undefined ? null : accrual.ejections,
      state: accrual === undefined ? null : (accrualLabel(accrual) as EndpointSummary['state']),
    };
  });
  const accrualOn = endpoints.some((e) => e.ejections !== null);
  return {
    name: client.name,
    setup: client.setup,
    balancer: client.balancer,
    elapsedMs: Math.round(result.elapsedMs),
    calls: result.completed,
    callsPerSecond: result.elapsedMs > 0 ? (result.completed * 1_000) / result.elapsedMs : 0,
    succeeded: result.ok,
    successRate: result.completed > 0 ? result.ok / result.completed : 0,
    statuses: Object.fromEntries(result.statuses),
    failures: Object.fromEntries(result.failures),
    attempts,
    retries: attempts - result.completed,
    probes: counts.reduce((n, c) => n + c.probes, 0),
    ejections: accrualOn ? endpoints.reduce((n, e) => n + (e.ejections ?? 0), 0) : null,
    retryBudget: client.retryBudget === null ? null : Math.round(client.retryBudget),
    latencyMs: { mean: result.latency.mean(), ...result.latency.percentiles() },
    slowShare: endpoints.find((e) => e.label === SLOW_LABEL)?.share ?? 0,
    endpoints,
  };
}

/** One line comparing weft's defaults with the naive client: what is better, what is not, what it cost. */
export function verdict(weft: ClientSummary, naive: ClientSummary): string {
  const parts = [
    `success ${percent(weft.successRate)} vs ${percent(naive.successRate)}` +
      ` (${better(naive.successRate - weft.successRate, 0.005)})`,
  ];
  const flaky = weft.endpoints.find((e) => e.label === FLAKY_LABEL);
  parts.push(
    `the price: ${weft.retries} retries (+${smallPercent(weft.calls > 0 ? weft.retries / weft.calls : 0)} ` +
      `attempts on the servers) and ${weft.probes} probes, ${FLAKY_LABEL} ejected ${flaky?.ejections ?? 0}x`,
  );
  parts.push(
    `${percent(weft.slowShare)} of attempts to ${SLOW_LABEL} vs ${percent(naive.slowShare)}` +
      ` (${better(weft.slowShare - naive.slowShare, 0.02)})`,
  );
  parts.push(
    `${ratio(weft.callsPerSecond, naive.callsPerSecond)} the calls/s at the same concurrency` +
      ` (${better(naive.callsPerSecond - weft.callsPerSecond, 0.1 * naive.callsPerSecond)})`,
  );
  for (const key of ['p50', 'p99', 'p999'] as const) {
    const a = weft.latencyMs[key];
    const b = naive.latencyMs[key];
    parts.push(`${key === 'p999' ? 'p99.9' : key} ${ms(a)} vs ${ms(b)} (${better(a - b, 0.2 * b)})`);
  }
  const naiveFailed = naive.calls - naive.succeeded;
  if (naiveFailed > 0) {
    parts.push(
      `naive's ${percent(naiveFailed / naive.calls)} failed calls are fast 503s, counted in its latency`,
    );
  }
  return parts.join('; ');
}

/** `better`, `worse` or `about the same` for a difference where lower is better for weft. */
function better(difference: number, tolerance: number): string {
  if (Number.isNaN(difference)) return 'n/a';
  if (difference < -tolerance) return 'better';
  if (difference > tolerance) return 'worse';
  return 'about the same';
}

/** The summary as a block of plain text. */
export function renderSummary(clients: readonly ClientSummary[], line: string): string {
  const head = [
    'client',
    'calls',
    'calls/s',
    'p50',
    'p99',
    'p99.9',
    'success',
    'retries',
    'ejections',
    'budget',
    `to ${SLOW_LABEL}`,
  ];
  const widths = [7, 7, 8, 9, 9, 9, 8, 8, 10, 7, 13];
  const row = (cells: readonly string[]) =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ')}`;
  const lines = ['summary', row(head)];
  for (const c of clients) {
    lines.push(
      row([
        c.name,
        String(c.calls),
        String(Math.round(c.callsPerSecond)),
        ms(c.latencyMs.p50),
        ms(c.latencyMs.p99),
        ms(c.latencyMs.p999),
        percent(c.successRate),
        String(c.retries),
        c.ejections === null ? 'off' : String(c.ejections),
        c.retryBudget === null ? 'off' : String(c.retryBudget),
        percent(c.slowShare),
      ]),
    );
  }
  lines.push(
    '  success: final status 200, as the caller sees it; latency: every call, failures included',
    '  retries: attempts the backends received − calls; ejections: failure accrual, all endpoints;',
    `  budget: retries the retry budget still allows at the end; to ${SLOW_LABEL}: its share of attempts`,
  );
  lines.push(`verdict: ${line}`);
  return lines.join('\n');
}

/** Like {@link percent}, but a small non-zero share reads `<0.1%`, not `0.0%`. */
function smallPercent(share: number): string {
  return share > 0 && share < 0.001 ? '<0.1%' : percent(share);
}

function ms(value: number): string {
  return Number.isNaN(value) ? '-' : `${value.toFixed(1)} ms`;
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(1)}x` : 'n/a';
}
