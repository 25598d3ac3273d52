/**
 * How a whole call ended, as one ResponseClass, for the filters above retry (circuit breaker,
 * adaptive throttling) that judge logical calls rather than attempts. A response carries the
 * classification of the attempt that produced it; an error is classified by what it says.
 */
import { failure, IGNORABLE, type ResponseClass, SUCCESS } from './classification.js';
import type { CallContext } from './context.js';
import { errorCode, WeftError } from './errors.js';

/** The class of a call that resolved with a response. */
export function resolvedCallClass(ctx: CallContext): ResponseClass {
  return ctx.classification ?? SUCCESS;
}

/** The class of a call that failed with `error`. */
export function rejectedCallClass(ctx: CallContext, error: unknown): ResponseClass {
  if (error instanceof WeftError) {
    switch (error.code) {
      case 'WEFT_CLIENT_CLOSED':
      case 'WEFT_CONFIG':
      case 'WEFT_CIRCUIT_OPEN':
      case 'WEFT_OVERLOADED':
        return IGNORABLE;
      case 'WEFT_RETRY_BUDGET_EXHAUSTED':
        // Judge by what the last attempt met (a 503, a refused connection), not by the refusal.
        return ctx.classification ?? failure(error.code);
      default:
        return failure(error.code);
    }
  }
  // The caller gave up: nothing to learn about the destination. (Deadline and attempt timeouts,
  // which also abort the signal, are WeftErrors and were classified above.)
  if (ctx.signal?.aborted && error === ctx.signal.reason) return IGNORABLE;
  const last = ctx.classification;
  if (last !== undefined && last.kind !== 'success') return last;
  return failure(errorCode(error) ?? 'error');
}
