/**
 * Prometheus metrics for weft clients, into the prom-client Registry you pass (never the global
 * one unless you pass it). Metrics are registered once per registry and shared by every client
 * (label `client`), so two clients, or two copies of weft, do not clash. Counters and histograms
 * are updated from the telemetry hooks with label children cached per client, so a call costs a
 * few increments; every gauge (in-flight per endpoint, cost, balancer size, budget, breaker,
 * discovery) is read from the client at scrape time and costs nothing per call. Per-endpoint
 * labels can be switched off; an endpoint that leaves discovery is removed. docs/metrics.md
 * lists every metric and its Finagle / Linkerd counterpart.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ResponseClass } from '../core/classification.js';
import type { CallContext } from '../core/context.js';
import { ConfigError } from '../core/errors.js';
import type { Endpoint } from '../discovery/endpoint.js';
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

export const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The metrics of one registry, shared by every client attached to it. */
interface Metrics {
  requests: Counter<string>;
  requestDuration: Histogram<string>;
  inFlight: Gauge<string>;
  attempts: Counter<string>;
  attemptDuration: Histogram<string>;
  retries: Counter<string>;
  budgetExhausted: Counter<string>;
  ejections: Counter<string>;
  probes: Counter<string>;
  returns: Counter<string>;
  breakerTransitions: Counter<string>;
  throttled: Counter<string>;
  discoveryUpdates: Counter<string>;
  clients: Set<ObservedClient>;
}

const CLASSES = ['success', 'failure', 'retryable', 'ignorable'] as const;

/** Metrics into `options.registry` for every client that lists this plugin in `telemetry`. */
export function prometheusMetrics(options: PrometheusMetricsOptions): TelemetryPlugin {
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
  return {
    attach(client) {
      const metrics = metricsOf(options.registry, prefix, perEndpoint, buckets);
      metrics.clients.add(client);
      return new ClientMetrics(client, metrics, perEndpoint);
    },
  };
}

class ClientMetrics implements ClientTelemetry {
  readonly #client: ObservedClient;
  readonly #metrics: Metrics;
  readonly #perEndpoint: boolean;
  readonly #requests: Record<string, ReturnType<Counter<string>['labels']>>;
  readonly #durations: Record<string, ReturnType<Histogram<string>['labels']>>;
  readonly #inFlight: ReturnType<Gauge<string>['labels']>;
  readonly #attempts = new Map<string, Record<string, ReturnType<Counter<string>['labels']>>>();
  readonly #attemptDurations = new Map<string, ReturnType<Histogram<string>['labels']>>();

  constructor(client: ObservedClient, metrics: Metrics, perEndpoint: boolean) {
    this.#client = client;
    this.#metrics = metrics;
    this.#perEndpoint = perEndpoint;
    const name = client.name;
    this.#requests = Object.fromEntries(CLASSES.map((c) => [c, metrics.requests.labels(name, c)]));
    this.#durations = Object.fromEntries(CLASSES.map((c) => [c, metrics.requestDuration.labels(name, c)]));
    this.#inFlight = metrics.inFlight.labels(name);
  }

  callStarted(): void {
    this.#inFlight.inc();
  }

  callFinished(ctx: CallContext, failed: boolean, outcome: unknown): void {
    this.#inFlight.dec();
    const cls = callClass(ctx, failed, outcome);
    this.#requests[cls]!.inc();
    this.#durations[cls]!.observe((ctx.clock.now() - ctx.callStart) / 1000);
    if (failed && (outcome as { code?: unknown } | null)?.code === 'WEFT_OVERLOADED') {
      this.#metrics.throttled.labels(this.#client.name).inc();
    }
  }

