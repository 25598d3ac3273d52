/**
 * The accrual policy of one endpoint: when it has failed enough to be ejected, and for how long
 * (Finagle's FailureAccrualPolicy, kept apart from the state machine as Finagle keeps it apart
 * from FailureAccrualFactory). Two triggers, either of which ejects: `consecutiveFailures` in a
 * row (Finagle's consecutiveFailures policy), or a success rate under `minSuccessRate` over the
 * last `windowMs` once the window holds `minRequests` (its successRateWithinDuration policy). The
 * state machine (./state-machine.ts) tells it every outcome it counts and asks it whether to eject.
 *
 * Ejection time of the n-th ejection in a row (n = 1 after the endpoint was last alive), with
 * r = random() in [0, 1):
 *   base(n) = minEjectionMs * 2^(n-1);  time(n) = min(maxEjectionMs, base(n) * (1 + r))
 * Equal jitter (half fixed, half random, AWS's "equal jitter" with temp = 2 * base(n)): 5-10 s,
 * 10-20 s, ... 160-300 s, then 300 s. Finagle's equalJittered gives exactly 5 s the first time and
 * then the same ranges; weft jitters the first one too, so clients that saw the same outage do not
 * all probe at the same instant.
 */
import { RollingCounts } from '../../core/rolling-counts.js';
import type { AccrualConfig } from './options.js';

/** Buckets of the success-rate window: 1 s each at the default 30 s. */
const WINDOW_BUCKETS = 30;
/** The two counts of the success-rate window (../../core/rolling-counts.ts). */
const REQUESTS = 0;
const SUCCESSES = 1;

/** One endpoint's failure counts and ejection backoff. O(1) per outcome; allocates nothing. */
export class AccrualPolicy {
  readonly #config: AccrualConfig;
  readonly #window: RollingCounts;
  #consecutiveFailures = 0;
  /** Ejections since the endpoint was last alive: the step of the backoff. */
  #ejectionsInARow = 0;

  constructor(config: AccrualConfig) {
    this.#config = config;
    this.#window = new RollingCounts(2, WINDOW_BUCKETS, config.windowMs / WINDOW_BUCKETS);
  }

  /** Failures in a row (reset by a success and when the endpoint returns). */
  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** A request to the endpoint succeeded at `now`. */
  recordSuccess(now: number): void {
    this.#window.add(now, REQUESTS);
    this.#window.add(now, SUCCESSES);
    this.#consecutiveFailures = 0;
  }

  /** A request to the endpoint failed at `now`. */
  recordFailure(now: number): void {
    this.#window.add(now, REQUESTS);
    this.#consecutiveFailures++;
  }

  /** Does the endpoint meet an ejection trigger at `now`? */
  tripped(now: number): boolean {
    const config = this.#config;
    if (this.#consecutiveFailures >= config.consecutiveFailures) return true;
    const window = this.#window;
    window.advance(now);
    const requests = window.total(REQUESTS);
    return requests >= config.minRequests && window.total(SUCCESSES) < config.minSuccessRate * requests;
  }

  /** The endpoint is ejected (again): how long for, in ms; each ejection in a row doubles it. */
  nextEjectionMs(): number {
    const { minEjectionMs, maxEjectionMs, random } = this.#config;
    const n = ++this.#ejectionsInARow;
    const base = minEjectionMs * 2 ** Math.min(n - 1, 64);
    const r = random();
    const jitter = r > 0 ? (r < 1 ? r : 1) : 0; // NaN and out-of-range values clamp into [0, 1]
    return Math.min(maxEjectionMs, base * (1 + jitter));
  }

  /** The endpoint returned to service: its counts, window and backoff start afresh. */
  revived(): void {
    this.#consecutiveFailures = 0;
    this.#ejectionsInARow = 0;
    this.#window.reset();
  }
}
