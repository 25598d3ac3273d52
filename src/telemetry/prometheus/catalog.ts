/**
 * Every metric weft publishes, as one table: name (after the prefix), help, type, labels, and how
 * to read one client's samples at scrape time. docs/metrics.md lists the same metrics with their
 * Finagle and Linkerd counterparts. Every series starts with the client's own labels (`client`,
 * and `protocol="grpc"` for a gRPC client); a gRPC client's calls and attempts have more
 * (./grpc-metrics.ts). `registerCatalog` registers the table once per registry and
 * prefix; each metric then reads every client attached to it.
 */
import type { Registry, RegistryContentType } from 'prom-client';
import type { ObservedClient } from '../../client/telemetry.js';
import { discoverySourcesOf } from '../../discovery/endpoint-set.js';
import type { SourceStatus } from '../../discovery/source-status.js';
import { CLASSES, type ClientMetrics } from './client-metrics.js';
import {
  GrpcClientMetrics,
  grpcAttemptSamples,
  grpcRequestLatencySamples,
  grpcRequestSamples,
} from './grpc-metrics.js';
import { type Labels, type MetricType, type Sample, ScrapedMetric } from './scraped-metric.js';

/** One metric of the table. */
interface MetricSpec {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  /** Every label a series may have (an HTTP client's have neither `protocol` nor the `grpc_` ones). */
  readonly labelNames: readonly string[];
  /** Push client `c`'s samples; `fullName` (prefix included) names a histogram's series. */
  readonly collect: (c: ClientMetrics, out: Sample[], fullName: string) => void;
}

type ObservedEndpoint = ReturnType<ObservedClient['endpoints']>[number];

/** One series per client, unless `read` gives undefined (the client has no such part). */
function perClient(read: (c: ClientMetrics) => number | undefined): MetricSpec['collect'] {
  return (c, out) => {
    const value = read(c);
    if (value !== undefined) out.push({ labels: { ...c.labels }, value });
  };
}

/** One series per value of `label` that has been counted (a count of 0 has none). */
function countsBy(
  label: string,
  read: (c: ClientMetrics) => Iterable<readonly [string, number]>,
): MetricSpec['collect'] {
  return (c, out) => {
    for (const [value, n] of read(c)) {
      if (n > 0) out.push({ labels: { ...c.labels, [label]: value }, value: n });
    }
  };
}

/** A gauge per endpoint in the balancer; none when per-endpoint labels are off. */
function perEndpointGauge(name: string, help: string, read: (e: ObservedEndpoint) => number): MetricSpec {
  return {
    name,
    help,
    type: 'gauge',
    labelNames: ['client', 'protocol', 'endpoint'],
    collect: (c, out) => {
      if (!c.perEndpoint) return;
      for (const e of c.client.endpoints())
        out.push({ labels: { ...c.labels, endpoint: e.address }, value: read(e) });
    },
  };
}

/** The labels of an endpoint's series: without `endpoint` when per-endpoint labels are off. */
function endpointLabels(c: ClientMetrics, endpoint: string, extra?: Labels): Labels {
  const labels: Labels = c.perEndpoint ? { ...c.labels, endpoint } : { ...c.labels };
  return extra === undefined ? labels : { ...labels, ...extra };
}

/**
 * A series per discovery source of the client (label `source`: its description): one for a lone
 * resolver, one per source of a fallback resolver. Read from the statuses discovery keeps
 * (src/discovery/source-status.ts), whose times are on their own clock (`readAt`).
 */
function perSource(
  name: string,
  help: string,
  type: MetricType,
  read: (s: SourceStatus) => number,
): MetricSpec {
  return {
    name,
    help,
    type,
    labelNames: ['client', 'protocol', 'source'],
    collect: (c, out) => {
      for (const s of discoverySourcesOf(c.client.discovery()) ?? [])
        out.push({ labels: { ...c.labels, source: s.description }, value: read(s) });
    },
  };
}

/** `weft_requests_total` of an HTTP client: by class. */
const httpRequests = countsBy('class', (c) => CLASSES.map((cls) => [cls, c.requests[cls]] as const));

