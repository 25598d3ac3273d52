/**
 * The default gRPC classifier (see src/core/classification.ts for the classes), the gRPC side of
 * docs/retries.md's HTTP table, following gRFC A6 and grpc/grpc `doc/statuscodes.md`:
 *
 *   OK                                                   success
 *   INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, OUT_OF_RANGE,
 *   UNAUTHENTICATED, PERMISSION_DENIED, UNIMPLEMENTED, ABORTED
 *                                                        success: the caller's or the application's
 *                                                        answer, returned as it is; the endpoint is fine
 *   CANCELLED that weft or the caller caused             ignorable
 *   committed (headers or a message came), any other    failure: A6 never sends a committed call again
 *   `grpc-retry-pushback-ms` negative or malformed       failure: the server said not to retry (A6)
 *   UNAVAILABLE, nothing of the request written          retryable + requeue, any method
 *   UNAVAILABLE, RESOURCE_EXHAUSTED, a CANCELLED that weft did not cause (a lost connection)
 *                                                        retryable if idempotent, else failure
 *   a per-attempt timeout                                as HTTP: requeue if nothing was written,
 *                                                        retryable if idempotent, else failure
 *   DEADLINE_EXCEEDED from the server, INTERNAL, UNKNOWN, DATA_LOSS, anything else
 *                                                        failure
 *
 * `grpc-retry-pushback-ms` of 0 or more on a retryable status becomes `retryAfterMs`. A method's
 * `retryableStatusCodes` (the `methods` option, or a service config's `retryPolicy`) makes those
 * codes retryable for it whatever its idempotency, as grpc-js's retry policy does; a committed
 * call is still never retried.
 */
import { status as Status } from '@grpc/grpc-js';
import {
  type Classifier,
  failure,
  IGNORABLE,
  type Outcome,
  type ResponseClass,
  retryable,
  SUCCESS,
} from '../core/classification.js';
import { errorCode, WeftError } from '../core/errors.js';
import { grpcStatusName } from '../core/grpc-status.js';
import type { GrpcRequest, GrpcResponse } from './request.js';

/** Codes that are an answer, not an endpoint's failure. */
const ANSWERS: ReadonlySet<number> = new Set([
  Status.INVALID_ARGUMENT,
  Status.NOT_FOUND,
  Status.ALREADY_EXISTS,
  Status.FAILED_PRECONDITION,
  Status.OUT_OF_RANGE,
  Status.UNAUTHENTICATED,
  Status.PERMISSION_DENIED,
  Status.UNIMPLEMENTED,
  Status.ABORTED,
]);

/** The trailer by which a server asks for a pause before a retry, or for none (gRFC A6). */
export const PUSHBACK_KEY = 'grpc-retry-pushback-ms';

/** A classifier of gRPC attempts. */
export type GrpcClassifier = Classifier<GrpcRequest, GrpcResponse>;

/** The status codes a method retries whatever its idempotency (`methods[...].retryableStatusCodes`). */
export type RetryableCodesOf = (req: GrpcRequest) => ReadonlySet<number> | undefined;

/** The name of a status code (`UNAVAILABLE`), for reasons and errors. */
export const statusName = grpcStatusName;

/**
 * The pushback a status carries: `undefined` when none, a pause in ms, or `false` when the server
 * said not to retry (a negative or malformed value).
 */
export function pushbackOf(response: GrpcResponse): number | false | undefined {
  const values = response.status?.metadata?.get(PUSHBACK_KEY);
  if (values === undefined || values.length === 0) return undefined;
  const text = String(values[0]);
  if (!/^\d+$/.test(text)) return false;
  return Number(text);
}

/** Whether `res` is plainly a success: OK, or a stream that started and has not ended. */
export function isPlainGrpcSuccess(res: GrpcResponse): boolean {
  const status = res.status;
  return status === undefined || status.code === Status.OK;
}

/** The default classifier, with the per-method retryable codes `retryableCodes` finds. */
export function grpcClassifier(retryableCodes: RetryableCodesOf | undefined): GrpcClassifier {
  return (req: GrpcRequest, outcome: Outcome<GrpcResponse>, idempotent: boolean): ResponseClass => {
    const res = outcome.response;
    if (res !== undefined) return classifyStatus(res, idempotent, retryableCodes?.(req));
    return classifyError(req, outcome.error, outcome.written, idempotent);
  };
}

/** The default classifier for gRPC (no per-method retryable codes). */
export const defaultGrpcClassifier: GrpcClassifier = grpcClassifier(undefined);

function classifyStatus(
  res: GrpcResponse,
  idempotent: boolean,
  retryableCodes: ReadonlySet<number> | undefined,
): ResponseClass {
  // A stream that committed and has not ended: the call goes on; its end is judged later.
  if (isPlainGrpcSuccess(res)) return SUCCESS;
  const code = res.status!.code;
  const reason = statusName(code);
  if (code === Status.CANCELLED && res.cancelledHere) return IGNORABLE;
  if (res.committed) return ANSWERS.has(code) ? SUCCESS : failure(reason);
  const pushback = pushbackOf(res);
  if (retryableCodes?.has(code) === true) {
    return pushback === false
      ? failure(`${reason} (pushback: do not retry)`)
      : retryable(reason, !res.written, pushback);
  }
  if (ANSWERS.has(code)) return SUCCESS;
  if (pushback === false) return failure(`${reason} (pushback: do not retry)`);
  if (code === Status.UNAVAILABLE && !res.written) return retryable(reason, true, pushback);
  // A CANCELLED nobody here asked for is a stream the connection lost (grpc-js 1.10 reports a
  // reset so; 1.14 says UNAVAILABLE): like UNAVAILABLE, another attempt may do.
  if (
    (code === Status.UNAVAILABLE || code === Status.CANCELLED || code === Status.RESOURCE_EXHAUSTED) &&
    idempotent
  ) {
    return retryable(reason, false, pushback);
  }
  return failure(reason);
}

function classifyError(
  req: GrpcRequest,
  error: unknown,
  written: boolean,
  idempotent: boolean,
): ResponseClass {
  const code = errorCode(error) ?? 'error';
  if (code === 'WEFT_DEADLINE_EXCEEDED') return written ? failure(code) : IGNORABLE;
  if (code === 'WEFT_ATTEMPT_TIMEOUT') {
    // Response headers or a message came before the time ran out: committed (A6).
    if (req.responseStarted) return failure(code);
    if (!written) return retryable(code, true);
    return idempotent ? retryable(code) : failure(code);
  }
  if (error instanceof WeftError) return failure(code);
  // The channel could not even make the call (a closed channel, bad credentials): never sent.
  return written ? failure(code) : retryable(code, true);
}
