/**
 * Events: the one way a weft component tells others that something happened (failure accrual's
 * ejections, the circuit breaker's transitions, retries, discovery updates), after cockatiel's
 * `Event`: subscribing is calling the event with a listener, and gives back the way to stop.
 * Listeners run synchronously, in subscription order, each isolated from the others: a function
 * a user gave weft (a listener, an option hook, a classifier) that throws is reported once, as a
 * process warning with code `WEFT_HOOK_ERROR` ({@link reportHookError}), and never reaches the
 * publisher, since throwing it back into a resolver's timer or a call's settlement would crash
 * the process or break the call.
 */

/** What an event hands each listener. */
export type Listener<T> = (value: T) => void;

/** Stops a listener's subscription; calling it again does nothing. */
export type Unsubscribe = () => void;

/**
 * An event: call it with a listener to subscribe (cockatiel's `Event`, with a function in place of
 * its `IDisposable`). The same function subscribed twice is subscribed once.
 */
export type Event<T> = (listener: Listener<T>) => Unsubscribe;

/** Listeners of one kind of value: the publisher's side of an {@link Event}. */
export class ListenerSet<T> {
  readonly #listeners = new Set<Listener<T>>();
  /** The listeners as of the last change, for {@link emit} to walk without copying per value. */
  #snapshot: readonly Listener<T>[] | undefined;
  readonly #source: string;
  /** The subscriber's side, to hand out: `handle.onStateChange = listeners.event`. */
  readonly event: Event<T>;

  /** `source` names the publisher in warnings, e.g. `dns:api.internal:8080`, `failureAccrual.onEject`. */
  constructor(source: string) {
    this.#source = source;
    this.event = (listener) => this.add(listener);
  }

  /** Number of active listeners. */
  get size(): number {
    return this.#listeners.size;
  }

  /** Add `listener`; the returned function removes it (idempotent). */
  add(listener: Listener<T>): Unsubscribe {
    if (!this.#listeners.has(listener)) {
      this.#listeners.add(listener);
      this.#snapshot = undefined;
    }
    return () => {
      if (this.#listeners.delete(listener)) this.#snapshot = undefined;
    };
  }

  /** Remove every listener. */
  clear(): void {
    this.#listeners.clear();
    this.#snapshot = undefined;
  }

  /**
   * Call every listener with `value`. Listeners added during the call are not called for this
   * value; listeners removed during the call are not called if they had not been yet. Allocates
   * nothing unless the listeners changed since the last value.
   */
  emit(value: T): void {
    const listeners = this.#listeners;
    if (listeners.size === 0) return;
    this.#snapshot ??= [...listeners];
    const snapshot = this.#snapshot;
    for (let i = 0; i < snapshot.length; i++) {
      const listener = snapshot[i]!;
      if (!listeners.has(listener)) continue;
      try {
        listener(value);
      } catch (error) {
        reportHookError(`a listener of ${this.#source}`, error);
      }
    }
  }
}

/**
 * Report that a function a user gave weft threw (`hook`: what it was, e.g. `the classifier of
 * orders`), without throwing: a process warning of type `WeftWarning`, code `WEFT_HOOK_ERROR`,
 * with the error's stack.
 */
export function reportHookError(hook: string, error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  process.emitWarning(`${hook} threw: ${detail}`, { type: 'WeftWarning', code: 'WEFT_HOOK_ERROR' });
}
