/**
 * A virtual Clock for tests: time stands still until the test advances it, and timers fire in
 * due order (ties in creation order) while it does. No real timer is ever created.
 */
import type { Clock, TimerHandle } from './clock.js';

interface VirtualTimer extends TimerHandle {
  readonly due: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** A {@link Clock} whose time moves only when {@link VirtualClock.advance} is called. */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: VirtualTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: VirtualTimer = {
      due: this.#now + Math.max(0, ms),
      seq: this.#seq++,
      callback,
      cancelled: false,
      unref: () => timer,
    };
    this.#timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as VirtualTimer).cancelled = true;
    this.#timers = this.#timers.filter((t) => t !== handle);
  }

  /** Timers created and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /**
   * Move time forward by `ms`, firing every timer that falls due on the way, in order. A timer
   * scheduled by a callback fires in the same call when it falls due before the target time.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`VirtualClock.advance: ms must be >= 0, got ${ms}`);
    const target = this.#now + ms;
    while (this.#fireNext(target));
    this.#now = target;
  }

  /**
   * Like {@link advance}, but lets promise callbacks run between timers, so async code that
   * awaits a timer and then schedules another makes progress. Use it for async state machines.
   */
  async advanceAsync(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`VirtualClock.advanceAsync: ms must be >= 0, got ${ms}`);
    const target = this.#now + ms;
    await flushMicrotasks();
    while (this.#fireNext(target)) await flushMicrotasks();
    this.#now = target;
    await flushMicrotasks();
  }

  /** Fire the earliest timer due by `target`, moving time to it; false when there is none. */
  #fireNext(target: number): boolean {
    const next = this.#nextDue(target);
    if (next === undefined) return false;
    this.#timers.splice(this.#timers.indexOf(next), 1);
    this.#now = next.due;
    next.callback();
    return true;
  }

  #nextDue(target: number): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const t of this.#timers) {
      if (t.due > target) continue;
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
