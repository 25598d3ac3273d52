/**
 * The options of `prometheusMetrics`: their type and keys, the default buckets, and the
 * validation that names a bad one (`metrics.registry`, `metrics.buckets`, ...) at construction.
 */
import type { Registry, RegistryContentType } from 'prom-client';
import { ConfigError } from '../../core/errors.js';
import { optionKeys, rejectUnknownKeys } from '../../core/options.js';

/** Options of `prometheusMetrics`: the registry to register into, and the metrics' shape. */
export interface PrometheusMetricsOptions {
  /** The prom-client Registry to register into. Required: weft never uses the global one by itself. */
  registry: Registry<RegistryContentType>;
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

/** prom-client's default buckets, plus 1 ms and 2.5 ms for calls inside a data centre, in seconds. */
export const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** {@link PrometheusMetricsOptions}, validated, with the defaults filled in. */
export interface PrometheusSettings {
  readonly registry: Registry<RegistryContentType>;
  readonly prefix: string;
  readonly perEndpoint: boolean;
  readonly buckets: readonly number[];
}

/** Validate `options` and fill in the defaults. @throws ConfigError naming the first bad option. */
export function resolvePrometheusOptions(options: PrometheusMetricsOptions): PrometheusSettings {
  if (options !== null && typeof options === 'object') {
    rejectUnknownKeys('metrics', options, PROMETHEUS_METRICS_OPTION_KEYS);
  }
  const registry = registryOption(options);
  const prefix = prefixOption(options.prefix);
  const perEndpoint = options.perEndpoint ?? true;
  const buckets = bucketsOption(options.buckets, DEFAULT_BUCKETS);
  return { registry, prefix, perEndpoint, buckets };
}

/**
 * The registry of `options` (the clients' or the servers'). @throws ConfigError naming
 * `metrics.registry` when `options` is no object or its registry is no prom-client Registry.
 */
export function registryOption(
  options: { registry?: Registry<RegistryContentType> } | null | undefined,
): Registry<RegistryContentType> {
  if (
    options === null ||
    typeof options !== 'object' ||
    typeof options.registry?.registerMetric !== 'function'
  ) {
    throw new ConfigError('metrics.registry', options?.registry, 'expected a prom-client Registry');
  }
  return options.registry;
}

/** The metric name prefix, default `weft_`. @throws ConfigError naming `metrics.prefix`. */
export function prefixOption(value: unknown): string {
  const prefix = value ?? 'weft_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new ConfigError('metrics.prefix', prefix, 'expected a Prometheus metric name prefix');
  }
  return prefix;
}

/** Histogram bounds in seconds, `fallback` when absent. @throws ConfigError naming `metrics.buckets`. */
export function bucketsOption(value: unknown, fallback: readonly number[]): readonly number[] {
  const buckets = value ?? fallback;
  if (
    !Array.isArray(buckets) ||
    buckets.length === 0 ||
    buckets.some((b, i) => !(b > 0) || (i > 0 && b <= buckets[i - 1]!))
  ) {
    throw new ConfigError('metrics.buckets', buckets, 'expected increasing numbers > 0');
  }
  return buckets;
}
