/**
 * `weft/prometheus`: Prometheus metrics for weft clients and for the server half (needs
 * prom-client, a peer dependency). Both can share one registry.
 *
 * @example
 * const registry = new Registry();
 * const client = createHttpClient({ endpoints, telemetry: prometheusMetrics({ registry }) });
 * const serverMetrics = prometheusServerMetrics({ registry }); // for the server half's telemetry
 */
// First: on a Node.js below the floor, fail here with a clear error, before undici loads.
import './node-check.js';

export { DEFAULT_BUCKETS, type PrometheusMetricsOptions, prometheusMetrics } from './telemetry/prometheus.js';
export {
  type PrometheusServerMetricsOptions,
  prometheusServerMetrics,
  SERVER_DURATION_BUCKETS,
} from './telemetry/prometheus-server.js';
export type {
  ObservedServer,
  RejectionReason,
  ServerObserver,
  ServerTelemetryPlugin,
} from './telemetry/server-view.js';
