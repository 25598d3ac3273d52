/**
 * Peak EWMA, the default load metric: an exponentially weighted moving average of round-trip time
 * that jumps to any RTT above it at once (the peak) and decays toward lower ones with weight
 * w = exp(−Δt/τ); cost = estimate × (pending + 1). Reading the estimate also decays it toward 0
 * (a read observes a zero sample), so an endpoint that was slow and is no longer chosen looks
 * cheaper as time passes and gets tried again. From Finagle's `PeakEwma` (Marius Eriksen) by way
 * of tower and linkerd2-proxy. Defaults: τ = 10 s and a new endpoint starts at 30 ms, both
 * linkerd2-proxy's EWMA defaults (its `EwmaConfig`: decay 10 s, default RTT 30 ms); see
 * docs/load-balancing.md. RTT is measured from the balancer's pick to the response headers.
 * The first success replaces the initial guess outright (the guess only stands in until a real
 * sample exists; averaged in, a 30 ms guess would take τ·ln(30) ≈ 34 s to fade from a 1 ms
 * endpoint, and a replica 50 ms slower would look less than twice as costly all that time).
 * Until that first sample the guess is not a cost either: an endpoint without one costs nothing
 * while idle and a penalty while a request is pending, so it gets one request at a time until it
 * answers (Finagle's PeakEwma: "if we don't have any latency history, we penalize the host on the
 * first probe"). Costed at the guess, a new endpoint would starve beside endpoints measured far
 * below it, and one that only fails fast would never be tried again, so failure accrual could not
 * eject it.
 * Beside the estimate it keeps a smoothed RTT of the samples alone (TCP's SRTT, RFC 6298: gain
 * 1/8, no peaks, no decay), which probation (./probation.ts) compares: a stall that makes every
 * endpoint peak at once fades from it within a few samples instead of τ.
 */
import type { LoadMetric } from './load-metric.js';

/** τ of the decay, in ms (linkerd2-proxy's and Finagle's 10 s). */
export const DEFAULT_DECAY_MS = 10_000;
/** RTT assumed for an endpoint before it has answered, in ms (linkerd2-proxy's 30 ms). */
export const DEFAULT_RTT_MS = 30;
/** Gain of the smoothed RTT (RFC 6298's α = 1/8). */
const SRTT_GAIN = 1 / 8;
/**
 * Cost of an endpoint with no sample yet and a request pending, before adding the pending count:
 * above any real cost, so it gets no second request until the first answers (Finagle's `Penalty`).
 */
export const UNMEASURED_PENALTY = 1e9;

export class PeakEwma implements LoadMetric {
  pending = 0;
  readonly #decayMs: number;
  #estimate: number;
  #stamp: number;
  /** Whether a successful sample has replaced the initial guess. */
  #measured = false;
  #smoothed = Number.NaN;

  constructor(now: number, decayMs: number = DEFAULT_DECAY_MS, initialRttMs: number = DEFAULT_RTT_MS) {
    this.#decayMs = decayMs;
    this.#estimate = initialRttMs;
    this.#stamp = now;
  }

  /**
   * Whether a real sample has replaced the initial guess (a success, or a failure slower than the
   * guess): until then the estimate is only a guess, and not a cost ({@link cost}).
   */
  get measured(): boolean {
    return this.#measured;
  }

  /** The smoothed RTT of the samples (RFC 6298's SRTT, gain 1/8), in ms; NaN before the first. */
  get smoothedRttMs(): number {
    return this.#smoothed;
  }

  /** The RTT estimate at `now`, decayed toward 0 since the last observation (and recorded so). */
  estimate(now: number): number {
    this.#observe(0, now);
    return this.#estimate;
  }

  /**
   * estimate × (pending + 1); without a sample yet, 0 while idle and {@link UNMEASURED_PENALTY} +
   * pending while a request is out (one request at a time until the first answer).
   */
  cost(now: number): number {
    const estimate = this.estimate(now);
    return this.#measured ? floor(estimate) * (this.pending + 1) : unmeasuredCost(this.pending);
  }

  /** The estimate at `now` without recording the read (same value as {@link estimate}). */
  peekEstimate(now: number): number {
    const elapsed = now > this.#stamp ? now - this.#stamp : 0;
    return this.#estimate * Math.exp(-elapsed / this.#decayMs);
  }

  peek(now: number): number {
    return this.#measured ? floor(this.peekEstimate(now)) * (this.pending + 1) : unmeasuredCost(this.pending);
  }

  start(_now: number): void {
    this.pending++;
  }

  end(now: number, rttMs: number, ok: boolean): void {
    this.pending--;
    if (ok && !this.#measured) {
      this.revive(now, rttMs);
    } else if (ok || rttMs > this.#estimate) {
      // A failure slower than the estimate is evidence of slowness (a timeout): a real sample.
      this.#measured = true;
      this.#observe(rttMs, now);
      const smoothed = this.#smoothed;
      this.#smoothed = Number.isNaN(smoothed) ? rttMs : smoothed + (rttMs - smoothed) * SRTT_GAIN;
    }
  }

  /**
   * Start afresh from one sample, as if it were the first: the estimate becomes `rttMs`, whatever
   * it was. Probation (./probation.ts) calls it when a probe of an endpoint it kept aside comes
   * back within the healthy range, so the endpoint rejoins at the cost it has now instead of a
   * peak that would take τ·ln(peak/rtt) to fade.
   */
  revive(now: number, rttMs: number): void {
    this.#measured = true;
    this.#estimate = rttMs;
    this.#smoothed = rttMs;
    this.#stamp = now;
  }

  /** Fold one RTT sample in: a peak is taken at once, anything lower is averaged in by elapsed time. */
  #observe(rttMs: number, now: number): void {
    const elapsed = now > this.#stamp ? now - this.#stamp : 0;
    this.#stamp = now;
    if (rttMs > this.#estimate) {
      this.#estimate = rttMs;
      return;
    }
    if (elapsed === 0) return;
    const w = Math.exp(-elapsed / this.#decayMs);
    this.#estimate = this.#estimate * w + rttMs * (1 - w);
  }
}

/**
 * After hours without a sample the estimate underflows to exactly 0, and 0 × (pending + 1) would
 * make in-flight requests free. A floor keeps pending counting (Finagle adds a penalty instead).
 */
const MIN_ESTIMATE_MS = 1e-6;

function floor(estimate: number): number {
  return estimate > MIN_ESTIMATE_MS ? estimate : MIN_ESTIMATE_MS;
}

/** Cost of an endpoint with no sample yet: free while idle, past every real cost while one request is out. */
function unmeasuredCost(pending: number): number {
  return pending === 0 ? 0 : UNMEASURED_PENALTY + pending;
}
