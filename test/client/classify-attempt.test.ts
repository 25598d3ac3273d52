/**
 * Classifying an attempt from its context: the caller's own cancellation (an abort, a hedge's
 * losing copy) is ignorable; the call's timeouts are not; an attempt never written counts as not
 * written; a per-call classifier goes first.
 */
import { describe, expect, it } from 'vitest';
import { attemptClassifier } from '../../src/client/classify-attempt.js';
import { Cancellation } from '../../src/core/cancellation.js';
import { failure } from '../../src/core/classification.js';
import { CallContext } from '../../src/core/context.js';
import { defaultHttpClassifier } from '../../src/http/protocol/classifier.js';
import type { HttpRequest, HttpResponse } from '../../src/http/protocol/request.js';
import { HedgeLostError } from '../../src/policies/hedge.js';

const classify = attemptClassifier<HttpRequest, HttpResponse>(
  (req, outcome, idempotent) => defaultHttpClassifier(req, outcome, idempotent)!,
);
const request: HttpRequest = { method: 'POST', path: '/', headers: {}, body: 'x' };

function context(): CallContext {
  const ctx = new CallContext('svc', undefined, new Cancellation());
  ctx.request = request;
  return ctx;
}

describe('attemptClassifier', () => {
  it("ignores the call's own cancellation: a hedge that lost, a caller's abort", () => {
    const lost = context();
    const reason = new HedgeLostError();
    lost.cancellation!.abort(reason);
    expect(classify(lost, reason, true).kind).toBe('ignorable');
    const aborted = context();
    const abort = new Error('caller gave up');
    aborted.cancellation!.abort(abort);
    expect(classify(aborted, abort, true).kind).toBe('ignorable');
  });

  it("still judges the call's timeouts", () => {
    const ctx = context();
    const deadline = ctx.deadlineExceeded(0);
    ctx.cancellation!.abort(deadline);
    ctx.requestWritten = true;
    expect(classify(ctx, deadline, true).kind).toBe('failure');
    ctx.requestWritten = false; // refused before the transport wrote it
    expect(classify(ctx, deadline, true).kind).toBe('ignorable');
  });

  it('requeues a POST whose failure came before it was written, and not after', () => {
    const ctx = context();
    const reset = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    ctx.requestWritten = false;
    expect(classify(ctx, reset, true)).toMatchObject({ kind: 'retryable', requeue: true });
    ctx.requestWritten = true;
    expect(classify(ctx, reset, true).kind).toBe('failure');
  });

  it('asks the per-call classifier first, then the client one', () => {
    const ctx = context();
    ctx.classifier = (() => failure('mine')) as never;
    expect(classify(ctx, { statusCode: 200, headers: {} }, false).reason).toBe('mine');
  });
});
