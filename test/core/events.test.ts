/**
 * The one event primitive (src/core/events.ts): subscription order, unsubscribing, changes made
 * while a value is being delivered, and a listener that throws, reported once as WEFT_HOOK_ERROR.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ListenerSet, reportHookError } from '../../src/core/events.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('ListenerSet', () => {
  it('delivers each value to every listener, in subscription order, through its event', () => {
    const set = new ListenerSet<number>('test');
    const seen: string[] = [];
    set.event((v) => seen.push(`a${v}`));
    set.add((v) => seen.push(`b${v}`));
    set.emit(1);
    set.emit(2);
    expect(seen).toEqual(['a1', 'b1', 'a2', 'b2']);
    expect(set.size).toBe(2);
  });

  it('subscribes the same function once, and unsubscribing twice does nothing', () => {
    const set = new ListenerSet<number>('test');
    const seen: number[] = [];
    const listener = (v: number) => seen.push(v);
    const stop = set.event(listener);
    set.event(listener);
    set.emit(1);
    stop();
    stop();
    set.emit(2);
    expect(seen).toEqual([1]);
    expect(set.size).toBe(0);
  });

  it('skips listeners added while a value is delivered, and those removed before their turn', () => {
    const set = new ListenerSet<number>('test');
    const seen: string[] = [];
    let stopC: () => void = () => {};
    set.add((v) => {
      seen.push(`a${v}`);
      if (v === 1) {
        set.add((w) => seen.push(`late${w}`));
        stopC();
      }
    });
    set.add((v) => seen.push(`b${v}`));
    stopC = set.add((v) => seen.push(`c${v}`));
    set.emit(1);
    set.emit(2);
    expect(seen).toEqual(['a1', 'b1', 'a2', 'b2', 'late2']);
  });

  it('isolates a listener that throws, reporting it as a WEFT_HOOK_ERROR warning', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const set = new ListenerSet<number>('dns:api.internal:8080');
    const seen: number[] = [];
    set.add(() => {
      throw new Error('listener bug');
    });
    set.add((v) => seen.push(v));
    expect(() => set.emit(7)).not.toThrow();
    expect(seen).toEqual([7]);
    expect(warn).toHaveBeenCalledTimes(1);
    const [message, options] = warn.mock.calls[0] as [string, { type: string; code: string }];
    expect(message).toMatch(/^a listener of dns:api\.internal:8080 threw: Error: listener bug/);
    expect(options).toEqual({ type: 'WeftWarning', code: 'WEFT_HOOK_ERROR' });
  });

  it('forgets every listener on clear', () => {
    const set = new ListenerSet<number>('test');
    const seen: number[] = [];
    set.add((v) => seen.push(v));
    set.clear();
    set.emit(1);
    expect(seen).toEqual([]);
  });
});

describe('reportHookError', () => {
  it('names the hook and gives what was thrown, even when it is not an Error', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    reportHookError('the classifier of orders', 'oops');
    expect(warn).toHaveBeenCalledWith('the classifier of orders threw: oops', {
      type: 'WeftWarning',
      code: 'WEFT_HOOK_ERROR',
    });
  });
});
