/**
 * What the server half tells telemetry (metrics, the admin page): each request it admitted and
 * how it ended, each request it rejected and why, and the limiter's state. The Express and
 * Fastify adapters call these hooks; `weft/prometheus` and the admin page implement them. Every
 * hook is optional and must never throw. `route` is the route's template (`/users/:id`), never the
 * raw path, so the number of series stays bounded.
 */

/** Why a request was answered without running its handler. */
export type RejectionReason = 'overload' | 'draining' | 'expired';

/** A server as telemetry sees it: enough to read gauges at scrape time. */
export interface ObservedServer {
  readonly name: string;
  /** Requests in flight now. */
  readonly inflight: number;
  /** The concurrency limit now, and its algorithm; undefined when there is no limiter. */
  readonly limit: number | undefined;
  readonly algorithm: string | undefined;
  /** Draining: new requests are nacked while in-flight ones finish. */
  readonly draining: boolean;
}

/** The hooks of one server's telemetry. */
export interface ServerObserver {
  /** A request ended: its route, response status (0 when the connection closed first), duration in ms. */
  requestFinished?(route: string, status: number, durationMs: number): void;
  /** A request was answered at once, without its handler. */
  requestRejected?(route: string, reason: RejectionReason): void;
  /** The incoming deadline of an admitted request, in ms (absent: none came). */
  deadlineReceived?(remainingMs: number): void;
  /** The server closed. */
  close?(): void;
}
