/**
 * DiscoveredEndpoints: the endpoint set that the balancer reads, built from one resolver's states
 * with the advisory semantics applied once for every resolver (Finagle's `Addr`, Linkerd's
 * "advisory" discovery): a failing or suddenly empty source keeps the last good set, marked
 * stale; only a `negative` answer (the name does not exist) empties the pool. It sits beside the
 * request path: `current` is a prebuilt snapshot, so reading it on every request costs nothing.
 * It also keeps the source's status for telemetry (`sources()`, ./source-status.ts), counted from
 * the states it receives, unless the resolver lists its own sources (a fallback resolver).
 */
import { type Clock, realClock } from '../core/clock.js';
import type { EndpointSetSnapshot, EndpointSource } from '../core/endpoint.js';
import { ClientClosedError } from '../core/errors.js';
import { type Event, ListenerSet, reportHookError } from '../core/events.js';
import type { Endpoint } from './endpoint.js';
import type { EndpointSetState, Resolver } from './resolver.js';
import type { SourceStatus } from './source-status.js';
import { SourceStatusTracker } from './source-status-tracker.js';

export type { EndpointSetSnapshot } from '../core/endpoint.js';

interface Waiter {
  resolve(snapshot: EndpointSetSnapshot): void;
  reject(error: unknown): void;
}

const NO_ENDPOINTS: readonly Endpoint[] = Object.freeze([]);

const EMPTY_SET_REASON = 'the resolver returned an empty set; keeping the last non-empty set';

/** The set each snapshot came from, for {@link discoverySourcesOf}. */
const SNAPSHOT_SETS = new WeakMap<EndpointSetSnapshot, DiscoveredEndpoints>();

/**
 * The status of each discovery source behind `snapshot`, a snapshot a client published
 * (`client.discovery()`): one per source of a fallback resolver, in order, or the one source of
 * any other resolver. Read when called, not when the snapshot was made; undefined for an object
 * that no client's discovery made. This is how telemetry and the admin page reach a client's
 * sources through the snapshot every client already exposes.
 */
export function discoverySourcesOf(snapshot: EndpointSetSnapshot): readonly SourceStatus[] | undefined {
  return SNAPSHOT_SETS.get(snapshot)?.sources();
}

/**
 * The endpoint set published by one {@link Resolver}, with Finagle's Addr semantics:
 *
 * ```
 * state from resolver   a good (non-empty) set was seen    no good set yet (or after negative)
 * bound(non-empty)      bound, that set                    bound, that set
 * bound([])             bound, last set, stale             bound, []
 * failed(error)         bound, last set, stale, error      failed, [], error
 * negative(reason)      negative, [] (forgets the set)     negative, []
 * pending               ignored once any answer arrived    pending
 * ```
 *
 * Subscribes to the resolver on construction and owns it: {@link close} closes the resolver.
 */
export class DiscoveredEndpoints implements EndpointSource {
  readonly #resolver: Resolver;
  readonly #clock: Clock;
  readonly #listeners: ListenerSet<EndpointSetSnapshot>;
  readonly #waiters = new Set<Waiter>();
  #snapshot: EndpointSetSnapshot;
  /** The last non-empty bound set and when it was confirmed; forgotten on `negative`. */
  #lastGood: readonly Endpoint[] | undefined;
  #lastGoodAt: number | undefined;
  #unsubscribe: (() => void) | undefined;
  #closed = false;
  /** The resolver's status, from the states it published; used unless it lists its own sources. */
  readonly #tracker: SourceStatusTracker;
  /** When this set subscribed: a lone source serves from then on. */
  readonly #createdAt: number;

