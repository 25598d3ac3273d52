/**
 * The admin endpoint's JSON: one plain, serializable snapshot of every server of the server half
 * (./admin-servers.ts) and every client (its protocol and,
 * for gRPC, its channel's connectivity; its endpoints with status, in-flight, cost, EWMA, success
 * rate, weight and failure accrual; retry budget; breaker; hedging; throttling; discovery, its
 * staleness and each of its sources: which one serves, since when, its counts and last error). Ages are measured on the clock the clients run on (default: the
 * real clock); non-finite numbers become `null`, so the JSON is always valid. Schema: docs/admin.md.
 */

import type { ClientView, EndpointStats } from '../client/client-view.js';
import { type Clock, realClock } from '../core/clock.js';
import { discoverySourcesOf, type EndpointSetSnapshot } from '../discovery/endpoint-set.js';
import type { SourceStatus } from '../discovery/source-status.js';
import type { CircuitState } from '../policies/circuit-breaker.js';
import type { AccrualStateName } from '../policies/failure-accrual.js';
import {
  type AdminClient,
  type AdminProtocol,
  clientViewOf,
  connectivityOf,
  protocolOf,
} from './admin-clients.js';
import { type AdminObservedServerState, isObservedServer, serverState } from './admin-servers.js';
import type { ObservedServer } from './server-view.js';

export type { AdminClient, AdminProtocol, GrpcClientLike } from './admin-clients.js';
export type { AdminObservedServerState, AdminRejections } from './admin-servers.js';

/** Everything the admin endpoint serves as JSON (`GET {basePath}state.json`). */
export interface AdminState {
  /** Wall-clock time of the snapshot, ISO 8601 (UTC). */
  readonly generatedAt: string;
  /** The servers of the server half, in the order given; empty when none was given. */
  readonly servers: readonly AdminObservedServerState[];
  readonly clients: readonly AdminClientState[];
}

/** One client in {@link AdminState}. */
export interface AdminClientState {
  readonly name: string;
  /** `http` or `grpc`; null for a client of another kind. */
  readonly protocol: AdminProtocol | null;
  /**
   * A gRPC client's channel connectivity, the best of its endpoints' channels: `READY`,
   * `CONNECTING`, `IDLE`, `TRANSIENT_FAILURE` or `SHUTDOWN`; null for an HTTP client.
   */
  readonly connectivity: string | null;
  /** Balancing strategy, e.g. `p2c-peak-ewma`: it gives the unit of each endpoint's `cost`. */
  readonly strategy: string;
  /** The call stack's roles, outermost first. */
  readonly roles: readonly string[];
  readonly discovery: AdminDiscoveryState;
  /** Retries (and hedges) the retry budget allows now; null when the client neither retries nor hedges. */
  readonly retryBudget: number | null;
  /** The circuit breaker's state; null when the client has none. */
  readonly breaker: CircuitState | null;
  /** Hedges sent and won and the current hedge delay; null when hedging is off. */
  readonly hedge: AdminHedgeState | null;
  /** Adaptive throttling's counts; null when it is off. */
  readonly throttle: AdminThrottleState | null;
  readonly endpoints: readonly AdminEndpointState[];
}

/** Discovery's state for one client (advisory semantics: docs/discovery.md). */
export interface AdminDiscoveryState {
  /** `pending` (no answer yet), `bound`, `negative` (the name does not exist) or `failed`. */
  readonly kind: EndpointSetSnapshot['kind'];
  /** True when the endpoints in use are the last good set, kept after a failure or an empty answer. */
  readonly stale: boolean;
  /** How many endpoints discovery publishes. */
  readonly endpoints: number;
  /** Why the set is negative, or why a stale set is kept; null otherwise. */
  readonly reason: string | null;
  /** The source's last failure (its message); null when there is none. */
  readonly error: string | null;
  /** Milliseconds since the resolver last said anything. */
  readonly updatedAgoMs: number;
  /** Milliseconds since the source last confirmed the endpoints in use; null when it never did. */
  readonly boundAgoMs: number | null;
  /** Each source: one for a lone resolver, one per source of a fallback resolver, in order. */
  readonly sources: readonly AdminDiscoverySourceState[];
}

/** One discovery source of a client (src/discovery/source-status.ts). */
export interface AdminDiscoverySourceState {
  /** The source's description, e.g. `dns:api.internal:8080`. */
  readonly description: string;
  /** The kind of the source's last state: `pending`, `bound`, `negative` or `failed`. */
  readonly kind: SourceStatus['kind'];
  /** Whether the client's endpoints come from this source. */
  readonly serving: boolean;
  /** Milliseconds since it began serving; null when it does not serve. */
  readonly servingForMs: number | null;
  /** True while its last good set is kept unconfirmed (it failed, or answered empty, after a good set). */
  readonly stale: boolean;
  /** Milliseconds since it last confirmed the set it keeps, while stale; null otherwise. */
  readonly staleForMs: number | null;
  /** States it published, repeats included. */
  readonly updates: number;
  /** Failed states it published. */
  readonly errors: number;
  /** The message of its last failure, kept after it recovers; null if it never failed. */
  readonly lastError: string | null;
  /** Milliseconds since it last published a state; null before its first answer. */
  readonly updatedAgoMs: number | null;
}

/** Hedging counts of one client. */
export interface AdminHedgeState {
  readonly sent: number;
  readonly won: number;
  /** The current hedge delay in ms; null while too few latencies are known. */
  readonly delayMs: number | null;
}

/** Adaptive throttling counts of one client. */
export interface AdminThrottleState {
  readonly requests: number;
  readonly accepts: number;
  readonly rejectionProbability: number;
}

