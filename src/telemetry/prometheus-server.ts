/**
 * Prometheus metrics for the server half (Express and Fastify servers that run weft's
 * middleware), into the prom-client Registry you pass, the way `prometheusMetrics` serves
 * clients (./prometheus.ts): the hooks only bump plain numbers and bucket arrays kept per server
 * and route, and each metric, a small object in prom-client's metric shape, reads every server
 * attached to the registry at scrape time; the gauges (in flight, limit, draining) are read from
 * the servers then. The metrics are registered once per registry and prefix and shared by every
 * server (label `server`), beside the client metrics on the same registry; `registry.clear()` is
 * survived the same way. A closed server's series go away. docs/metrics.md, "Server metrics".
 *
 * The parts, in ./prometheus/: server-options.ts (validation, default buckets),
 * server-metrics.ts (what a server counts), server-catalog.ts (the table of metrics).
 */
import { sharedOnRegistry } from './prometheus/scraped-metric.js';
import { registerServerCatalog, SERVER_REQUESTS_TOTAL } from './prometheus/server-catalog.js';
import { ServerMetrics } from './prometheus/server-metrics.js';
import {
  type PrometheusServerMetricsOptions,
  resolvePrometheusServerOptions,
} from './prometheus/server-options.js';
import type { ServerTelemetryPlugin } from './server-view.js';

export {
  PROMETHEUS_SERVER_METRICS_OPTION_KEYS,
  type PrometheusServerMetricsOptions,
  SERVER_DURATION_BUCKETS,
} from './prometheus/server-options.js';

/**
 * The key of the servers' shared state on a registry. The clients' is the bare prefix; a space
 * cannot occur in a prefix, so no prefix of clients ever takes the servers' key.
 */
const serversKey = (prefix: string): string => `servers ${prefix}`;

/**
 * Metrics into `options.registry` for every server that lists this plugin in its telemetry
 * (`attach` is called once per server, with the server as telemetry sees it).
 *
 * @example
 * ```ts
 * const registry = new Registry();
 * const metrics = prometheusServerMetrics({ registry });
 * // give `metrics` to the server half's middleware, and serve `await registry.metrics()`
 * ```
 * @throws ConfigError naming `metrics.registry`, `metrics.prefix`, `metrics.buckets`, or an unknown key.
 */
export function prometheusServerMetrics(options: PrometheusServerMetricsOptions): ServerTelemetryPlugin {
  const { registry, prefix, buckets } = resolvePrometheusServerOptions(options);
  return {
    attach(server) {
      // Kept on the registry as `{ servers }`, shared with the other plugins and copies of weft.
      const { servers } = sharedOnRegistry(registry, serversKey(prefix), () => {
        const attached = new Set<ServerMetrics>();
        registerServerCatalog(registry, prefix, attached);
        return { servers: attached };
      });
      // `registry.clear()` drops the metrics but not what weft keeps on the registry: register
      // them again, over the same servers, when they are gone.
      if (registry.getSingleMetric(prefix + SERVER_REQUESTS_TOTAL) === undefined) {
        registerServerCatalog(registry, prefix, servers);
      }
      const metrics = new ServerMetrics(server, buckets, servers);
      servers.add(metrics);
      return metrics;
    },
  };
}
