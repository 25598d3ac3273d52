/**
 * Classifying one attempt from its context, for any protocol: the per-call classifier first, then
 * the client's (which defers to the protocol's default). The balancer calls this when an attempt
 * settles, before the endpoint stack sees the outcome, so no endpoint layer can skip it. The
 * caller's own cancellation (an abort, a hedge's losing copy) is ignorable: it says nothing about
 * the endpoint; the call's own timeouts are judged like any other failure. An attempt the transport
 * never wrote (refused by an endpoint layer) counts as not written.
 */
import {
  type Classifier,
  IGNORABLE,
  type Outcome,
  type ResponseClass,
  SUCCESS,
} from '../core/classification.js';
import type { CallContext } from '../core/context.js';
import { WeftError } from '../core/errors.js';

/** A classifier that always answers: a protocol's default, or a user's that defers to it. */
export type AnsweringClassifier<Req, Res> = (
  req: Req,
  outcome: Outcome<Res>,
  idempotent: boolean,
) => ResponseClass;

/** The balancer's classify hook: the verdict on the attempt that `ctx` describes. */
export type AttemptClassifier = (ctx: CallContext, outcome: unknown, failed: boolean) => ResponseClass;

/** Errors that are the call's own timeouts: they do say something about the endpoint. */
const TIMEOUTS: ReadonlySet<string> = new Set(['WEFT_DEADLINE_EXCEEDED', 'WEFT_ATTEMPT_TIMEOUT']);

/**
 * The client's classifier: the user's, deferring to the protocol's default when it returns
 * undefined; the default itself when the user gave none.
 */
export function withDefault<Req, Res>(
  user: Classifier<Req, Res> | undefined,
  fallback: AnsweringClassifier<Req, Res>,
): AnsweringClassifier<Req, Res> {
  if (user === undefined) return fallback;
  return (req, outcome, idempotent) => user(req, outcome, idempotent) ?? fallback(req, outcome, idempotent);
}

/**
 * The classify hook over `classifier` (which always answers). `plainSuccess`, when given, tells
 * cheaply that a response is one `classifier` would call a success (HTTP: a status below 500 but
 * 429): with no per-call classifier, such a response needs no outcome object. Pass it only when
 * `classifier` is the protocol's default, which is what it stands for.
 */
export function attemptClassifier<Req, Res>(
  classifier: AnsweringClassifier<Req, Res>,
  plainSuccess?: ((response: Res) => boolean) | undefined,
): AttemptClassifier {
  return (ctx, outcome, failed) => {
    const req = ctx.request as Req;
    const perCall = ctx.classifier as Classifier<Req, Res> | undefined;
    if (!failed) {
      if (plainSuccess !== undefined && perCall === undefined && plainSuccess(outcome as Res)) return SUCCESS;
      const result = { response: outcome as Res, written: true } as const;
      return perCall?.(req, result, ctx.idempotent) ?? classifier(req, result, ctx.idempotent);
    }
    if (outcome === ctx.cancelledReason() && !(outcome instanceof WeftError && TIMEOUTS.has(outcome.code))) {
      return IGNORABLE;
    }
    const result = { error: outcome, written: ctx.requestWritten } as const;
    return perCall?.(req, result, ctx.idempotent) ?? classifier(req, result, ctx.idempotent);
  };
}