  attemptFinished(
    ctx: CallContext,
    endpoint: Endpoint,
    failed: boolean,
    _outcome: unknown,
    durationMs: number,
  ): void {
    const key = this.#perEndpoint ? endpoint.address : '';
    let byClass = this.#attempts.get(key);
    if (byClass === undefined) {
      const name = this.#client.name;
      const labels = (c: string) => (this.#perEndpoint ? [name, key, c] : [name, c]);
      byClass = Object.fromEntries(CLASSES.map((c) => [c, this.#metrics.attempts.labels(...labels(c))]));
      this.#attempts.set(key, byClass);
      this.#attemptDurations.set(
        key,
        this.#perEndpoint
          ? this.#metrics.attemptDuration.labels(name, key)
          : this.#metrics.attemptDuration.labels(name),
      );
    }
    const cls = (ctx.classification as ResponseClass | undefined)?.kind ?? (failed ? 'failure' : 'success');
    byClass[cls]!.inc();
    this.#attemptDurations.get(key)!.observe(durationMs / 1000);
  }

  retried(_ctx: CallContext, requeue: boolean): void {
    this.#metrics.retries.labels(this.#client.name, requeue ? 'requeue' : 'retry').inc();
  }

  budgetExhausted(): void {
    this.#metrics.budgetExhausted.labels(this.#client.name).inc();
  }

  ejected(): void {
    this.#metrics.ejections.labels(this.#client.name).inc();
  }

  probed(): void {
    this.#metrics.probes.labels(this.#client.name).inc();
  }

  returned(): void {
    this.#metrics.returns.labels(this.#client.name).inc();
  }

  breakerChanged(to: string): void {
    this.#metrics.breakerTransitions.labels(this.#client.name, to).inc();
  }

  discoveryUpdated(snapshot: { kind: string }): void {
    this.#metrics.discoveryUpdates.labels(this.#client.name, snapshot.kind).inc();
  }

  endpointRemoved(address: string): void {
    if (!this.#perEndpoint) return;
    const name = this.#client.name;
    for (const c of CLASSES) this.#metrics.attempts.remove(name, address, c);
    this.#metrics.attemptDuration.remove(name, address);
    this.#attempts.delete(address);
    this.#attemptDurations.delete(address);
  }

  close(): void {
    this.#metrics.clients.delete(this.#client);
  }
}

/** The class of a whole call, as the caller got it. */
function callClass(ctx: CallContext, failed: boolean, outcome: unknown): (typeof CLASSES)[number] {
  if (!failed) {
    const kind = (ctx.classification as ResponseClass | undefined)?.kind;
    return kind === undefined || kind === 'ignorable' ? 'success' : kind;
  }
  const code = (outcome as { code?: unknown } | null)?.code;
  if (code === 'WEFT_CLIENT_CLOSED' || code === 'WEFT_CIRCUIT_OPEN' || code === 'WEFT_OVERLOADED')
    return 'ignorable';
  if (ctx.signal?.aborted && outcome === ctx.signal.reason) return 'ignorable';
  return 'failure';
}

const SHARED = Symbol.for('weft.prometheus.metrics');

/** The registry's weft metrics, created on first use and shared after that (by every copy of weft). */
function metricsOf(registry: Registry, prefix: string, perEndpoint: boolean, buckets: number[]): Metrics {
  const holder = registry as unknown as Record<symbol, Map<string, Metrics> | undefined>;
  const byPrefix = (holder[SHARED] ??= new Map());
  const existing = byPrefix.get(prefix);
  if (existing !== undefined) return existing;
  const clients = new Set<ObservedClient>();
  const registers = [registry];
  const endpointLabels = perEndpoint ? ['client', 'endpoint'] : ['client'];
  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name: prefix + name, help, labelNames, registers });
  const gauge = (name: string, help: string, labelNames: string[], read: (g: Gauge<string>) => void) =>
    new Gauge({
      name: prefix + name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        read(this);
      },
    });
  const metrics: Metrics = {
    requests: counter('requests_total', 'Logical calls, after retries, by how they ended', [
      'client',
      'class',
    ]),
    requestDuration: new Histogram({
      name: `${prefix}request_duration_seconds`,
      help: 'Logical call latency, from entering the client to the response headers or the error',
      labelNames: ['client', 'class'],
      buckets,
      registers,
    }),
    inFlight: new Gauge({
      name: `${prefix}requests_in_flight`,
      help: 'Logical calls in flight',
      labelNames: ['client'],
      registers,
    }),
    attempts: counter('attempts_total', 'Attempts sent to endpoints, by classification', [
      ...endpointLabels,
      'class',
    ]),
    attemptDuration: new Histogram({
      name: `${prefix}attempt_duration_seconds`,
      help: 'Attempt latency, from the pick to the response headers or the error',
      labelNames: endpointLabels,
      buckets,
      registers,
    }),
    retries: counter(
      'retries_total',
      'Attempts sent again: retry (maybe seen by the server) or requeue (never seen)',
      ['client', 'kind'],
    ),
    budgetExhausted: counter('retry_budget_exhausted_total', 'Retries the retry budget refused', ['client']),
    ejections: counter('ejections_total', 'Endpoints ejected by failure accrual', ['client']),
    probes: counter('probes_total', 'Probes sent to ejected endpoints', ['client']),
    returns: counter('returns_total', 'Ejected endpoints returned to service after a probe', ['client']),
    breakerTransitions: counter('breaker_transitions_total', 'Circuit breaker state changes', [
      'client',
      'to',
    ]),
    throttled: counter('throttled_total', 'Calls rejected locally by adaptive throttling', ['client']),
    discoveryUpdates: counter('discovery_updates_total', 'States published by discovery', ['client', 'kind']),
    clients,
  };
  gauge('retry_budget_balance', 'Retries the budget would allow now', ['client'], (g) => {
    for (const c of clients) g.labels(c.name).set(c.retryBudget.balance());
  });
  gauge('balancer_endpoints', 'Endpoints in the balancer, by status', ['client', 'status'], (g) => {
    for (const c of clients) {
      const counts = { open: 0, busy: 0, closed: 0 };
      for (const e of c.endpoints()) counts[e.status]++;
      for (const [status, n] of Object.entries(counts)) g.labels(c.name, status).set(n);
    }
  });
  if (perEndpoint) {
    gauge(
      'endpoint_cost',
      "The balancer's load metric per endpoint (Peak EWMA: ms × (pending + 1))",
      endpointLabels,
      (g) => {
        for (const c of clients) for (const e of c.endpoints()) g.labels(c.name, e.address).set(e.cost);
      },
    );
    gauge('endpoint_in_flight', 'Attempts in flight per endpoint', endpointLabels, (g) => {
      for (const c of clients) for (const e of c.endpoints()) g.labels(c.name, e.address).set(e.pending);
    });
    gauge(
      'endpoint_ejected',
      'Whether failure accrual has the endpoint ejected (1) or not (0)',
      endpointLabels,
      (g) => {
        for (const c of clients) {
          for (const e of c.endpoints()) g.labels(c.name, e.address).set(e.accrual?.state === 'dead' ? 1 : 0);
        }
      },
    );
  }
  gauge('breaker_state', 'Circuit breaker state: 0 closed, 1 half-open, 2 open', ['client'], (g) => {
    for (const c of clients) {
      const state = c.circuitBreaker?.state();
      if (state !== undefined) g.labels(c.name).set(state === 'closed' ? 0 : state === 'half-open' ? 1 : 2);
    }
  });
  gauge('hedges_sent', 'Backup requests sent (a running total)', ['client'], (g) => {
    for (const c of clients) if (c.hedgeStats !== undefined) g.labels(c.name).set(c.hedgeStats.sent);
  });
  gauge('hedges_won', 'Calls a backup answered first (a running total)', ['client'], (g) => {
    for (const c of clients) if (c.hedgeStats !== undefined) g.labels(c.name).set(c.hedgeStats.won);
  });
  gauge(
    'discovery_stale',
    'Whether the endpoint set in use is stale (1: discovery failing, last set kept)',
    ['client'],
    (g) => {
      for (const c of clients) g.labels(c.name).set(c.discovery().stale ? 1 : 0);
    },
  );
  byPrefix.set(prefix, metrics);
  return metrics;
}
