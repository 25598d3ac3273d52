/**
 * A concurrency limit: how many requests a server takes at once, possibly adapting to what it
 * measures (Netflix concurrency-limits' `Limit`). The limiter (./limiter.ts) enforces it and feeds
 * it one sample per request that ran: when it started, how long it took, how many were in flight
 * when it was admitted, and whether it was dropped (its deadline passed, its caller went away).
 * An algorithm that moves the limit only on a window of samples does the windowing itself.
 */

/** What one finished request tells the limit. */
export interface LimitSample {
  /** When the request was admitted, on the limiter's clock (ms). */
  readonly startMs: number;
  /** How long it took, in ms. */
  readonly rttMs: number;
  /** Requests in flight when it was admitted, itself included. */
  readonly inflight: number;
  /** It was dropped: timed out, or its caller went away (a loss signal). */
  readonly dropped: boolean;
}

/** A concurrency limit. `limit` is read on every admission, so it must be cheap. */
export interface ConcurrencyLimit {
  /** The algorithm's name, for metrics and the admin page (`fixed`, `gradient2`, ...). */
  readonly name: string;
  /** Requests allowed in flight now: an integer ≥ 1. */
  readonly limit: number;
  /** Learn from one finished request. */
  update(sample: LimitSample): void;
}
