/**
 * The options of `prometheusServerMetrics`: their type and keys, the default buckets (OTel's
 * advised buckets for HTTP server durations), and the validation that names a bad one
 * (`metrics.registry`, `metrics.buckets`, ...) at construction, as the clients' options do.
 */
import type { Registry, RegistryContentType } from 'prom-client';
import { optionKeys, rejectUnknownKeys } from '../../core/options.js';
import { bucketsOption, prefixOption, registryOption } from './options.js';

/** Options of `prometheusServerMetrics`: the registry to register into, and the metrics' shape. */
export interface PrometheusServerMetricsOptions {
  /** The prom-client Registry to register into. Required: weft never uses the global one by itself. */
  registry: Registry<RegistryContentType>;
  /** Prefix of every metric name (then `server_...`). Default `weft_`. */
  prefix?: string;
  /**
   * Bounds of both histograms (request duration, incoming deadline), in seconds. Default
   * {@link SERVER_DURATION_BUCKETS}.
   */
  buckets?: number[];
}

/** The keys of {@link PrometheusServerMetricsOptions}; any other key throws a ConfigError naming `metrics.key`. */
export const PROMETHEUS_SERVER_METRICS_OPTION_KEYS = optionKeys<PrometheusServerMetricsOptions>({
  registry: true,
  prefix: true,
  buckets: true,
});

/**
 * OpenTelemetry's advised bucket boundaries for `http.server.request.duration`, in seconds
 * (semantic conventions, "Metric: http.server.request.duration":
 * https://opentelemetry.io/docs/specs/semconv/http/http-metrics/). The same bounds serve the
 * incoming-deadline histogram, so a route's latency and the budget its callers gave it compare
 * bucket by bucket.
 */
export const SERVER_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** {@link PrometheusServerMetricsOptions}, validated, with the defaults filled in. */
export interface PrometheusServerSettings {
  readonly registry: Registry<RegistryContentType>;
  readonly prefix: string;
  readonly buckets: readonly number[];
}

/** Validate `options` and fill in the defaults. @throws ConfigError naming the first bad option. */
export function resolvePrometheusServerOptions(
  options: PrometheusServerMetricsOptions,
): PrometheusServerSettings {
  if (options !== null && typeof options === 'object') {
    rejectUnknownKeys('metrics', options, PROMETHEUS_SERVER_METRICS_OPTION_KEYS);
  }
  const registry = registryOption(options);
  return {
    registry,
    prefix: prefixOption(options.prefix),
    buckets: bucketsOption(options.buckets, SERVER_DURATION_BUCKETS),
  };
}
