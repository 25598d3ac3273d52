/**
 * Prometheus metrics for weft clients, into the prom-client Registry you pass (never the global
 * one unless you pass it). The hot path only bumps plain numbers and bucket arrays kept per
 * client, the way Finagle's stats receivers do: a prom-client label child costs 70–175 ns per
 * update here, which on every call and attempt added up to microseconds per request. At scrape
 * time each metric, a small object in prom-client's metric shape, reads every client attached to
 * the registry; gauges (in-flight, endpoint cost, balancer size, budget, breaker, discovery) are
 * read from the clients themselves then. Metrics are registered once per registry and prefix and
 * shared by every client (label `client`), so two clients or two copies of weft do not clash.
 * Per-endpoint labels can be switched off; an endpoint that leaves discovery is dropped.
 * docs/metrics.md lists every metric with its Finagle / Linkerd counterpart.
 */
import type { Registry } from 'prom-client';
import { callClassName } from '../core/call-outcome.js';
import type { ResponseClass, ResponseClassName } from '../core/classification.js';
import type { CallContext } from '../core/context.js';
import type { Endpoint } from '../core/endpoint.js';
import { ConfigError, errorCode } from '../core/errors.js';
import { optionKeys, rejectUnknownKeys } from '../core/options.js';
import type { ClientTelemetry, ObservedClient, TelemetryPlugin } from './telemetry.js';

export interface PrometheusMetricsOptions {
  /** The prom-client Registry to register into. Required: weft never uses the global one by itself. */
  registry: Registry;
  /** Prefix of every metric name. Default `weft_`. */
  prefix?: string;
  /** Label attempts and endpoint gauges with the endpoint address. Default true. */
  perEndpoint?: boolean;
  /** Histogram buckets, in seconds. Default: 1 ms to 10 s (prom-client's defaults, plus 1 ms and 2.5 ms). */
  buckets?: number[];
}

/** The keys of {@link PrometheusMetricsOptions}; any other key throws a ConfigError naming `metrics.key`. */
export const PROMETHEUS_METRICS_OPTION_KEYS = optionKeys<PrometheusMetricsOptions>({
  registry: true,
  prefix: true,
  perEndpoint: true,
  buckets: true,
});

export const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const CLASSES: readonly ResponseClassName[] = ['success', 'failure', 'retryable', 'ignorable'];
type ClassName = ResponseClassName;

/** Metrics into `options.registry` for every client that lists this plugin in `telemetry`. */
export function prometheusMetrics(options: PrometheusMetricsOptions): TelemetryPlugin {
  if (options !== null && typeof options === 'object') {
    rejectUnknownKeys('metrics', options, PROMETHEUS_METRICS_OPTION_KEYS);
  }
  if (
    options === null ||
    typeof options !== 'object' ||
    typeof options.registry?.registerMetric !== 'function'
  ) {
    throw new ConfigError('metrics.registry', options?.registry, 'expected a prom-client Registry');
  }
  const prefix = options.prefix ?? 'weft_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new ConfigError('metrics.prefix', prefix, 'expected a Prometheus metric name prefix');
  }
  const perEndpoint = options.perEndpoint ?? true;
  const buckets = options.buckets ?? DEFAULT_BUCKETS;
  if (
    !Array.isArray(buckets) ||
    buckets.length === 0 ||
    buckets.some((b, i) => !(b > 0) || (i > 0 && b <= buckets[i - 1]!))
  ) {
    throw new ConfigError('metrics.buckets', buckets, 'expected increasing numbers > 0');
  }
  return {
    attach(client) {
      const shared = sharedMetrics(options.registry, prefix);
      const metrics = new ClientMetrics(client, perEndpoint, buckets, shared.clients);
      shared.clients.add(metrics);
      return metrics;
    },
  };
}

/** Counts of one latency distribution, in prom-client's histogram buckets (upper bounds, +Inf last). */
class LatencyHistogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += seconds;
    this.count++;
  }

  samples(name: string, labels: Labels, out: Sample[]): void {
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      const le = i < this.bounds.length ? this.bounds[i]! : '+Inf';
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
    }
    out.push({ metricName: `${name}_sum`, labels, value: this.sum });
    out.push({ metricName: `${name}_count`, labels, value: this.count });
  }
}

