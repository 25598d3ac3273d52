/**
 * Prometheus metrics for weft clients, into the prom-client Registry you pass (never the global
 * one unless you pass it). The hot path only bumps plain numbers and bucket arrays kept per
 * client, the way Finagle's stats receivers do, never a prom-client metric or label child (why:
 * ./prometheus/histogram.ts). At scrape time each metric, a small object in prom-client's metric
 * shape, reads every client attached to the registry; gauges (in-flight, endpoint cost, balancer
 * size, budget, breaker, discovery) are read from the clients themselves then. Metrics are
 * registered once per registry and prefix and shared by every client (label `client`), so two
 * clients or two copies of weft do not clash. Per-endpoint labels can be switched off; an
 * endpoint that leaves discovery is dropped. A gRPC client's series carry `protocol="grpc"`, and
 * its calls and attempts their method and status code (./prometheus/grpc-metrics.ts); an HTTP
 * client's keep their labels. docs/metrics.md lists every metric with its Finagle / Linkerd
 * counterpart.
 *
 * The parts, in ./prometheus/: options.ts (validation), client-metrics.ts (what a client
 * counts), grpc-metrics.ts (what a gRPC client counts besides), histogram.ts, catalog.ts (the
 * table of metrics), scraped-metric.ts (the prom-client shape and the registry's side table).
 */

import type { TelemetryPlugin } from '../client/telemetry.js';
import { GRPC_SCHEME } from './grpc-shapes.js';
import { registerCatalog } from './prometheus/catalog.js';
import { ClientMetrics } from './prometheus/client-metrics.js';
import { GrpcClientMetrics } from './prometheus/grpc-metrics.js';
import { type PrometheusMetricsOptions, resolvePrometheusOptions } from './prometheus/options.js';
import { sharedOnRegistry } from './prometheus/scraped-metric.js';

export {
  DEFAULT_BUCKETS,
  PROMETHEUS_METRICS_OPTION_KEYS,
  type PrometheusMetricsOptions,
} from './prometheus/options.js';

/** Metrics into `options.registry` for every client that lists this plugin in `telemetry`. */
export function prometheusMetrics(options: PrometheusMetricsOptions): TelemetryPlugin {
  const { registry, prefix, perEndpoint, buckets } = resolvePrometheusOptions(options);
  return {
    attach(client, info) {
      // The shape kept on the registry, `{ clients }`, is shared with other copies of weft.
      const { clients } = sharedOnRegistry(registry, prefix, () => {
        const attached = new Set<ClientMetrics>();
        registerCatalog(registry, prefix, attached);
        return { clients: attached };
      });
      // `registry.clear()` drops the metrics but not what weft keeps on the registry: register
      // them again, over the same clients, when they are gone.
      if (registry.getSingleMetric(`${prefix}requests_total`) === undefined) {
        registerCatalog(registry, prefix, clients);
      }
      const metrics =
        info?.scheme === GRPC_SCHEME
          ? new GrpcClientMetrics(client, perEndpoint, buckets, clients, {
              client: client.name,
              protocol: GRPC_SCHEME,
            })
          : new ClientMetrics(client, perEndpoint, buckets, clients);
      clients.add(metrics);
      return metrics;
    },
  };
}
