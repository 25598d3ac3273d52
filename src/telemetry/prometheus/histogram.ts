/**
 * A latency histogram in prom-client's buckets (upper bounds, `+Inf` last, cumulative when
 * scraped), counted on the hot path without prom-client. prom-client has a Histogram, and it is
 * not used here on purpose: every `observe(labels, value)`, and `labels(...).observe(value)`,
 * which goes through it, makes a closure, converts and validates the labels and hashes them into
 * a string key, on every call and attempt. This one is found once per series (a client's class,
 * an endpoint) and keeps its counts in a Float64Array, so an observation is a search through the
 * bounds and three additions, with no allocation. Both costs are measured side by side by the
 * micro-benchmark test/bench/micro/metrics-update.ts (`npx tsx test/bench/micro/metrics-update.ts`).
 */
import type { Labels, Sample } from './scraped-metric.js';

/** Counts of one latency distribution. */
export class LatencyHistogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  /** `bounds`: the buckets' upper bounds, in seconds, increasing. */
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += seconds;
    this.count++;
  }

  /** The samples of `name` (its `_bucket` series, `_sum` and `_count`) with `labels`, at scrape time. */
  samples(name: string, labels: Labels, out: Sample[]): void {
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      const le = i < this.bounds.length ? this.bounds[i]! : '+Inf';
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
    }
    out.push({ metricName: `${name}_sum`, labels, value: this.sum });
    out.push({ metricName: `${name}_count`, labels, value: this.count });
  }
}