interface EndpointCounts {
  readonly byClass: Record<ClassName, number>;
  readonly latency: LatencyHistogram;
}

/** What one client has counted; read at scrape time. */
class ClientMetrics implements ClientTelemetry {
  readonly client: ObservedClient;
  readonly perEndpoint: boolean;
  inFlight = 0;
  readonly requests: Record<ClassName, number> = { success: 0, failure: 0, retryable: 0, ignorable: 0 };
  readonly requestLatency: Record<ClassName, LatencyHistogram>;
  readonly attempts = new Map<string, EndpointCounts>();
  readonly retries = { retry: 0, requeue: 0 };
  budgetRefusals = 0;
  ejections = 0;
  probes = 0;
  returns = 0;
  throttled = 0;
  readonly breakerTransitions = new Map<string, number>();
  readonly discoveryUpdates = new Map<string, number>();
  readonly #buckets: readonly number[];
  readonly #registered: Set<ClientMetrics>;

  constructor(
    client: ObservedClient,
    perEndpoint: boolean,
    buckets: readonly number[],
    registered: Set<ClientMetrics>,
  ) {
    this.client = client;
    this.perEndpoint = perEndpoint;
    this.#buckets = buckets;
    this.#registered = registered;
    this.requestLatency = {
      success: new LatencyHistogram(buckets),
      failure: new LatencyHistogram(buckets),
      retryable: new LatencyHistogram(buckets),
      ignorable: new LatencyHistogram(buckets),
    };
  }

  callStarted(): void {
    this.inFlight++;
  }

  callFinished(ctx: CallContext, failed: boolean, outcome: unknown): void {
    this.inFlight--;
    const cls = callClassName(ctx, failed, outcome);
    this.requests[cls]++;
    // The last attempt settled just now (the balancer's reading); the clock only when there was none.
    const end = Number.isNaN(ctx.attemptEnd) ? ctx.clock.now() : ctx.attemptEnd;
    this.requestLatency[cls].observe((end - ctx.callStart) / 1000);
    if (failed && errorCode(outcome) === 'WEFT_OVERLOADED') this.throttled++;
  }

  attemptFinished(
    ctx: CallContext,
    endpoint: Endpoint,
    failed: boolean,
    _outcome: unknown,
    durationMs: number,
  ): void {
    const key = this.perEndpoint ? endpoint.address : '';
    let counts = this.attempts.get(key);
    if (counts === undefined) {
      // A late attempt to an endpoint that has left discovery must not bring its series back.
      if (this.perEndpoint && !this.client.endpoints().some((e) => e.address === key)) return;
      counts = {
        byClass: { success: 0, failure: 0, retryable: 0, ignorable: 0 },
        latency: new LatencyHistogram(this.#buckets),
      };
      this.attempts.set(key, counts);
    }
    const cls = (ctx.classification as ResponseClass | undefined)?.kind ?? (failed ? 'failure' : 'success');
    counts.byClass[cls]++;
    counts.latency.observe(durationMs / 1000);
  }

  retried(_ctx: CallContext, requeue: boolean): void {
    if (requeue) this.retries.requeue++;
    else this.retries.retry++;
  }

  budgetExhausted(): void {
    this.budgetRefusals++;
  }

  ejected(): void {
    this.ejections++;
  }

  probed(): void {
    this.probes++;
  }

  returned(): void {
    this.returns++;
  }

  breakerChanged(to: string): void {
    this.breakerTransitions.set(to, (this.breakerTransitions.get(to) ?? 0) + 1);
  }

  discoveryUpdated(snapshot: { kind: string }): void {
    this.discoveryUpdates.set(snapshot.kind, (this.discoveryUpdates.get(snapshot.kind) ?? 0) + 1);
  }

  endpointRemoved(address: string): void {
    if (this.perEndpoint) this.attempts.delete(address);
  }

  close(): void {
    this.#registered.delete(this);
  }
}

type Labels = Record<string, string | number>;
interface Sample {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** A metric in prom-client's shape (what Registry.registerMetric and metrics() use), read at scrape time. */
class ScrapedMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    readonly labelNames: readonly string[],
    private readonly collect: (out: Sample[]) => void,
  ) {}

