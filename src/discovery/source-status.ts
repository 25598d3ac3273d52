/**
 * SourceStatus: what telemetry and the admin page show of one discovery source: its last state,
 * whether its endpoints are the ones the client uses (and since when), how many states and
 * failures it has published, its last error and whether its set is stale. A composite resolver
 * (./fallback.ts) lists one per source through `Resolver.sources()`; for any other resolver,
 * DiscoveredEndpoints (./endpoint-set.ts) keeps the one status itself, from the states it
 * receives (./source-status-tracker.ts), so that no source has to count anything.
 */

/**
 * One discovery source as telemetry sees it. Times are readings of the clock the status was
 * taken on (milliseconds on a monotonic scale, `Clock.now()`); `readAt` is the reading when it
 * was taken, so `readAt - servingSince` is how long the source has been serving.
 */
export interface SourceStatus {
  /** The source's `description`, e.g. `dns:api.internal:8080`; unique within one client. */
  readonly description: string;
  /** The kind of the last state the source published; `pending` until its first answer. */
  readonly kind: 'pending' | 'bound' | 'negative' | 'failed';
  /** Whether the client's endpoints come from this source now (always true for a lone source). */
  readonly serving: boolean;
  /** When the source began serving; undefined while it is not serving. */
  readonly servingSince: number | undefined;
  /** States the source has published (its first `pending` not counted), repeats included. */
  readonly updates: number;
  /** `failed` states the source has published. */
  readonly errors: number;
  /** The error of the source's last `failed` state, kept after it recovers; undefined if it never failed. */
  readonly lastError: Error | undefined;
  /** When the source last published a state; undefined before its first answer. */
  readonly lastUpdateAt: number | undefined;
  /** When the source last published a non-empty set; undefined if it never did (or since `negative`). */
  readonly confirmedAt: number | undefined;
  /**
   * True while the source's last good set is kept without being confirmed: it failed, or answered
   * with an empty set, after a non-empty one (the advisory rule of docs/discovery.md).
   */
  readonly stale: boolean;
  /** The clock reading when this status was taken. */
  readonly readAt: number;
}
