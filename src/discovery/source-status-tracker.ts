/**
 * SourceStatusTracker: keeps one source's {@link SourceStatus} from the states it publishes:
 * counts of states and failures, the last error, when it last answered and last confirmed a
 * non-empty set, and whether that set is stale (a failure or an empty answer after a good set,
 * the same rule DiscoveredEndpoints applies to traffic). Off the request path: it runs once per
 * state a resolver publishes.
 */
import type { EndpointSetState } from './resolver.js';
import type { SourceStatus } from './source-status.js';

/** The running counts behind one source's {@link SourceStatus}. */
export class SourceStatusTracker {
  readonly description: string;
  #kind: SourceStatus['kind'] = 'pending';
  #updates = 0;
  #errors = 0;
  #lastError: Error | undefined;
  #lastUpdateAt: number | undefined;
  #confirmedAt: number | undefined;
  /** Whether a non-empty set was seen since the start or the last `negative`. */
  #hadGoodSet = false;
  #stale = false;

  constructor(description: string) {
    this.description = description;
  }

  /** The kind of the last state recorded; `pending` before the first answer. */
  get kind(): SourceStatus['kind'] {
    return this.#kind;
  }

  /** Count `state`, published at clock time `now`. A `pending` state after an answer is ignored. */
  record(state: EndpointSetState, now: number): void {
    if (state.kind === 'pending') return;
    this.#kind = state.kind;
    this.#updates++;
    this.#lastUpdateAt = now;
    switch (state.kind) {
      case 'bound':
        if (state.endpoints.length > 0) {
          this.#hadGoodSet = true;
          this.#confirmedAt = now;
          this.#stale = false;
        } else {
          this.#stale = this.#hadGoodSet;
        }
        break;
      case 'failed':
        this.#errors++;
        this.#lastError = state.error;
        this.#stale = this.#hadGoodSet;
        break;
      case 'negative':
        this.#hadGoodSet = false;
        this.#confirmedAt = undefined;
        this.#stale = false;
        break;
    }
  }

  /** The status now: `serving` since `servingSince` (undefined when not serving), read at `now`. */
  status(servingSince: number | undefined, now: number): SourceStatus {
    return {
      description: this.description,
      kind: this.#kind,
      serving: servingSince !== undefined,
      servingSince,
      updates: this.#updates,
      errors: this.#errors,
      lastError: this.#lastError,
      lastUpdateAt: this.#lastUpdateAt,
      confirmedAt: this.#confirmedAt,
      stale: this.#stale,
      readAt: now,
    };
  }
}
