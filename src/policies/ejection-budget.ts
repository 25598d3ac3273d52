/**
 * Ejection budget: the cap on how many of one client's endpoints failure accrual may eject at once
 * (Envoy's `max_ejection_percent`, the spirit of Finagle's panic mode). One budget per client,
 * shared by the failure-accrual layers of all its endpoints. Default: 50% of the endpoints, and
 * always at least one, whatever the percentage (Envoy ejects the first host regardless).
 * An endpoint refused a slot waits in line and is ejected as soon as a slot frees up.
 */

/** What the budget needs from an endpoint that waits for a slot. */
export interface EjectionCandidate {
  /**
   * Room has freed up: eject now if the endpoint still meets its ejection criteria (taking a slot
   * with {@link EjectionBudget.tryAcquire}), or do nothing if it has recovered meanwhile.
   */
  retryEjection(): void;
}

/** A read-only view of a client's ejection budget, for the admin page and metrics. */
export interface EjectionBudgetView {
  /** Endpoints currently ejected (dead or probing). */
  readonly ejected: number;
  /** Endpoints the client currently holds (built and not closed). */
  readonly endpoints: number;
  /** How many may be ejected at once: `max(1, floor(endpoints × maxEjectionPercent / 100))`. */
  readonly limit: number;
  /**
   * Endpoints that met an ejection trigger but found no room, oldest first. One that has recovered
   * meanwhile leaves the line when it is offered a slot.
   */
  readonly waiting: number;
}

/**
 * Counts the endpoints of one client and the slots they hold. The limit never lets the ejected
 * share exceed the percentage (4 endpoints at 50%: 2; 3 endpoints: 1), except that one ejection is
 * always allowed, so a client with one or two endpoints can still eject a broken one. Envoy checks
 * the share before ejecting instead of after, so it may overshoot the percentage by one host.
 */
export class EjectionBudget implements EjectionBudgetView {
  readonly #maxPercent: number;
  #endpoints = 0;
  #ejected = 0;
  readonly #waiting = new Set<EjectionCandidate>();

  /** `maxPercent` in [0, 100], validated by the caller. */
  constructor(maxPercent: number) {
    this.#maxPercent = maxPercent;
  }

  get ejected(): number {
    return this.#ejected;
  }

  get endpoints(): number {
    return this.#endpoints;
  }

  get limit(): number {
    return Math.max(1, Math.floor((this.#endpoints * this.#maxPercent) / 100));
  }

  get waiting(): number {
    return this.#waiting.size;
  }

  /** A new endpoint joined the client; the limit may have grown, so waiting endpoints get a chance. */
  join(): void {
    this.#endpoints++;
    this.#admitWaiting();
  }

  /**
   * An endpoint left the client (closed): forget it, and give back its slot if it held one.
   * The limit may shrink; endpoints already ejected stay ejected until they return on their own.
   */
  leave(candidate: EjectionCandidate, heldSlot: boolean): void {
    this.#waiting.delete(candidate);
    this.#endpoints--;
    if (heldSlot) this.#ejected--;
    this.#admitWaiting();
  }

  /**
   * Take a slot for `candidate`. When there is no room, it joins the line and is called back
   * through {@link EjectionCandidate.retryEjection} once a slot frees up.
   */
  tryAcquire(candidate: EjectionCandidate): boolean {
    if (this.#ejected < this.limit) {
      this.#ejected++;
      this.#waiting.delete(candidate);
      return true;
    }
    this.#waiting.add(candidate);
    return false;
  }

  /** An ejected endpoint returned to service: its slot is free for the next in line. */
  release(): void {
    this.#ejected--;
    this.#admitWaiting();
  }

  /** Offer free slots to waiting endpoints, oldest first; each either takes one or drops out. */
  #admitWaiting(): void {
    for (const candidate of this.#waiting) {
      if (this.#ejected >= this.limit) return;
      this.#waiting.delete(candidate);
      candidate.retryEjection();
    }
  }
}
