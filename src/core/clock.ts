/**
 * The Clock: every timestamp and timer in weft goes through one, so that EWMA decay, backoff,
 * ejection times, budgets and deadlines run on virtual time in tests (tower's paused clock,
 * Finagle's `Time.withCurrentTimeFrozen`). Times are milliseconds on a monotonic scale; only
 * differences between two readings of the same clock mean anything.
 */

import { performance } from 'node:perf_hooks';

/** An opaque timer handle returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  /** Detach the timer from the event loop so it does not keep the process alive. */
  unref?(): unknown;
}

/** A source of monotonic time and timers. */
export interface Clock {
  /** Milliseconds on a monotonic scale (not the wall clock). */
  now(): number;
  /** Run `callback` after `ms` milliseconds. The timer never keeps the process alive. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancel a timer created by this clock; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock: `performance.now()` and unref'd Node timers. `performance` is imported, not read
 * from `globalThis`, where Node defines it as a lazy accessor that every read calls again (the
 * server half reads this clock a few times per request).
 */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
