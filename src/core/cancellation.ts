/**
 * Cancellation: the cheap cancellation token weft hands to undici for a call. undici accepts an
 * EventEmitter-shaped `signal` (once/removeListener + `reason`); this one holds its listeners in
 * a field instead of an EventTarget, so a call that is never cancelled costs one small object,
 * not an AbortController, an AbortSignal and Node's abort-listener bookkeeping (about 11 ns vs
 * 630 ns per call here). It deliberately has no `aborted` property: undici would then treat it
 * as a DOM AbortSignal. Check `cancelled` before sending, as the attempt filter does.
 */

type Listener = () => void;

export class Cancellation {
  /** True once {@link abort} has been called. */
  cancelled = false;
  /** Why it was cancelled (read by undici when it hears 'abort'). */
  reason: unknown = undefined;
  #first: Listener | null = null;
  #more: Listener[] | null = null;

  /** Cancel with `reason`, once; later calls are ignored. Listeners run synchronously. */
  abort(reason: unknown): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.reason = reason;
    const first = this.#first;
    const more = this.#more;
    this.#first = null;
    this.#more = null;
    if (first !== null) first();
    if (more !== null) for (const listener of more) listener();
  }

  /** Listen for 'abort' (the only event). Runs at once if already cancelled. */
  once(_event: 'abort', listener: Listener): this {
    if (this.cancelled) {
      listener();
      return this;
    }
    if (this.#first === null) this.#first = listener;
    else if (this.#more === null) this.#more = [listener];
    else this.#more.push(listener);
    return this;
  }

  /** Same as {@link once}: every listener runs at most once. */
  on(event: 'abort', listener: Listener): this {
    return this.once(event, listener);
  }

  removeListener(_event: 'abort', listener: Listener): this {
    if (this.#first === listener) this.#first = null;
    else if (this.#more !== null) {
      const index = this.#more.indexOf(listener);
      if (index >= 0) this.#more.splice(index, 1);
    }
    return this;
  }

  off(event: 'abort', listener: Listener): this {
    return this.removeListener(event, listener);
  }
}
