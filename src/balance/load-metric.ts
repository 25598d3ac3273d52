/**
 * The load-metric axis of a balancer (Finagle's load-metric mix-ins, tower's `Load`): how much it
 * costs to send one more request to an endpoint. Pickers compare costs; metrics keep the
 * per-endpoint accounting that produces them. Lower is better.
 */

/** Per-endpoint load accounting. One instance per endpoint; it survives discovery updates. */
export interface LoadMetric {
  /** Requests sent and not yet answered. */
  readonly pending: number;
  /** The cost of sending one more request at time `now` (a pick; may update decay state). */
  cost(now: number): number;
  /** The same cost, read without changing any state: for dashboards and stats. */
  peek(now: number): number;
  /**
   * For metrics that keep one (Peak EWMA): the latency estimate in ms the cost is built from,
   * read without changing any state.
   */
  peekEstimate?(now: number): number;
  /**
   * For metrics that keep one (Peak EWMA): set the latency estimate to one fresh sample, dropping
   * the history (an endpoint that probation kept aside and a probe found healthy again).
   */
  revive?(now: number, rttMs: number): void;
  /** For metrics that keep an estimate: whether it rests on a real sample yet, not only the initial guess. */
  readonly measured?: boolean;
  /** For metrics that keep one: the smoothed RTT of the samples alone (no peaks, no decay), in ms. */
  readonly smoothedRttMs?: number;
  /** A request to this endpoint starts at `now`. */
  start(now: number): void;
  /**
   * A request ends at `now` after `rttMs`. `ok` is false when it failed: a failure only counts
   * when it was slow, so a fast failure never makes an endpoint look cheap.
   */
  end(now: number, rttMs: number, ok: boolean): void;
}

/** Cost = pending requests (Finagle's least-loaded, tower's `PendingRequests`). */
export class PendingRequests implements LoadMetric {
  pending = 0;

  cost(_now: number): number {
    return this.pending;
  }

  peek(_now: number): number {
    return this.pending;
  }

  start(_now: number): void {
    this.pending++;
  }

  end(_now: number, _rttMs: number, _ok: boolean): void {
    this.pending--;
  }
}
