/** CallContext.fork: copies share history and hear the call's cancellation, token or signal. */
import { describe, expect, it } from 'vitest';
import { Cancellation } from '../../src/core/cancellation.js';
import { CallContext } from '../../src/core/context.js';

describe('CallContext.fork', () => {
  it("shares the tried list and attempt log, and hears the call's token", () => {
    const parent = new CallContext('svc', undefined, new Cancellation());
    parent.deadline = 123;
    parent.idempotent = true;
    const child = parent.fork(new Cancellation());
    child.markTried('10.0.0.1:80');
    expect(parent.tried).toEqual(['10.0.0.1:80']);
    expect(child.deadline).toBe(123);
    expect(child.idempotent).toBe(true);
    parent.cancellation!.abort('deadline');
    expect(child.cancellation!.cancelled).toBe(true);
    expect(child.cancellation!.reason).toBe('deadline');
  });

  it("hears the caller's signal when the call has no token of its own", () => {
    const controller = new AbortController();
    const parent = new CallContext('svc', controller.signal);
    const child = parent.fork(new Cancellation());
    controller.abort(new Error('caller left'));
    expect(child.cancellation!.cancelled).toBe(true);
    expect((child.cancellation!.reason as Error).message).toBe('caller left');
    const late = parent.fork(new Cancellation());
    expect(late.cancellation!.cancelled).toBe(true);
  });
});
