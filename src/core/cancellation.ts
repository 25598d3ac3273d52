/**
 * Cancellation: the cheap cancellation token weft keeps for a call (deadline, per-attempt
 * timeout, a dispatcher's abort). It holds its listeners in fields instead of an EventTarget, so
 * a call that is never cancelled costs one small object, not an AbortController, an AbortSignal
 * and Node's abort-listener bookkeeping (docs/deadlines.md, "What a deadline costs"). A listener is a
 * function or, as with an EventTarget, an object with `handleEvent()`, so a long-lived object
 * (the transport's attempt handler, a per-attempt timeout) can listen without a closure. It
 * deliberately has no `aborted` property: check `cancelled`.
 */

/** A function, or an object whose `handleEvent()` runs (as with an EventTarget). */
export type CancellationListener = (() => void) | { handleEvent(): void };

function notify(listener: CancellationListener): void {
  if (typeof listener === 'function') listener();
  else listener.handleEvent();
}

export class Cancellation {
  /** True once {@link abort} has been called. */
  cancelled = false;
  /** Why it was cancelled. */
  reason: unknown = undefined;
  #first: CancellationListener | null = null;
  #more: CancellationListener[] | null = null;

  /** Cancel with `reason`, once; later calls are ignored. Listeners run synchronously. */
  abort(reason: unknown): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.reason = reason;
    const first = this.#first;
    const more = this.#more;
    this.#first = null;
    this.#more = null;
    if (first !== null) notify(first);
    if (more !== null) for (const listener of more) notify(listener);
  }

  /** Listen for 'abort' (the only event), once. Runs at once if already cancelled. */
  once(_event: 'abort', listener: CancellationListener): this {
    if (this.cancelled) {
      notify(listener);
      return this;
    }
    if (this.#first === null) this.#first = listener;
    else if (this.#more === null) this.#more = [listener];
    else this.#more.push(listener);
    return this;
  }

  /** Stop listening; a no-op for a listener that is not there. */
  removeListener(_event: 'abort', listener: CancellationListener): this {
    if (this.#first === listener) this.#first = null;
    else if (this.#more !== null) {
      const index = this.#more.indexOf(listener);
      if (index >= 0) this.#more.splice(index, 1);
    }
    return this;
  }

  /** EventTarget spelling of {@link once} (every listener runs at most once). */
  addEventListener(event: 'abort', listener: CancellationListener): void {
    this.once(event, listener);
  }

  /** EventTarget spelling of {@link removeListener}. */
  removeEventListener(event: 'abort', listener: CancellationListener): void {
    this.removeListener(event, listener);
  }
}
