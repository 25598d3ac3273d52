/**
 * A server as telemetry sees it, and the hooks it calls: the contract between the server half's
 * adapters (Express, Fastify: src/server/) and telemetry (`weft/prometheus`, the admin page).
 * In core, because both sides sit on the top layer and may not import each other.
 *
 * The contract, as telemetry reads it: `route` is the route's template (`/users/:id`), never the
 * raw path; a request is either admitted and then finished (`requestFinished`, once) or rejected
 * without its handler (`requestRejected`, once), never both; every hook is optional and must
 * never throw; the gauges (`inflight`, `limit`, `algorithm`, `draining`) are read when asked.
 */

/** Why a request was answered without running its handler. */
export type RejectionReason = 'overload' | 'draining' | 'expired';

/** The reasons of {@link RejectionReason}, in the order telemetry publishes them. */
export const REJECTION_REASONS: readonly RejectionReason[] = ['overload', 'draining', 'expired'];

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

/**
 * A server telemetry implementation, attached once to each server that lists it (the server
 * half's counterpart of the clients' `TelemetryPlugin`): `attach` returns the hooks the server
 * calls from then on.
 */
export interface ServerTelemetryPlugin {
  attach(server: ObservedServer): ServerObserver;
}
