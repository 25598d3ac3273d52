/**
 * `weft/prometheus`: Prometheus metrics for weft clients (needs prom-client, a peer dependency).
 *
 * @example
 * const registry = new Registry();
 * const client = createHttpClient({ endpoints, telemetry: prometheusMetrics({ registry }) });
 */
export { DEFAULT_BUCKETS, type PrometheusMetricsOptions, prometheusMetrics } from './telemetry/prometheus.js';
