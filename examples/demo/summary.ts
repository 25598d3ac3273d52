// The end-of-run summary: per client throughput, mean/p50/p99/p99.9 latency, success rate, the
// slow replica's share of traffic, and a one-line verdict comparing the two balancers. Retries and
// ejections have their place here but stay `null` until weft has them (no faked numbers).
import type { Backend } from './backends.js';
import { SLOW_LABEL } from './backends.js';
import type { LatencyPercentiles } from './latency.js';
import type { LoadResult } from './load.js';
import { percent } from './table.js';

export interface EndpointSummary {
  readonly label: string;
  readonly address: string;
  /** Responses from this backend. */
  readonly requests: number;
  /** Its fraction of all responses, in [0, 1]. */
  readonly share: number;
  /** Non-2xx responses from it. */
  readonly errors: number;
}

export interface ClientSummary {
  /** Balancing strategy, e.g. `p2c-peak-ewma`. */
  readonly balancer: string;
  readonly elapsedMs: number;
  /** Calls completed (with or without a response). */
  readonly calls: number;
  readonly callsPerSecond: number;
  /** Calls answered 2xx. */
  readonly succeeded: number;
  /** Non-2xx responses plus calls without a response. */
  readonly errors: number;
  /** succeeded / calls, in [0, 1]. */
  readonly successRate: number;
  /** Latency of every call (errors included), to the end of the body. */
  readonly latencyMs: LatencyPercentiles & { readonly mean: number };
  /** The slow replica's fraction of all responses, in [0, 1]. */
  readonly slowShare: number;
  readonly endpoints: readonly EndpointSummary[];
  /** Calls that failed without a response, by error code. */
  readonly failures: Readonly<Record<string, number>>;
  /** Retries made: null until weft has retries. */
  readonly retries: number | null;
  /** Endpoint ejections: null until weft has failure accrual. */
  readonly ejections: number | null;
}

/** Summarize one client's run. */
export function summarizeClient(
  balancer: string,
  backends: readonly Backend[],
  result: LoadResult,
): ClientSummary {
  let responses = 0;
  let httpErrors = 0;
  for (const tally of result.tallies.values()) {
    responses += tally.requests;
    httpErrors += tally.errors;
  }
  let failed = 0;
  for (const n of result.failures.values()) failed += n;
  const endpoints = backends.map((b) => {
    const tally = result.tallies.get(b.label) ?? { requests: 0, errors: 0 };
    return {
      label: b.label,
      address: b.address,
      requests: tally.requests,
      share: responses > 0 ? tally.requests / responses : 0,
      errors: tally.errors,
    };
  });
  const succeeded = responses - httpErrors;
  return {
    balancer,
    elapsedMs: Math.round(result.elapsedMs),
    calls: result.completed,
    callsPerSecond: result.elapsedMs > 0 ? (result.completed * 1_000) / result.elapsedMs : 0,
    succeeded,
    errors: httpErrors + failed,
    successRate: result.completed > 0 ? succeeded / result.completed : 0,
    latencyMs: { mean: result.latency.mean(), ...result.latency.percentiles() },
    slowShare: endpoints.find((e) => e.label === SLOW_LABEL)?.share ?? 0,
    endpoints,
    failures: Object.fromEntries(result.failures),
    retries: null,
    ejections: null,
  };
}

/** One line comparing weft (P2C Peak EWMA) with the round-robin baseline; says so when weft is not better. */
export function verdict(weft: ClientSummary, baseline: ClientSummary): string {
  const parts = [
    `${weft.balancer} sent ${percent(weft.slowShare)} of calls to ${SLOW_LABEL} ` +
      `(${baseline.balancer} ${percent(baseline.slowShare)})`,
    `${ratio(weft.callsPerSecond, baseline.callsPerSecond)} the throughput at the same concurrency`,
    `mean ${ms(weft.latencyMs.mean)} vs ${ms(baseline.latencyMs.mean)}`,
  ];
  if (weft.latencyMs.p99 < 0.8 * baseline.latencyMs.p99) {
    parts.push(`p99 ${ms(weft.latencyMs.p99)} vs ${ms(baseline.latencyMs.p99)}`);
  } else {
    parts.push(
      `p99 not better (${ms(weft.latencyMs.p99)} vs ${ms(baseline.latencyMs.p99)}: ` +
        `${percent(weft.slowShare)} of calls still hit ${SLOW_LABEL})`,
    );
  }
  parts.push(
    `success ${percent(weft.successRate)} vs ${percent(baseline.successRate)} (503s not retried yet)`,
  );
  return parts.join('; ');
}

/** The summary as a block of plain text. */
export function renderSummary(clients: readonly ClientSummary[], line: string): string {
  const head = ['balancer', 'calls/s', 'mean', 'p50', 'p99', 'p99.9', 'success', `to ${SLOW_LABEL}`];
  const widths = [15, 8, 9, 9, 9, 9, 8, 13, 8, 10];
  const row = (cells: readonly string[]) =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ')}`;
  const lines = ['summary', row([...head, 'retries', 'ejections'])];
  for (const c of clients) {
    lines.push(
      row([
        c.balancer,
        String(Math.round(c.callsPerSecond)),
        ms(c.latencyMs.mean),
        ms(c.latencyMs.p50),
        ms(c.latencyMs.p99),
        ms(c.latencyMs.p999),
        percent(c.successRate),
        percent(c.slowShare),
        c.retries === null ? 'n/a' : String(c.retries),
        c.ejections === null ? 'n/a' : String(c.ejections),
      ]),
    );
  }
  lines.push('  retries, ejections: n/a until weft has them; a 503 counts as an error');
  lines.push(`verdict: ${line}`);
  return lines.join('\n');
}

function ms(value: number): string {
  return Number.isNaN(value) ? '-' : `${value.toFixed(1)} ms`;
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(1)}x` : 'n/a';
}
