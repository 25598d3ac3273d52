/**
 * Draining: counts the requests in flight and, once draining has begun, resolves when the last
 * one has finished. From then on every new request is nacked (./rejection.ts, `DRAINING_NACK`),
 * so a rolling deploy behind weft clients loses no request: the ones already running finish, the
 * new ones are requeued on another replica. Draining never ends; a drained server is closed.
 */

export class DrainTracker {
  #inflight = 0;
  #draining = false;
  #drained: Promise<void> | undefined;
  #resolve: (() => void) | undefined;

  /** Requests in flight now. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Has draining begun? */
  get draining(): boolean {
    return this.#draining;
  }

  /** A request was admitted. */
  started(): void {
    this.#inflight++;
  }

  /** An admitted request finished. */
  finished(): void {
    this.#inflight--;
    if (this.#inflight === 0 && this.#resolve !== undefined) {
      this.#resolve();
      this.#resolve = undefined;
    }
  }

  /** Begin draining (once); the promise resolves when no request is in flight. */
  drain(): Promise<void> {
    if (this.#drained === undefined) {
      this.#draining = true;
      this.#drained =
        this.#inflight === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              this.#resolve = resolve;
            });
    }
    return this.#drained;
  }
}