/** One endpoint of a client. */
export interface AdminEndpointState {
  readonly address: string;
  /** `open`, `busy` (e.g. ejected) or `closed`. */
  readonly status: EndpointStats['status'];
  /** Requests in flight. */
  readonly pending: number;
  /** The load metric's cost (Peak EWMA: RTT estimate × (pending + 1), in ms); null if not finite. */
  readonly cost: number | null;
  /** Peak EWMA's RTT estimate in ms; null under strategies that keep none (round robin, least loaded). */
  readonly ewmaMs: number | null;
  /** Attempts that ended in the last 30 s (those judged `ignorable` not counted). */
  readonly attempts: number;
  /** The share of those that succeeded (0 to 1), as the classifier judged them; null when there were none. */
  readonly successRate: number | null;
  readonly weight: number;
  /** Failure accrual's view; null when the client has no failure accrual. */
  readonly accrual: AdminAccrualState | null;
}

/** Failure accrual's view of one endpoint. */
export interface AdminAccrualState {
  /** `alive`, `dead` (ejected), `probe-open` (ejection over, next request probes), `probe-closed` (probing). */
  readonly state: AccrualStateName;
  /** Times the endpoint was ejected since it was built. */
  readonly ejections: number;
  readonly consecutiveFailures: number;
  /** Milliseconds left in the current ejection; null unless `state` is `dead`. */
  readonly ejectedForMs: number | null;
}

/**
 * Read one {@link AdminState} from `clients`: weft clients, or generated gRPC clients that
 * `createGrpcClient` made, and from `servers`, the servers of the server half as telemetry sees
 * them. Cheap (no I/O); reading never disturbs a client (a gRPC channel is not made to connect).
 * Pass the clock the clients were built with if it is not the real one, so that ages are right.
 * @throws TypeError naming the position of an entry that is no weft client, or no server.
 */
export function adminState(
  clients: readonly AdminClient[],
  clock: Clock = realClock,
  servers: readonly ObservedServer[] = [],
): AdminState {
  const now = clock.now();
  return {
    generatedAt: new Date().toISOString(),
    servers: servers.map((server, i) => {
      if (!isObservedServer(server)) throw new TypeError(`servers[${i}] is not a server`);
      return serverState(server);
    }),
    clients: clients.map((client, i) => {
      const view = clientViewOf(client);
      if (view === undefined) throw new TypeError(`clients[${i}] is not a weft client`);
      return clientState(view, now);
    }),
  };
}

function clientState(client: ClientView, now: number): AdminClientState {
  const hedge = client.hedgeStats;
  const throttle = client.throttleStats();
  const budgeted = client.roles.includes('retry') || client.roles.includes('hedge');
  return {
    name: client.name,
    protocol: protocolOf(client),
    connectivity: connectivityOf(client),
    strategy: client.strategy,
    roles: [...client.roles],
    discovery: discoveryState(client.discovery(), now),
    retryBudget: budgeted ? finiteOrNull(round(client.retryBudget.balance(), 2)) : null,
    breaker: client.circuitBreaker?.state() ?? null,
    hedge:
      hedge === undefined
        ? null
        : { sent: hedge.sent, won: hedge.won, delayMs: finiteOrNull(round(hedge.delayMs(), 1)) },
    throttle:
      throttle === undefined
        ? null
        : {
            requests: throttle.requests,
            accepts: throttle.accepts,
            rejectionProbability: round(throttle.rejectionProbability, 4),
          },
    endpoints: client.endpoints().map((e) => endpointState(e, now)),
  };
}

function discoveryState(snapshot: EndpointSetSnapshot, now: number): AdminDiscoveryState {
  return {
    kind: snapshot.kind,
    stale: snapshot.stale,
    endpoints: snapshot.endpoints.length,
    reason: snapshot.reason ?? null,
    error: snapshot.error === undefined ? null : String(snapshot.error.message || snapshot.error),
    updatedAgoMs: Math.max(0, Math.round(now - snapshot.updatedAt)),
    boundAgoMs: snapshot.boundAt === undefined ? null : Math.max(0, Math.round(now - snapshot.boundAt)),
    sources: (discoverySourcesOf(snapshot) ?? []).map(sourceState),
  };
}

/** One source, its ages measured on the clock its status was read on. */
function sourceState(s: SourceStatus): AdminDiscoverySourceState {
  const ago = (at: number | undefined) => (at === undefined ? null : Math.max(0, Math.round(s.readAt - at)));
  return {
    description: s.description,
    kind: s.kind,
    serving: s.serving,
    servingForMs: ago(s.servingSince),
    stale: s.stale,
    staleForMs: s.stale ? ago(s.confirmedAt) : null,
    updates: s.updates,
    errors: s.errors,
    lastError: s.lastError === undefined ? null : String(s.lastError.message || s.lastError),
    updatedAgoMs: ago(s.lastUpdateAt),
  };
}

function endpointState(stats: EndpointStats, now: number): AdminEndpointState {
  const accrual = stats.accrual;
  return {
    address: stats.address,
    status: stats.status,
    pending: stats.pending,
    cost: finiteOrNull(round(stats.cost, 3)),
    ewmaMs: stats.ewmaMs === undefined ? null : finiteOrNull(round(stats.ewmaMs, 3)),
    attempts: stats.attempts,
    successRate: finiteOrNull(round(stats.successRate, 4)),
    weight: stats.weight,
    accrual:
      accrual === undefined
        ? null
        : {
            state: accrual.state,
            ejections: accrual.ejections,
            consecutiveFailures: accrual.consecutiveFailures,
            ejectedForMs:
              accrual.state === 'dead' && accrual.ejectedUntil !== undefined
                ? Math.max(0, Math.round(accrual.ejectedUntil - now))
                : null,
          },
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Number.isFinite(value) ? Math.round(value * scale) / scale : value;
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
