/** VirtualClock: time moves only when advanced; timers fire in due order, ties in creation order. */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/virtual-clock.js';

describe('VirtualClock', () => {
  it('fires timers in due order as time advances, and not before', () => {
    const clock = new VirtualClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
    clock.advance(9);
    expect(fired).toEqual([]);
    clock.advance(11);
    expect(fired).toEqual(['a@1010', 'b@1020', 'c@1020']);
    expect(clock.now()).toBe(1_020);
  });

  it('fires a timer scheduled by a timer when it falls due within the same advance', () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
    }, 5);
    clock.advance(10);
    expect(fired).toEqual([5, 10]);
  });

  it('cancels timers', () => {
    const clock = new VirtualClock();
    let fired = false;
    const t = clock.setTimeout(() => {
      fired = true;
    }, 5);
    expect(clock.pendingTimers).toBe(1);
    clock.clearTimeout(t);
    clock.advance(100);
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets async code progress between timers with advanceAsync', async () => {
    const clock = new VirtualClock();
    const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
    const log: number[] = [];
    const task = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(100);
        log.push(clock.now());
      }
    })();
    await clock.advanceAsync(300);
    await task;
    expect(log).toEqual([100, 200, 300]);
  });

  it('rejects negative advances', () => {
    expect(() => new VirtualClock().advance(-1)).toThrow(RangeError);
  });
});
