/**
 * The retry budget: why budgets and not just "3 retries". A fixed retry count multiplies load
 * by up to (1 + retries) exactly when a dependency is failing: the retry storm that turns a
 * partial outage into a total one. A budget ties retries to real traffic instead: every request
 * deposits `percentCanRetry` of a token, every retry (and every hedge) withdraws a whole one, and
 * a reserve of `minRetriesPerSecond` × the window keeps low-traffic clients able to retry at all.
 * So the retries in any window (the current slot and the nine before it) are at most the reserve
 * plus `percentCanRetry` of that window's requests, however bad things get. Nothing spreads them
 * out: as in Finagle, the whole balance can go at once, and a slot's withdrawals all come back
 * when it leaves the window (the exact worst case is in docs/retries.md).
 * Defaults (Finagle's RetryBudget, tower's TpsBudget): 20% of requests + a reserve of 100
 * (10 retries/s × 10 s), over a 10 s window. Counting is a ring of ten slots on the Clock
 * (../core/rolling-counts.ts): O(1) per request, no timers.
 */
import type { Clock } from '../core/clock.js';
import { numberInRange, objectOption, optionKeys, positiveNumber } from '../core/options.js';
import { RollingCounts } from '../core/rolling-counts.js';

/** Settings of the retry budget (the client's `retry.budget` option, or `new RetryBudget`). */
export interface RetryBudgetOptions {
  /** Window over which deposits and withdrawals count, in ms. Default 10 000 (Finagle `ttl`). */
  ttlMs?: number;
  /** Retries always allowed per second, whatever the traffic. Default 10 (Finagle `minRetriesPerSec`). */
  minRetriesPerSecond?: number;
  /** Share of requests that may be retried, 0 to 1. Default 0.2 (Finagle `percentCanRetry`). */
  percentCanRetry?: number;
}

/** The keys of {@link RetryBudgetOptions}; any other key throws a ConfigError. */
export const RETRY_BUDGET_OPTION_KEYS = optionKeys<RetryBudgetOptions>({
  ttlMs: true,
  minRetriesPerSecond: true,
  percentCanRetry: true,
});

/**
 * The retry budget's defaults, Finagle's RetryBudget (tower's TpsBudget alike): 20% of calls may be
 * retried, plus a reserve of 10 retries per second, over a 10 s window.
 */
export const RETRY_BUDGET_DEFAULTS = {
  ttlMs: 10_000,
  minRetriesPerSecond: 10,
  percentCanRetry: 0.2,
} as const;

/** The window moves in tenths of `ttlMs`. */
const SLOTS = 10;
/** The two counts of the window (../core/rolling-counts.ts). */
const DEPOSITS = 0;
const WITHDRAWALS = 1;

/**
 * A retry budget shared by every retry and hedge of one client, or of several: pass one instance as
 * `retry.budget` to each client (an HTTP and a gRPC client of one service, say).
 */
export class RetryBudget {
  readonly ttlMs: number;
  readonly minRetriesPerSecond: number;
  readonly percentCanRetry: number;
  readonly #clock: Clock;
  readonly #counts: RollingCounts;

  constructor(clock: Clock, options?: RetryBudgetOptions) {
    const o = objectOption<RetryBudgetOptions>('retry.budget', options, RETRY_BUDGET_OPTION_KEYS);
    this.ttlMs = positiveNumber('retry.budget.ttlMs', o.ttlMs, RETRY_BUDGET_DEFAULTS.ttlMs);
    this.minRetriesPerSecond = numberInRange(
      'retry.budget.minRetriesPerSecond',
      o.minRetriesPerSecond,
      0,
      1e6,
      RETRY_BUDGET_DEFAULTS.minRetriesPerSecond,
    );
    this.percentCanRetry = numberInRange(
      'retry.budget.percentCanRetry',
      o.percentCanRetry,
      0,
      1,
      RETRY_BUDGET_DEFAULTS.percentCanRetry,
    );
    this.#clock = clock;
    this.#counts = new RollingCounts(2, SLOTS, this.ttlMs / SLOTS);
  }

  /** The clock the window runs on; clients that share this budget must run on it too. */
  get clock(): Clock {
    return this.#clock;
  }

  /** One request was made at `now` (once per logical call, before its first attempt). */
  deposit(now: number = this.#clock.now()): void {
    this.#counts.add(now, DEPOSITS);
  }

  /** Take one retry (or hedge) if the budget has it. */
  tryWithdraw(): boolean {
    const now = this.#clock.now();
    if (this.#balanceAt(now) < 1) return false;
    this.#counts.add(now, WITHDRAWALS);
    return true;
  }

  /** Retries available now (may be fractional). */
  balance(): number {
    return this.#balanceAt(this.#clock.now());
  }

  #balanceAt(now: number): number {
    const counts = this.#counts;
    counts.advance(now);
    const reserve = (this.minRetriesPerSecond * this.ttlMs) / 1000;
    return reserve + counts.total(DEPOSITS) * this.percentCanRetry - counts.total(WITHDRAWALS);
  }
}