  constructor(resolver: Resolver, clock: Clock = realClock) {
    this.#resolver = resolver;
    this.#clock = clock;
    this.#listeners = new ListenerSet(`endpoint set ${resolver.description}`);
    this.#tracker = new SourceStatusTracker(resolver.description);
    this.#createdAt = clock.now();
    this.#snapshot = Object.freeze({
      kind: 'pending',
      endpoints: NO_ENDPOINTS,
      stale: false,
      updatedAt: this.#createdAt,
    });
    SNAPSHOT_SETS.set(this.#snapshot, this);
    this.#unsubscribe = resolver.subscribe((state) => this.#apply(state));
  }

  /** The resolver's description, e.g. `dns:api.internal:8080`. */
  get description(): string {
    return this.#resolver.description;
  }

  /** The current snapshot: the same object until the next state arrives; never allocates. */
  get current(): EndpointSetSnapshot {
    return this.#snapshot;
  }

  /**
   * Call `listener` synchronously with each new snapshot whose kind, stale flag or endpoints
   * (addresses, weights, zones or metadata, in any order) changed. Not called with the current snapshot. A
   * listener that throws is reported as a process warning and does not affect the others.
   * Returns a function that removes the listener.
   */
  readonly onUpdate: Event<EndpointSetSnapshot> = (listener) =>
    this.#closed ? () => {} : this.#listeners.add(listener);

  /**
   * Resolves with the first snapshot whose kind is not `pending` (at once if there is one).
   * Rejects with `signal.reason` when `signal` aborts first, and with a ClientClosedError when
   * the set is closed while still pending.
   */
  ready(signal?: AbortSignal): Promise<EndpointSetSnapshot> {
    if (this.#snapshot.kind !== 'pending') return Promise.resolve(this.#snapshot);
    if (this.#closed) return Promise.reject(new ClientClosedError({ destination: this.description }));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<EndpointSetSnapshot>((resolve, reject) => {
      const onAbort = (): void => waiter.reject(signal?.reason);
      const settle = (): void => {
        this.#waiters.delete(waiter);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        resolve(snapshot) {
          settle();
          resolve(snapshot);
        },
        reject(error) {
          settle();
          reject(error);
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * The status of each source, for telemetry: the resolver's own list when it has one
   * (`Resolver.sources`, a fallback resolver), else the resolver as one source, always serving,
   * with the counts of the states this set received. Off the request path; allocates.
   */
  sources(): readonly SourceStatus[] {
    if (this.#resolver.sources !== undefined) {
      try {
        return this.#resolver.sources();
      } catch (error) {
        reportHookError(`sources() of ${this.description}`, error);
      }
    }
    return [this.#tracker.status(this.#createdAt, this.#clock.now())];
  }

  /** Unsubscribe, close the resolver and drop the listeners. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    for (const waiter of [...this.#waiters])
      waiter.reject(new ClientClosedError({ destination: this.description }));
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    try {
      unsubscribe?.();
    } finally {
      this.#resolver.close();
    }
  }

  #apply(state: EndpointSetState): void {
    if (this.#closed) return;
    const previous = this.#snapshot;
    if (state.kind === 'pending') return;
    const now = this.#clock.now();
    this.#tracker.record(state, now);
    let next: EndpointSetSnapshot;
    switch (state.kind) {
      case 'bound': {
        let endpoints = uniqueByAddress(state.endpoints);
        if (sameEndpoints(endpoints, previous.endpoints)) endpoints = previous.endpoints;
        if (endpoints.length > 0) {
          this.#lastGood = endpoints;
          this.#lastGoodAt = now;
          next = snapshot('bound', endpoints, false, now, now);
        } else if (this.#lastGood !== undefined) {
          next = snapshot('bound', this.#lastGood, true, now, this.#lastGoodAt, EMPTY_SET_REASON);
        } else {
          next = snapshot('bound', NO_ENDPOINTS, false, now, now);
        }
        break;
      }
      case 'failed':
        next =
          this.#lastGood !== undefined
            ? snapshot('bound', this.#lastGood, true, now, this.#lastGoodAt, undefined, state.error)
            : snapshot('failed', NO_ENDPOINTS, false, now, undefined, undefined, state.error);
        break;
      case 'negative':
        this.#lastGood = undefined;
        this.#lastGoodAt = undefined;
        next = snapshot('negative', NO_ENDPOINTS, false, now, undefined, state.reason);
        break;
    }
    this.#snapshot = next;
    SNAPSHOT_SETS.set(next, this);
    if (previous.kind === 'pending') {
      for (const waiter of [...this.#waiters]) waiter.resolve(next);
    }
    const unchanged =
      previous.kind === next.kind && previous.stale === next.stale && previous.endpoints === next.endpoints;
    if (!unchanged) this.#listeners.emit(next);
  }
}

function snapshot(
  kind: EndpointSetSnapshot['kind'],
  endpoints: readonly Endpoint[],
  stale: boolean,
  updatedAt: number,
  boundAt: number | undefined,
  reason?: string,
  error?: Error,
): EndpointSetSnapshot {
  const result: {
    kind: EndpointSetSnapshot['kind'];
    endpoints: readonly Endpoint[];
    stale: boolean;
    updatedAt: number;
    boundAt?: number;
    reason?: string;
    error?: Error;
  } = { kind, endpoints, stale, updatedAt };
  if (boundAt !== undefined) result.boundAt = boundAt;
  if (reason !== undefined) result.reason = reason;
  if (error !== undefined) result.error = error;
  return Object.freeze(result);
}

/** A frozen copy of `endpoints` without repeated addresses (the first one wins). */
function uniqueByAddress(endpoints: readonly Endpoint[]): readonly Endpoint[] {
  if (endpoints.length === 0) return NO_ENDPOINTS;
  const seen = new Set<string>();
  const unique: Endpoint[] = [];
  for (const endpoint of endpoints) {
    if (seen.has(endpoint.address)) continue;
    seen.add(endpoint.address);
    unique.push(endpoint);
  }
  return Object.freeze(unique);
}

/**
 * Same addresses with the same weights, zones and metadata, in any order. Both lists are unique
 * by address.
 */
function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  const byAddress = new Map<string, Endpoint>();
  for (const endpoint of b) byAddress.set(endpoint.address, endpoint);
  for (const endpoint of a) {
    const other = byAddress.get(endpoint.address);
    if (other === undefined || other.weight !== endpoint.weight || other.zone !== endpoint.zone) return false;
    if (!sameMetadata(endpoint.metadata, other.metadata)) return false;
  }
  return true;
}

function sameMetadata(a: Endpoint['metadata'], b: Endpoint['metadata']): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}
