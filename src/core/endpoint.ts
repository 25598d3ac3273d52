/**
 * Endpoint: one addressable instance of a service, as discovery publishes it and as the balancer,
 * the endpoint layers and telemetry know it. Its `address` (`host:port`, IPv6 in brackets) is its
 * identity across discovery updates, so per-endpoint state (EWMA, in-flight, accrual) survives an
 * update that keeps it. Built and validated by `createEndpoint` (src/discovery/endpoint.ts).
 * Also what the balancer reads of discovery: a snapshot of the set, and the source that publishes
 * it (src/discovery/endpoint-set.ts implements it), so the balancer depends on no resolver.
 */
import type { Event } from './events.js';

/** One addressable instance of a service. */
export interface Endpoint {
  /** `host:port`, or `[v6]:port`: the identity of the endpoint. */
  readonly address: string;
  /** Hostname or IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Relative weight for weighted pickers; default 1. */
  readonly weight: number;
  /**
   * The zone or locality the source reports (Kubernetes `zone`, a file's `zone`, Consul's
   * node meta), kept for zone-aware routing; absent when the source has none.
   */
  readonly zone?: string;
  /**
   * What else the source knows of the instance (DNS SRV `priority`, Kubernetes `serving` /
   * `terminating`, Consul tags...), read-only and never part of the identity.
   */
  readonly metadata?: EndpointMetadata;
}

/** Source-specific facts about an endpoint: flat, JSON-like values. */
export type EndpointMetadata = Readonly<Record<string, string | number | boolean>>;

/** What the balancer sees of discovery at one moment. Immutable; replaced on every change. */
export interface EndpointSetSnapshot {
  /**
   * `pending`: no answer yet. `bound`: `endpoints` is the set to use (possibly `stale`).
   * `negative`: the name does not exist. `failed`: the source failed and no good set was ever seen.
   */
  readonly kind: 'pending' | 'bound' | 'negative' | 'failed';
  /** Endpoints to send to, unique by address. Empty unless `kind` is `bound`. */
  readonly endpoints: readonly Endpoint[];
  /** True when `endpoints` is the last good set kept after a failure or an empty answer. */
  readonly stale: boolean;
  /** Why the set is negative, or why a stale set is kept after an empty answer. */
  readonly reason?: string;
  /** The last failure of the source (kept while the set is stale because of it). */
  readonly error?: Error;
  /** Clock time (ms) of the last state received from the resolver (construction time before). */
  readonly updatedAt: number;
  /** Clock time (ms) when the source last confirmed the endpoints in use (bound kinds only). */
  readonly boundAt?: number;
}

/** A published endpoint set, as the balancer reads it (discovery's DiscoveredEndpoints). */
export interface EndpointSource {
  /** Who publishes the set, for errors (e.g. `dns(users.internal:8080)`). */
  readonly description: string;
  /** The set now: a prebuilt snapshot, cheap to read on every request. */
  readonly current: EndpointSetSnapshot;
  /** Every new snapshot. */
  readonly onUpdate: Event<EndpointSetSnapshot>;
  /**
   * Settles with the first snapshot that is not `pending`; rejects when the source closes first,
   * or when `signal` aborts.
   */
  ready(signal?: AbortSignal): Promise<EndpointSetSnapshot>;
}
