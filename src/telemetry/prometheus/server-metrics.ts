/**
 * What one server has counted for Prometheus: the ServerObserver hooks, each a few additions to
 * plain numbers and histograms kept per server and per route (as ./client-metrics.ts does for a
 * client), read by the server catalogue (./server-catalog.ts) at scrape time. A finished
 * request's `class` is its status class (`2xx`, `4xx`, `5xx`, ...; `closed` when the connection
 * closed before a response, status 0). The gauges (in flight, limit, draining) are not counted
 * here: the catalogue reads them from the server itself.
 */
import {
  type ObservedServer,
  REJECTION_REASONS,
  type RejectionReason,
  type ServerObserver,
} from '../server-view.js';
import { LatencyHistogram } from './histogram.js';
import type { Labels } from './scraped-metric.js';

/** The values of the `class` label of a finished request, in the order they are published. */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'closed', 'other'] as const;

/** One value of the `class` label. */
export type StatusClass = (typeof STATUS_CLASSES)[number];

const CLOSED = STATUS_CLASSES.indexOf('closed');
const OTHER = STATUS_CLASSES.indexOf('other');

/** The index in {@link STATUS_CLASSES} of `status`: its hundreds, `closed` for 0, `other` outside 100–599. */
export function statusClassIndex(status: number): number {
  if (status === 0) return CLOSED;
  return Number.isInteger(status) && status >= 100 && status <= 599 ? Math.floor(status / 100) - 1 : OTHER;
}

/** The finished requests of one route. */
export interface RouteCounts {
  /** By {@link STATUS_CLASSES} index. */
  readonly byClass: Float64Array;
  readonly latency: LatencyHistogram;
}

/** What one server counts. */
export class ServerMetrics implements ServerObserver {
  readonly server: ObservedServer;
  /** The labels of every series of this server: `server`, its name. */
  readonly labels: Labels;
  /** By route template. */
  readonly routes = new Map<string, RouteCounts>();
  readonly rejected: Record<RejectionReason, number> = { overload: 0, draining: 0, expired: 0 };
  readonly deadlines: LatencyHistogram;
  /** The histograms' bounds, in seconds. */
  readonly buckets: readonly number[];
  readonly #registered: Set<ServerMetrics>;

  /** `registered`: the servers the registry's metrics read, which this one leaves on close. */
  constructor(server: ObservedServer, buckets: readonly number[], registered: Set<ServerMetrics>) {
    this.server = server;
    this.labels = { server: server.name };
    this.buckets = buckets;
    this.deadlines = new LatencyHistogram(buckets);
    this.#registered = registered;
  }

  requestFinished(route: string, status: number, durationMs: number): void {
    let counts = this.routes.get(route);
    if (counts === undefined) {
      counts = {
        byClass: new Float64Array(STATUS_CLASSES.length),
        latency: new LatencyHistogram(this.buckets),
      };
      this.routes.set(route, counts);
    }
    counts.byClass[statusClassIndex(status)]! += 1;
    counts.latency.observe(durationMs / 1000);
  }

  requestRejected(_route: string, reason: RejectionReason): void {
    // A reason outside the contract is not counted: it would make a series nobody documented.
    if (REJECTION_REASONS.includes(reason)) this.rejected[reason]++;
  }

  deadlineReceived(remainingMs: number): void {
    // An admitted request whose deadline had passed (the expiry check in dark mode) counts as 0 s
    // left, so the histogram's sum never goes down.
    this.deadlines.observe(remainingMs > 0 ? remainingMs / 1000 : 0);
  }

  close(): void {
    this.#registered.delete(this);
  }
}
