/**
 * `weft/prometheus`: Prometheus metrics for weft clients (needs prom-client, a peer dependency).
 *
 * @example
 * const registry = new Registry();
 * const client = createHttpClient({ endpoints, telemetry: prometheusMetrics({ registry }) });
 */
// First: on a Node.js below the floor, fail here with a clear error, before undici loads.
import './node-check.js';

export { DEFAULT_BUCKETS, type PrometheusMetricsOptions, prometheusMetrics } from './telemetry/prometheus.js';