const BREAKER_STATE = { closed: 0, 'half-open': 1, open: 2 } as const;

export const CATALOG: readonly MetricSpec[] = [
  {
    name: 'requests_total',
    help: 'Logical calls, after retries, by how they ended',
    type: 'counter',
    labelNames: ['client', 'protocol', 'class', 'grpc_service', 'grpc_method', 'grpc_code'],
    collect: (c, out, fullName) =>
      c instanceof GrpcClientMetrics ? grpcRequestSamples(c, out) : httpRequests(c, out, fullName),
  },
  {
    name: 'request_duration_seconds',
    help: 'Logical call latency, from entering the client to the response headers or the error',
    type: 'histogram',
    labelNames: ['client', 'protocol', 'class', 'grpc_service', 'grpc_method'],
    collect: (c, out, fullName) => {
      if (c instanceof GrpcClientMetrics) {
        grpcRequestLatencySamples(c, fullName, out);
        return;
      }
      for (const cls of CLASSES) {
        const h = c.requestLatency[cls];
        if (h.count > 0) h.samples(fullName, { ...c.labels, class: cls }, out);
      }
    },
  },
  {
    name: 'requests_in_flight',
    help: 'Logical calls in flight',
    type: 'gauge',
    labelNames: ['client', 'protocol'],
    collect: perClient((c) => c.inFlight),
  },
  {
    name: 'attempts_total',
    help: 'Attempts sent to endpoints, by classification',
    type: 'counter',
    labelNames: ['client', 'protocol', 'endpoint', 'class', 'grpc_code'],
    collect: (c, out) => {
      if (c instanceof GrpcClientMetrics) {
        grpcAttemptSamples(c, (endpoint) => endpointLabels(c, endpoint), out);
        return;
      }
      for (const [endpoint, counts] of c.attempts) {
        for (const cls of CLASSES) {
          const value = counts.byClass[cls];
          if (value > 0) out.push({ labels: endpointLabels(c, endpoint, { class: cls }), value });
        }
      }
    },
  },
  {
    name: 'attempt_duration_seconds',
    help: 'Attempt latency, from the pick to the response headers or the error',
    type: 'histogram',
    labelNames: ['client', 'protocol', 'endpoint'],
    collect: (c, out, fullName) => {
      for (const [endpoint, counts] of c.attempts)
        counts.latency.samples(fullName, endpointLabels(c, endpoint), out);
    },
  },
  {
    name: 'retries_total',
    help: 'Attempts sent again: retry (maybe seen by the server) or requeue (never seen)',
    type: 'counter',
    labelNames: ['client', 'protocol', 'kind'],
    collect: countsBy('kind', (c) => Object.entries(c.retries)),
  },
  {
    name: 'retry_budget_exhausted_total',
    help: 'Retries the retry budget refused',
    type: 'counter',
    labelNames: ['client', 'protocol'],
    collect: perClient((c) => c.budgetRefusals),
  },
  {
    name: 'retry_budget_balance',
    help: 'Retries the budget would allow now',
    type: 'gauge',
    labelNames: ['client', 'protocol'],
    collect: perClient((c) => c.client.retryBudget.balance()),
  },
  {
    name: 'ejections_total',
    help: 'Endpoints ejected by failure accrual',
    type: 'counter',
    labelNames: ['client', 'protocol'],
    collect: perClient((c) => c.ejections),
  },
  {
    name: 'probes_total',
    help: 'Probes sent to ejected endpoints',
    type: 'counter',
    labelNames: ['client', 'protocol'],
    collect: perClient((c) => c.probes),
  },
  {
    name: 'returns_total',
    help: 'Ejected endpoints returned to service after a probe',
    type: 'counter',
    labelNames: ['client', 'protocol'],
    collect: perClient((c) => c.returns),
  },
  {
    name: 'throttled_total',
    help: 'Calls rejected locally by adaptive throttling',
    type: 'counter',
    labelNames: ['client', 'protocol'],
    collect: perClient((c) => c.throttled),
  },
  {
    name: 'breaker_transitions_total',
    help: 'Circuit breaker state changes',
    type: 'counter',
    labelNames: ['client', 'protocol', 'to'],
    collect: countsBy('to', (c) => c.breakerTransitions),
  },
  {
    name: 'breaker_state',
    help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
    type: 'gauge',
    labelNames: ['client', 'protocol'],
    collect: perClient((c) => {
      const state = c.client.circuitBreaker?.state();
      return state === undefined ? undefined : BREAKER_STATE[state];
    }),
  },
  {
    name: 'hedges_sent_total',
    help: 'Backup requests sent',
    type: 'counter',
    labelNames: ['client', 'protocol'],
    collect: perClient((c) => c.client.hedgeStats?.sent),
  },
  {
    name: 'hedges_won_total',
    help: 'Calls a backup answered first',
    type: 'counter',
    labelNames: ['client', 'protocol'],
    collect: perClient((c) => c.client.hedgeStats?.won),
  },
  {
    name: 'balancer_endpoints',
    help: 'Endpoints in the balancer, by status',
    type: 'gauge',
    labelNames: ['client', 'protocol', 'status'],
    collect: (c, out) => {
      const counts = { open: 0, busy: 0, closed: 0 };
      for (const e of c.client.endpoints()) counts[e.status]++;
      for (const [status, n] of Object.entries(counts))
        out.push({ labels: { ...c.labels, status }, value: n });
    },
  },
  perEndpointGauge(
    'endpoint_cost',
    "The balancer's load metric (Peak EWMA: ms × (pending + 1))",
    (e) => e.cost,
  ),
  perEndpointGauge('endpoint_in_flight', 'Attempts in flight per endpoint', (e) => e.pending),
  perEndpointGauge(
    'endpoint_ejected',
    'Whether failure accrual has the endpoint ejected (1) or not (0)',
    (e) => (e.accrual?.state === 'dead' ? 1 : 0),
  ),
  {
    name: 'discovery_updates_total',
    help: 'States published by discovery',
    type: 'counter',
    labelNames: ['client', 'protocol', 'kind'],
    collect: countsBy('kind', (c) => c.discoveryUpdates),
  },
  {
    name: 'discovery_stale',
    help: 'Whether the endpoint set in use is stale (1: discovery failing, last set kept)',
    type: 'gauge',
    labelNames: ['client', 'protocol'],
    collect: perClient((c) => (c.client.discovery().stale ? 1 : 0)),
  },
  perSource(
    'discovery_source_updates_total',
    'States each discovery source published, repeats included',
    'counter',
    (s) => s.updates,
  ),
  perSource(
    'discovery_source_errors_total',
    'Failed states each discovery source published (it could not be asked)',
    'counter',
    (s) => s.errors,
  ),
  perSource(
    'discovery_source_stale_seconds',
    'Seconds since the source last confirmed the set it keeps, while that set is stale (the source failed or answered empty); 0 while fresh',
    'gauge',
    (s) => (s.stale && s.confirmedAt !== undefined ? (s.readAt - s.confirmedAt) / 1000 : 0),
  ),
  perSource(
    'discovery_serving',
    "Whether the client's endpoints come from this source (1) or not (0)",
    'gauge',
    (s) => (s.serving ? 1 : 0),
  ),
  perSource(
    'discovery_serving_seconds',
    'Seconds since the source began serving; 0 while it does not serve',
    'gauge',
    (s) => (s.servingSince !== undefined ? (s.readAt - s.servingSince) / 1000 : 0),
  ),
];

/** Register every metric of the table into `registry` under `prefix`, reading `clients`. */
export function registerCatalog(
  registry: Registry<RegistryContentType>,
  prefix: string,
  clients: ReadonlySet<ClientMetrics>,
): void {
  for (const spec of CATALOG) {
    const fullName = prefix + spec.name;
    new ScrapedMetric(fullName, spec.help, spec.type, spec.labelNames, (out) => {
      for (const c of clients) spec.collect(c, out, fullName);
    }).registerIn(registry);
  }
}
