/**
 * How a whole call ended (src/core/call-outcome.ts): one rule for the breaker, the throttle and
 * the `class` label of the call metrics, so that a metric and the breaker never describe the same
 * call differently.
 */
import { describe, expect, it } from 'vitest';
import { callClassName, rejectedCallClass, resolvedCallClass } from '../../src/core/call-outcome.js';
import { Cancellation } from '../../src/core/cancellation.js';
import { failure, IGNORABLE, type ResponseClass, retryable, SUCCESS } from '../../src/core/classification.js';
import { CallContext } from '../../src/core/context.js';
import {
  CircuitOpenError,
  ClientClosedError,
  ConfigError,
  DeadlineExceededError,
  OverloadedError,
  RequestFailedError,
  RetryBudgetExhaustedError,
} from '../../src/core/errors.js';

function context(last?: ResponseClass, signal?: AbortSignal): CallContext {
  const ctx = new CallContext('svc', signal);
  ctx.classification = last;
  return ctx;
}

describe('the class of a whole call', () => {
  it('a response: the class of the attempt that produced it, success when unclassified', () => {
    expect(resolvedCallClass(context())).toBe(SUCCESS);
    const answered = retryable('status 503');
    expect(resolvedCallClass(context(answered))).toBe(answered);
    expect(callClassName(context(IGNORABLE), false, {})).toBe('ignorable');
  });

  it.each([
    ['the client closed', new ClientClosedError(), 'ignorable'],
    ['a bad option', new ConfigError('timeoutMs', -1, 'expected a number'), 'ignorable'],
    ['the circuit open', new CircuitOpenError(10), 'ignorable'],
    ['throttled locally', new OverloadedError('throttled'), 'ignorable'],
    ['the deadline', new DeadlineExceededError(100), 'failure'],
    ['a failed request', new RequestFailedError(new Error('reset')), 'failure'],
  ] as const)('an error: %s is %s', (_case, error, kind) => {
    const ctx = context(retryable('ECONNREFUSED', true));
    expect(rejectedCallClass(ctx, error).kind).toBe(kind);
    expect(callClassName(ctx, true, error)).toBe(kind);
  });

  it('a refused retry is judged by what the last attempt met', () => {
    const last = retryable('status 503');
    expect(rejectedCallClass(context(last), new RetryBudgetExhaustedError())).toBe(last);
    expect(callClassName(context(last), true, new RetryBudgetExhaustedError())).toBe('retryable');
    expect(rejectedCallClass(context(), new RetryBudgetExhaustedError())).toEqual(
      failure('WEFT_RETRY_BUDGET_EXHAUSTED'),
    );
  });

  it("the caller's own abort is ignorable; another error takes the last attempt's failure, or its code", () => {
    const controller = new AbortController();
    controller.abort(new Error('gave up'));
    expect(rejectedCallClass(context(undefined, controller.signal), controller.signal.reason)).toBe(
      IGNORABLE,
    );
    const last = retryable('ECONNRESET');
    expect(rejectedCallClass(context(last), new Error('reset'))).toBe(last);
    const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    expect(rejectedCallClass(context(SUCCESS), refused)).toEqual(failure('ECONNREFUSED'));
    expect(callClassName(context(SUCCESS), true, refused)).toBe('failure');
  });
});

describe("the caller's abort through the call's own token", () => {
  it("a dispatcher caller that aborts during a retry backoff: ignorable, not the last attempt's class", () => {
    const token = new Cancellation();
    const ctx = new CallContext('svc', undefined, token);
    ctx.classification = retryable('status 503');
    const reason = new Error('the caller gave up');
    token.abort(reason);
    expect(rejectedCallClass(ctx, reason)).toBe(IGNORABLE);
    expect(callClassName(ctx, true, reason)).toBe('ignorable');
    // Any other error of the same call is still judged by what its last attempt met.
    expect(callClassName(ctx, true, new Error('reset'))).toBe('retryable');
  });
});
