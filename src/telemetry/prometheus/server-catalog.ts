/**
 * Every server metric weft publishes, as one table: name (after the prefix, all `server_...`),
 * help, type, labels, and how to read one server's samples at scrape time. The names follow the
 * client metrics (./catalog.ts, docs/metrics.md) and OpenTelemetry's HTTP server conventions
 * (`http.server.request.duration` in seconds, `http.server.active_requests`). Every series starts
 * with `server`, the server's name. `registerServerCatalog` registers the table once per registry
 * and prefix; each metric then reads every server attached to it.
 */
import type { Registry, RegistryContentType } from 'prom-client';
import { REJECTION_REASONS } from '../server-view.js';
import { type MetricType, type Sample, ScrapedMetric } from './scraped-metric.js';
import { type ServerMetrics, STATUS_CLASSES } from './server-metrics.js';

/** One metric of the table. */
interface ServerMetricSpec {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly string[];
  /** Push server `s`'s samples; `fullName` (prefix included) names a histogram's series. */
  readonly collect: (s: ServerMetrics, out: Sample[], fullName: string) => void;
}

/** One series per server, unless `read` gives undefined (the server has no such part). */
function perServer(read: (s: ServerMetrics) => number | undefined): ServerMetricSpec['collect'] {
  return (s, out) => {
    const value = read(s);
    if (value !== undefined) out.push({ labels: { ...s.labels }, value });
  };
}

/** The name of the request counter, which tells whether the table is still registered. */
export const SERVER_REQUESTS_TOTAL = 'server_requests_total';

export const SERVER_CATALOG: readonly ServerMetricSpec[] = [
  {
    name: SERVER_REQUESTS_TOTAL,
    help: 'Requests the server admitted and finished, by route and status class (0: connection closed first)',
    type: 'counter',
    labelNames: ['server', 'route', 'class'],
    collect: (s, out) => {
      for (const [route, counts] of s.routes) {
        for (let i = 0; i < STATUS_CLASSES.length; i++) {
          const value = counts.byClass[i]!;
          if (value > 0) out.push({ labels: { ...s.labels, route, class: STATUS_CLASSES[i]! }, value });
        }
      }
    },
  },
  {
    name: 'server_request_duration_seconds',
    help: 'Latency of admitted requests, from the first middleware to the end of the response',
    type: 'histogram',
    labelNames: ['server', 'route'],
    collect: (s, out, fullName) => {
      for (const [route, counts] of s.routes) counts.latency.samples(fullName, { ...s.labels, route }, out);
    },
  },
  {
    name: 'server_in_flight',
    help: 'Requests in flight on the server',
    type: 'gauge',
    labelNames: ['server'],
    collect: perServer((s) => s.server.inflight),
  },
  {
    name: 'server_rejected_total',
    help: 'Requests answered without running their handler, by reason: overload, draining, expired',
    type: 'counter',
    labelNames: ['server', 'reason'],
    collect: (s, out) => {
      for (const reason of REJECTION_REASONS) {
        const value = s.rejected[reason];
        if (value > 0) out.push({ labels: { ...s.labels, reason }, value });
      }
    },
  },
  {
    name: 'server_concurrency_limit',
    help: "The concurrency limiter's limit now; no series without a limiter",
    type: 'gauge',
    labelNames: ['server'],
    collect: perServer((s) => s.server.limit),
  },
  {
    name: 'server_draining',
    help: 'Whether the server is draining (1: new requests are nacked while in-flight ones finish)',
    type: 'gauge',
    labelNames: ['server'],
    collect: perServer((s) => (s.server.draining ? 1 : 0)),
  },
  {
    name: 'server_deadline_remaining_seconds',
    help: 'Time left on the incoming deadline of admitted requests that carried one (0: already passed)',
    type: 'histogram',
    labelNames: ['server'],
    collect: (s, out, fullName) => {
      if (s.deadlines.count > 0) s.deadlines.samples(fullName, { ...s.labels }, out);
    },
  },
];

/** Register every server metric into `registry` under `prefix`, reading `servers`. */
export function registerServerCatalog(
  registry: Registry<RegistryContentType>,
  prefix: string,
  servers: ReadonlySet<ServerMetrics>,
): void {
  for (const spec of SERVER_CATALOG) {
    const fullName = prefix + spec.name;
    new ScrapedMetric(fullName, spec.help, spec.type, spec.labelNames, (out) => {
      for (const s of servers) spec.collect(s, out, fullName);
    }).registerIn(registry);
  }
}