  get(): { name: string; help: string; type: string; aggregator: string; values: Sample[] } {
    const values: Sample[] = [];
    this.collect(values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {}
}

const SHARED = Symbol.for('weft.prometheus.metrics');

/** The registry's weft metrics for `prefix`: created on first use, shared after that (by every copy of weft). */
function sharedMetrics(registry: Registry, prefix: string): { clients: Set<ClientMetrics> } {
  const holder = registry as unknown as Record<
    symbol,
    Map<string, { clients: Set<ClientMetrics> }> | undefined
  >;
  let byPrefix = holder[SHARED];
  if (byPrefix === undefined) {
    byPrefix = new Map();
    holder[SHARED] = byPrefix;
  }
  const existing = byPrefix.get(prefix);
  if (existing !== undefined) return existing;
  const clients = new Set<ClientMetrics>();
  const define = (
    name: string,
    help: string,
    type: 'counter' | 'gauge' | 'histogram',
    labelNames: string[],
    collect: (c: ClientMetrics, out: Sample[], full: string) => void,
  ) => {
    const full = prefix + name;
    registry.registerMetric(
      new ScrapedMetric(full, help, type, labelNames, (out) => {
        for (const c of clients) collect(c, out, full);
      }) as never,
    );
  };
  const perClient =
    (value: (c: ClientMetrics) => number | undefined) => (c: ClientMetrics, out: Sample[]) => {
      const v = value(c);
      if (v !== undefined) out.push({ labels: { client: c.client.name }, value: v });
    };
  define(
    'requests_total',
    'Logical calls, after retries, by how they ended',
    'counter',
    ['client', 'class'],
    (c, out) => {
      for (const cls of CLASSES)
        if (c.requests[cls] > 0)
          out.push({ labels: { client: c.client.name, class: cls }, value: c.requests[cls] });
    },
  );
  define(
    'request_duration_seconds',
    'Logical call latency, from entering the client to the response headers or the error',
    'histogram',
    ['client', 'class'],
    (c, out, full) => {
      for (const cls of CLASSES) {
        const h = c.requestLatency[cls];
        if (h.count > 0) h.samples(full, { client: c.client.name, class: cls }, out);
      }
    },
  );
  define(
    'requests_in_flight',
    'Logical calls in flight',
    'gauge',
    ['client'],
    perClient((c) => c.inFlight),
  );
  define(
    'attempts_total',
    'Attempts sent to endpoints, by classification',
    'counter',
    ['client', 'endpoint', 'class'],
    (c, out) => {
      for (const [endpoint, counts] of c.attempts) {
        for (const cls of CLASSES) {
          const value = counts.byClass[cls];
          if (value === 0) continue;
          const labels: Labels = c.perEndpoint
            ? { client: c.client.name, endpoint, class: cls }
            : { client: c.client.name, class: cls };
          out.push({ labels, value });
        }
      }
    },
  );
  define(
    'attempt_duration_seconds',
    'Attempt latency, from the pick to the response headers or the error',
    'histogram',
    ['client', 'endpoint'],
    (c, out, full) => {
      for (const [endpoint, counts] of c.attempts) {
        const labels: Labels = c.perEndpoint
          ? { client: c.client.name, endpoint }
          : { client: c.client.name };
        counts.latency.samples(full, labels, out);
      }
    },
  );
  define(
    'retries_total',
    'Attempts sent again: retry (maybe seen by the server) or requeue (never seen)',
    'counter',
    ['client', 'kind'],
    (c, out) => {
      if (c.retries.retry > 0)
        out.push({ labels: { client: c.client.name, kind: 'retry' }, value: c.retries.retry });
      if (c.retries.requeue > 0)
        out.push({ labels: { client: c.client.name, kind: 'requeue' }, value: c.retries.requeue });
    },
  );
  define(
    'retry_budget_exhausted_total',
    'Retries the retry budget refused',
    'counter',
    ['client'],
    perClient((c) => c.budgetRefusals),
  );
  define(
    'retry_budget_balance',
    'Retries the budget would allow now',
    'gauge',
    ['client'],
    perClient((c) => c.client.retryBudget.balance()),
  );
  define(
    'ejections_total',
    'Endpoints ejected by failure accrual',
    'counter',
    ['client'],
    perClient((c) => c.ejections),
  );
  define(
    'probes_total',
    'Probes sent to ejected endpoints',
    'counter',
    ['client'],
    perClient((c) => c.probes),
  );
  define(
    'returns_total',
    'Ejected endpoints returned to service after a probe',
    'counter',
    ['client'],
    perClient((c) => c.returns),
  );
  define(
    'throttled_total',
    'Calls rejected locally by adaptive throttling',
    'counter',
    ['client'],
    perClient((c) => c.throttled),
  );
  define(
    'breaker_transitions_total',
    'Circuit breaker state changes',
    'counter',
    ['client', 'to'],
    (c, out) => {
      for (const [to, n] of c.breakerTransitions)
        out.push({ labels: { client: c.client.name, to }, value: n });
    },
  );
  define(
    'breaker_state',
    'Circuit breaker state: 0 closed, 1 half-open, 2 open',
    'gauge',
    ['client'],
    perClient((c) => {
      const state = c.client.circuitBreaker?.state();
      return state === undefined ? undefined : state === 'closed' ? 0 : state === 'half-open' ? 1 : 2;
    }),
  );
  define(
    'hedges_sent_total',
    'Backup requests sent',
    'counter',
    ['client'],
    perClient((c) => c.client.hedgeStats?.sent),
  );
  define(
    'hedges_won_total',
    'Calls a backup answered first',
    'counter',
    ['client'],
    perClient((c) => c.client.hedgeStats?.won),
  );
  define(
    'balancer_endpoints',
    'Endpoints in the balancer, by status',
    'gauge',
    ['client', 'status'],
    (c, out) => {
      const counts = { open: 0, busy: 0, closed: 0 };
      for (const e of c.client.endpoints()) counts[e.status]++;
      for (const [status, n] of Object.entries(counts))
        out.push({ labels: { client: c.client.name, status }, value: n });
    },
  );
  const perEndpointGauge = (
    name: string,
    help: string,
    read: (e: ReturnType<ObservedClient['endpoints']>[number]) => number,
  ) =>
    define(name, help, 'gauge', ['client', 'endpoint'], (c, out) => {
      if (!c.perEndpoint) return;
      for (const e of c.client.endpoints())
        out.push({ labels: { client: c.client.name, endpoint: e.address }, value: read(e) });
    });
  perEndpointGauge(
    'endpoint_cost',
    "The balancer's load metric (Peak EWMA: ms × (pending + 1))",
    (e) => e.cost,
  );
  perEndpointGauge('endpoint_in_flight', 'Attempts in flight per endpoint', (e) => e.pending);
  perEndpointGauge(
    'endpoint_ejected',
    'Whether failure accrual has the endpoint ejected (1) or not (0)',
    (e) => (e.accrual?.state === 'dead' ? 1 : 0),
  );
  define(
    'discovery_updates_total',
    'States published by discovery',
    'counter',
    ['client', 'kind'],
    (c, out) => {
      for (const [kind, n] of c.discoveryUpdates)
        out.push({ labels: { client: c.client.name, kind }, value: n });
    },
  );
  define(
    'discovery_stale',
    'Whether the endpoint set in use is stale (1: discovery failing, last set kept)',
    'gauge',
    ['client'],
    perClient((c) => (c.client.discovery().stale ? 1 : 0)),
  );
  const shared = { clients };
  byPrefix.set(prefix, shared);
  return shared;
}
