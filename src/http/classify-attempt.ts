/**
 * Classifying one HTTP attempt from its context: the per-call classifier first, then the client's
 * (which defers to the default). The balancer calls this when an attempt settles, before the
 * endpoint stack sees the outcome, so no endpoint layer can skip it. The caller's own cancellation
 * (an abort, a hedge's losing copy) is ignorable: it says nothing about the endpoint. An attempt
 * the transport never wrote (refused by an endpoint layer) counts as not written.
 */
import { IGNORABLE, type ResponseClass, SUCCESS } from '../core/classification.js';
import type { CallContext } from '../core/context.js';
import { WeftError } from '../core/errors.js';
import { defaultHttpClassifier, type HttpClassifier, isPlainSuccessStatus } from './classifier.js';
import type { HttpRequest, HttpResponse } from './request.js';

/** Errors that are the call's own timeouts: they do say something about the endpoint. */
const TIMEOUTS: ReadonlySet<string> = new Set(['WEFT_DEADLINE_EXCEEDED', 'WEFT_ATTEMPT_TIMEOUT']);

export function httpAttemptClassifier(
  classifier: (
    req: HttpRequest,
    outcome: Parameters<HttpClassifier>[1],
    idempotent: boolean,
  ) => ResponseClass,
): (ctx: CallContext, outcome: unknown, failed: boolean) => ResponseClass {
  // With the default classifier and no per-call one, a plain success needs no outcome object.
  const isDefault = classifier === (defaultHttpClassifier as unknown);
  return (ctx, outcome, failed) => {
    const req = ctx.request as HttpRequest;
    const perCall = ctx.classifier as HttpClassifier | undefined;
    if (!failed) {
      if (isDefault && perCall === undefined) {
        if (isPlainSuccessStatus((outcome as HttpResponse).statusCode)) return SUCCESS;
      }
      const result = { response: outcome as HttpResponse, written: true } as const;
      return perCall?.(req, result, ctx.idempotent) ?? classifier(req, result, ctx.idempotent);
    }
    if (outcome === ctx.cancelledReason() && !(outcome instanceof WeftError && TIMEOUTS.has(outcome.code))) {
      return IGNORABLE;
    }
    const result = { error: outcome, written: ctx.requestWritten } as const;
    return perCall?.(req, result, ctx.idempotent) ?? classifier(req, result, ctx.idempotent);
  };
}
