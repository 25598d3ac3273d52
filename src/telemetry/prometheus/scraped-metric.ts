/**
 * How weft's metrics plug into a prom-client Registry without prom-client's metric objects: a
 * metric in the shape `Registry.registerMetric` and `Registry.metrics()` use (name, help, type,
 * labelNames, aggregator, `get()`, `reset()`), whose `get()` reads the clients at scrape time;
 * and a table on the registry, under a global symbol, that keeps one set of metrics per prefix
 * for every client and every copy of weft. Both rely on prom-client's behaviour rather than on
 * its types (the metric is registered `as never`): these are the two places to check when
 * prom-client changes.
 */
import type { Registry, RegistryContentType } from 'prom-client';

export type Labels = Record<string, string | number>;

/** One value of a metric, as prom-client's `get()` gives it. */
export interface Sample {
  value: number;
  labels: Labels;
  /** The series' own name, for a histogram's `_bucket`, `_sum` and `_count`. */
  metricName?: string;
}

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A metric in prom-client's shape, read at scrape time. */
export class ScrapedMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
    private readonly collect: (out: Sample[]) => void,
  ) {}

  get(): { name: string; help: string; type: string; aggregator: string; values: Sample[] } {
    const values: Sample[] = [];
    this.collect(values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {}

  /** Register it; prom-client types accept only its own metric classes. */
  registerIn(registry: Registry<RegistryContentType>): void {
    registry.registerMetric(this as never);
  }
}

const SHARED = Symbol.for('weft.prometheus.metrics');

/**
 * What `registry` keeps for `prefix`, made by `create` the first time (by any copy of weft) and
 * the same object after that.
 */
export function sharedOnRegistry<T>(
  registry: Registry<RegistryContentType>,
  prefix: string,
  create: () => T,
): T {
  const holder = registry as unknown as Record<symbol, Map<string, unknown> | undefined>;
  let byPrefix = holder[SHARED];
  if (byPrefix === undefined) {
    byPrefix = new Map();
    holder[SHARED] = byPrefix;
  }
  if (byPrefix.has(prefix)) return byPrefix.get(prefix) as T;
  const shared = create();
  byPrefix.set(prefix, shared);
  return shared;
}
