/**
 * Expiry lists on the virtual clock: entries expire at their due time and not before, removed
 * entries never expire, one timer serves a whole list of same-duration entries, lists re-arm for
 * the next head and disappear when empty.
 */
import { describe, expect, it } from 'vitest';
import { Cancellation } from '../../src/core/cancellation.js';
import { Expiry, ExpiryScheduler } from '../../src/core/expiry.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';

class Recorder extends Expiry {
  constructor(
    readonly name: string,
    readonly log: string[],
    readonly clock: VirtualClock,
  ) {
    super();
  }
  expire(): void {
    this.log.push(`${this.name}@${this.clock.now()}`);
  }
}

describe('ExpiryScheduler', () => {
  it('expires entries at their due time, in order, with one timer per duration', () => {
    const clock = new VirtualClock();
    const scheduler = new ExpiryScheduler(clock);
    const log: string[] = [];
    scheduler.add(new Recorder('a', log, clock), 100, clock.now());
    clock.advance(30);
    scheduler.add(new Recorder('b', log, clock), 100, clock.now());
    scheduler.add(new Recorder('c', log, clock), 100, clock.now());
    expect(clock.pendingTimers).toBe(1);
    clock.advance(69);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['a@100']);
    expect(clock.pendingTimers).toBe(1); // re-armed for b and c
    clock.advance(30);
    expect(log).toEqual(['a@100', 'b@130', 'c@130']);
    expect(clock.pendingTimers).toBe(0);
    expect(scheduler.listCount).toBe(0);
  });

  it('never expires a removed entry, and re-arms for the entry behind it', () => {
    const clock = new VirtualClock();
    const scheduler = new ExpiryScheduler(clock);
    const log: string[] = [];
    const a = new Recorder('a', log, clock);
    const b = new Recorder('b', log, clock);
    scheduler.add(a, 50, 0);
    clock.advance(10);
    scheduler.add(b, 50, clock.now());
    scheduler.remove(a);
    scheduler.remove(a); // idempotent
    clock.advance(40); // a's due: the timer fires, finds b not yet due, re-arms
    expect(log).toEqual([]);
    clock.advance(10);
    expect(log).toEqual(['b@60']);
  });

  it('keeps separate lists for separate durations', () => {
    const clock = new VirtualClock();
    const scheduler = new ExpiryScheduler(clock);
    const log: string[] = [];
    scheduler.add(new Recorder('long', log, clock), 500, 0);
    scheduler.add(new Recorder('short', log, clock), 20, 0);
    expect(scheduler.listCount).toBe(2);
    clock.advance(500);
    expect(log).toEqual(['short@20', 'long@500']);
  });

  it('an emptied list lets its timer lapse and is dropped', () => {
    const clock = new VirtualClock();
    const scheduler = new ExpiryScheduler(clock);
    const entries = Array.from({ length: 1000 }, (_, i) => new Recorder(String(i), [], clock));
    for (const e of entries) scheduler.add(e, 15_000, 0);
    for (const e of entries) scheduler.remove(e);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(15_000);
    expect(clock.pendingTimers).toBe(0);
    expect(scheduler.listCount).toBe(0);
  });
});

describe('Cancellation', () => {
  it('runs each listener once with the reason readable, and ignores later aborts', () => {
    const c = new Cancellation();
    const heard: unknown[] = [];
    const one = () => heard.push(['one', c.reason]);
    c.once('abort', one);
    c.once('abort', () => heard.push(['two', c.reason]));
    c.abort('first');
    c.abort('second');
    expect(heard).toEqual([
      ['one', 'first'],
      ['two', 'first'],
    ]);
    expect(c.cancelled).toBe(true);
  });

  it('forgets removed listeners and calls late listeners at once', () => {
    const c = new Cancellation();
    let called = 0;
    const listener = () => called++;
    c.once('abort', listener);
    c.removeListener('abort', listener);
    c.abort(new Error('x'));
    expect(called).toBe(0);
    c.once('abort', listener);
    expect(called).toBe(1);
  });

  it('has no `aborted` property, so undici treats it as an EventEmitter signal', () => {
    expect('aborted' in new Cancellation()).toBe(false);
  });
});
