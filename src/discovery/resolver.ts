/**
 * The resolver contract. A resolver publishes a stream of endpoint-set states (Finagle's `Addr`):
 * `pending` until the first answer, then `bound` (the endpoints), `negative` (the name
 * authoritatively does not exist) or `failed` (the source could not be asked). Resolvers only
 * report; what a state means for traffic (a failure keeps the last set) is decided in
 * ./endpoint-set.ts, once for every resolver. A resolver made of other resolvers (./fallback.ts)
 * also lists its sources (`sources()`), for telemetry and the admin page.
 */
import type { Endpoint } from './endpoint.js';
import type { SourceStatus } from './source-status.js';

/**
 * One state a resolver publishes: `pending` before its first answer, `bound` with the endpoints,
 * `negative` when the name authoritatively does not exist, `failed` when the source could not be
 * asked. The client keeps the last bound set through `negative` and `failed` (docs/discovery.md).
 */
export type EndpointSetState =
  | { readonly kind: 'pending' }
  | { readonly kind: 'bound'; readonly endpoints: readonly Endpoint[] }
  | { readonly kind: 'negative'; readonly reason: string }
  | { readonly kind: 'failed'; readonly error: Error };

/** Receives each {@link EndpointSetState} a resolver publishes. */
export type EndpointSetListener = (state: EndpointSetState) => void;

/**
 * Where a client's endpoints come from (the `resolver` option): `staticResolver`, `dnsResolver`,
 * or one of your own. A resolver only reports states to its subscribers; the client decides what
 * they mean for traffic, and closes the resolver when it closes.
 */
export interface Resolver {
  /** Human-readable source, e.g. `static`, `dns:api.internal:8080`. */
  readonly description: string;
  /**
   * Start delivering states to `listener` (the current one first, if known). Returns a function
   * that stops delivery. Several subscribers may be active at once.
   */
  subscribe(listener: EndpointSetListener): () => void;
  /** Stop all work (timers, sockets). Idempotent. */
  close(): void;
  /**
   * Optional, for resolvers made of other resolvers (`fallbackResolver`): the status of each
   * source, in order, and which one is serving. Telemetry and the admin page show one line per
   * source. A resolver without it is shown as one source, whose counts the client keeps from
   * the states it publishes: a single source has nothing to implement.
   */
  sources?(): readonly SourceStatus[];
}
