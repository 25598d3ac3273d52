/**
 * A set of synchronous listeners with fault isolation, shared by the resolvers and the endpoint
 * set: a listener that throws never stops the others or the publisher. The error is reported as
 * a process warning (code `WEFT_LISTENER_ERROR`), like Node reports other non-fatal misuse,
 * because throwing it back into a resolver's timer would crash the process.
 */

/** Listeners of one kind of value, notified in subscription order. */
export class ListenerSet<T> {
  readonly #listeners = new Set<(value: T) => void>();
  readonly #source: string;

  /** `source` names the publisher in warnings, e.g. `dns:api.internal:8080`. */
  constructor(source: string) {
    this.#source = source;
  }

  /** Number of active listeners. */
  get size(): number {
    return this.#listeners.size;
  }

  /**
   * Add `listener`; the returned function removes it (idempotent). Adding the same function twice
   * registers it once.
   */
  add(listener: (value: T) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Remove every listener. */
  clear(): void {
    this.#listeners.clear();
  }

  /**
   * Call every listener with `value`. Listeners added during the call are not called for this
   * value; listeners removed during the call are not called if they had not been yet.
   */
  emit(value: T): void {
    if (this.#listeners.size === 0) return;
    for (const listener of [...this.#listeners]) {
      if (!this.#listeners.has(listener)) continue;
      try {
        listener(value);
      } catch (error) {
        reportListenerError(this.#source, error);
      }
    }
  }
}

/** Report an error thrown by a listener without throwing it. */
export function reportListenerError(source: string, error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  process.emitWarning(`a listener of ${source} threw; other listeners still ran: ${detail}`, {
    type: 'WeftWarning',
    code: 'WEFT_LISTENER_ERROR',
  });
}
