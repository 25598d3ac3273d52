/**
 * What one client has counted for Prometheus: the ClientTelemetry hooks, each a few additions to
 * plain numbers and histograms kept per client (the way Finagle's stats receivers count), read by
 * the catalogue (./catalog.ts) at scrape time. A call's `class` label comes from
 * src/core/call-outcome.ts, the rule the circuit breaker and adaptive throttling use too. A gRPC
 * client counts more (its methods and status codes): ./grpc-metrics.ts.
 */

import type { ClientTelemetry, ObservedClient } from '../../client/telemetry.js';
import type { CallInfo } from '../../core/call-info.js';
import { callClassName } from '../../core/call-outcome.js';
import { attemptClassName, type ResponseClassName } from '../../core/classification.js';
import type { CallContext } from '../../core/context.js';
import type { Endpoint } from '../../core/endpoint.js';
import { errorCode } from '../../core/errors.js';
import { LatencyHistogram } from './histogram.js';
import type { Labels } from './scraped-metric.js';

/** The values of the `class` label, in the order they are published. */
export const CLASSES: readonly ResponseClassName[] = ['success', 'failure', 'retryable', 'ignorable'];

/** One endpoint's attempts (or the client's, with per-endpoint labels off). */
export interface EndpointCounts {
  readonly byClass: Record<ResponseClassName, number>;
  readonly latency: LatencyHistogram;
  /** A gRPC client's attempts by status code, then class (./grpc-metrics.ts). */
  byCode?: Map<number, Record<ResponseClassName, number>>;
}

/** Counts of each class, all 0. */
export function classCounts(): Record<ResponseClassName, number> {
  return { success: 0, failure: 0, retryable: 0, ignorable: 0 };
}

/** How long a call that just ended took, in seconds. */
export function callSeconds(ctx: CallContext): number {
  // The last attempt settled just now (the balancer's reading); the clock only when there was none.
  const end = Number.isNaN(ctx.attemptEnd) ? ctx.clock.now() : ctx.attemptEnd;
  return (end - ctx.callStart) / 1000;
}

/** What one client counts; a gRPC client's: ./grpc-metrics.ts. */
export class ClientMetrics implements ClientTelemetry {
  readonly client: ObservedClient;
  /** The labels of every series of this client: `client`, and `protocol` for a gRPC client. */
  readonly labels: Labels;
  readonly perEndpoint: boolean;
  inFlight = 0;
  readonly requests: Record<ResponseClassName, number> = {
    success: 0,
    failure: 0,
    retryable: 0,
    ignorable: 0,
  };
  readonly requestLatency: Record<ResponseClassName, LatencyHistogram>;
  /** By endpoint address (`''` for all of them when per-endpoint labels are off). */
  readonly attempts = new Map<string, EndpointCounts>();
  readonly retries = { retry: 0, requeue: 0 };
  budgetRefusals = 0;
  ejections = 0;
  probes = 0;
  returns = 0;
  throttled = 0;
  readonly breakerTransitions = new Map<string, number>();
  readonly discoveryUpdates = new Map<string, number>();
  /** The histograms' bounds, in seconds. */
  readonly buckets: readonly number[];
  readonly #registered: Set<ClientMetrics>;

  /**
   * `registered`: the clients the registry's metrics read, which this one leaves on close.
   * `labels`: those of every series of this client (default: `client`, its name).
   */
  constructor(
    client: ObservedClient,
    perEndpoint: boolean,
    buckets: readonly number[],
    registered: Set<ClientMetrics>,
    labels: Labels = { client: client.name },
  ) {
    this.client = client;
    this.labels = labels;
    this.perEndpoint = perEndpoint;
    this.buckets = buckets;
    this.#registered = registered;
    this.requestLatency = {
      success: new LatencyHistogram(buckets),
      failure: new LatencyHistogram(buckets),
      retryable: new LatencyHistogram(buckets),
      ignorable: new LatencyHistogram(buckets),
    };
  }

  callStarted(_req?: unknown, _ctx?: CallInfo): void {
    this.inFlight++;
  }

  callFinished(ctx: CallContext, failed: boolean, outcome: unknown): void {
    this.inFlight--;
    const cls = callClassName(ctx, failed, outcome);
    this.requests[cls]++;
    this.requestLatency[cls].observe(callSeconds(ctx));
    if (failed && errorCode(outcome) === 'WEFT_OVERLOADED') this.throttled++;
  }

  attemptFinished(
    ctx: CallContext,
    endpoint: Endpoint,
    failed: boolean,
    _outcome: unknown,
    durationMs: number,
  ): void {
    this.countAttempt(ctx, endpoint, failed, durationMs);
  }

  /**
   * Count an attempt in its endpoint's counts (the client's, with per-endpoint labels off) and
   * return them; undefined when the endpoint has left discovery.
   */
  protected countAttempt(
    ctx: CallContext,
    endpoint: Endpoint,
    failed: boolean,
    durationMs: number,
  ): EndpointCounts | undefined {
    const key = this.perEndpoint ? endpoint.address : '';
    let counts = this.attempts.get(key);
    if (counts === undefined) {
      // A late attempt to an endpoint that has left discovery must not bring its series back.
      if (this.perEndpoint && !this.client.endpoints().some((e) => e.address === key)) return undefined;
      counts = { byClass: classCounts(), latency: new LatencyHistogram(this.buckets) };
      this.attempts.set(key, counts);
    }
    const cls = attemptClassName(ctx.classification, failed);
    counts.byClass[cls]++;
    counts.latency.observe(durationMs / 1000);
    return counts;
  }

  retried(_ctx: CallContext, requeue: boolean): void {
    if (requeue) this.retries.requeue++;
    else this.retries.retry++;
  }

  budgetExhausted(): void {
    this.budgetRefusals++;
  }

  ejected(): void {
    this.ejections++;
  }

  probed(): void {
    this.probes++;
  }

  returned(): void {
    this.returns++;
  }

  breakerChanged(to: string): void {
    this.breakerTransitions.set(to, (this.breakerTransitions.get(to) ?? 0) + 1);
  }

  discoveryUpdated(snapshot: { kind: string }): void {
    this.discoveryUpdates.set(snapshot.kind, (this.discoveryUpdates.get(snapshot.kind) ?? 0) + 1);
  }

  endpointRemoved(address: string): void {
    if (this.perEndpoint) this.attempts.delete(address);
  }

  close(): void {
    this.#registered.delete(this);
  }
}
