/**
 * Expiry lists: deadlines for many calls on few timers. Calls with the same timeout go into one
 * FIFO list (their due times are then in order) with a single clock timer for its head, the way
 * Node keeps one timer list per duration and Finagle shares one wheel timer. Adding and removing
 * an entry is O(1) and creates no timer; a list's timer fires at most once per head, expires what
 * is due and re-arms for the next head. Precision: 1 ms (durations are grouped by whole ms).
 */
import type { Clock, TimerHandle } from './clock.js';

/** What an expiry list holds: an intrusive list node that knows what expiring means. */
export interface ExpiryEntry {
  due: number;
  prev: ExpiryEntry | null;
  next: ExpiryEntry | null;
  list: ExpiryList | null;
  /** Called once, from the list's timer, when `due` has passed. */
  expire(): void;
}

/** A base class for entries. Subclasses say what expiring means. */
export abstract class Expiry implements ExpiryEntry {
  due = 0;
  prev: ExpiryEntry | null = null;
  next: ExpiryEntry | null = null;
  list: ExpiryList | null = null;

  abstract expire(): void;
}

/** One list of same-duration entries (opaque outside this file). */
export class ExpiryList {
  head: ExpiryEntry | null = null;
  tail: ExpiryEntry | null = null;
  timer: TimerHandle | null = null;
  readonly fire: () => void;

  constructor(
    readonly key: number,
    readonly owner: ExpiryScheduler,
  ) {
    this.fire = () => owner.fire(this);
  }
}

/** The expiry lists of one clock. */
export class ExpiryScheduler {
  readonly #clock: Clock;
  readonly #lists = new Map<number, ExpiryList>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Schedule `entry` to expire `durationMs` after `now`. */
  add(entry: ExpiryEntry, durationMs: number, now: number): void {
    const key = Math.ceil(durationMs);
    let list = this.#lists.get(key);
    if (list === undefined) {
      list = new ExpiryList(key, this);
      this.#lists.set(key, list);
    }
    entry.due = now + durationMs;
    entry.list = list;
    entry.prev = list.tail;
    entry.next = null;
    if (list.tail === null) list.head = entry;
    else list.tail.next = entry;
    list.tail = entry;
    if (list.timer === null) list.timer = this.#clock.setTimeout(list.fire, durationMs);
  }

  /** Unschedule `entry` (no-op if it already expired or was removed). */
  remove(entry: ExpiryEntry): void {
    const list = entry.list;
    if (list === null) return;
    if (entry.prev === null) list.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === null) list.tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = entry.list = null;
  }

  /** @internal The list's timer: expire what is due, then re-arm for the new head or drop the list. */
  fire(list: ExpiryList): void {
    list.timer = null;
    const now = this.#clock.now();
    for (let entry = list.head; entry !== null && entry.due <= now; entry = list.head) {
      this.remove(entry);
      entry.expire();
    }
    const head = list.head;
    if (head === null) {
      if (this.#lists.get(list.key) === list) this.#lists.delete(list.key);
      return;
    }
    list.timer = this.#clock.setTimeout(list.fire, head.due - now);
  }

  /** Lists currently alive (for tests). */
  get listCount(): number {
    return this.#lists.size;
  }
}

const schedulers = new WeakMap<Clock, ExpiryScheduler>();

/** The shared expiry scheduler of `clock`. */
export function expirySchedulerFor(clock: Clock): ExpiryScheduler {
  let scheduler = schedulers.get(clock);
  if (scheduler === undefined) {
    scheduler = new ExpiryScheduler(clock);
    schedulers.set(clock, scheduler);
  }
  return scheduler;
}
