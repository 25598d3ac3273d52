/**
 * Typed slots for a layer's own state on a call's context: each slot reads back what it wrote
 * and nothing else; a hedge's copy starts from the call's state without writing into it, and has
 * attempt state of its own; a call no layer keeps state for has no state array at all.
 */
import { describe, expect, it } from 'vitest';
import { Cancellation } from '../../src/core/cancellation.js';
import { CallContext } from '../../src/core/context.js';
import { AttemptSlot, CallSlot } from '../../src/core/context-slot.js';

const spanOfCall = new CallSlot<{ id: string }>('test: a call span');
const another = new CallSlot<number>('test: another layer');
const spanOfAttempt = new AttemptSlot<string>('test: an attempt span');

describe('CallSlot and AttemptSlot', () => {
  it('each slot reads what it wrote, and a context nobody wrote to holds no state', () => {
    const ctx = new CallContext('svc');
    expect(spanOfCall.get(ctx)).toBeUndefined();
    spanOfCall.set(ctx, undefined);
    expect(ctx.callState).toBeUndefined();
    const span = { id: 'a' };
    spanOfCall.set(ctx, span);
    another.set(ctx, 7);
    spanOfAttempt.set(ctx, 'first attempt');
    expect(spanOfCall.get(ctx)).toBe(span);
    expect(another.get(ctx)).toBe(7);
    expect(spanOfAttempt.get(ctx)).toBe('first attempt');
    spanOfCall.set(ctx, undefined);
    expect(spanOfCall.get(ctx)).toBeUndefined();
    expect(another.get(ctx)).toBe(7);
  });

  it("a hedge's copy starts from the call's state, writes its own, and has its own attempt state", () => {
    const ctx = new CallContext('svc');
    const span = { id: 'call' };
    spanOfCall.set(ctx, span);
    spanOfAttempt.set(ctx, 'parent attempt');
    const copy = ctx.fork(new Cancellation());
    expect(spanOfCall.get(copy)).toBe(span);
    expect(spanOfAttempt.get(copy)).toBeUndefined();
    another.set(copy, 1);
    spanOfAttempt.set(copy, 'copy attempt');
    expect(another.get(ctx)).toBeUndefined();
    expect(spanOfAttempt.get(ctx)).toBe('parent attempt');
  });
});
