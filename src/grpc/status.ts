/**
 * How a call that weft ended itself looks to a grpc-js caller: a status, as grpc-js would give.
 * A weft error becomes the status a gRPC user expects for it (a deadline: DEADLINE_EXCEEDED; no
 * endpoint, an open breaker, a closed client, an exhausted budget: UNAVAILABLE; the caller's own
 * cancel: the code it cancelled with), with the error's message, which lists every attempt, as
 * its details. A failing status that came from a server keeps its code and metadata, and its
 * details gain weft's list of the attempts when there was more than one.
 */
import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import { type AttemptRecord, describeAttempts, errorCode } from '../core/errors.js';

/** The status for a weft error code (`WEFT_…`). */
const CODES: Readonly<Record<string, number>> = {
  WEFT_DEADLINE_EXCEEDED: Status.DEADLINE_EXCEEDED,
  WEFT_ATTEMPT_TIMEOUT: Status.DEADLINE_EXCEEDED,
  WEFT_NO_ENDPOINTS: Status.UNAVAILABLE,
  WEFT_CIRCUIT_OPEN: Status.UNAVAILABLE,
  WEFT_OVERLOADED: Status.UNAVAILABLE,
  WEFT_CLIENT_CLOSED: Status.UNAVAILABLE,
  WEFT_RETRY_BUDGET_EXHAUSTED: Status.UNAVAILABLE,
  WEFT_REQUEST_FAILED: Status.UNAVAILABLE,
  WEFT_HEDGE_LOST: Status.CANCELLED,
  WEFT_NEXT_CALLED_TWICE: Status.INTERNAL,
};

/** The caller cancelled its call (grpc-js `cancelWithStatus`): the reason weft's layers see. */
export class GrpcCallCancelled extends Error {
  readonly code = 'GRPC_CALL_CANCELLED';
  constructor(
    readonly status: number,
    readonly details: string,
  ) {
    super(details);
    this.name = 'GrpcCallCancelled';
  }
}

/** The status a caller gets for a call that ended with `error` instead of a response. */
export function statusForError(error: unknown): StatusObject {
  if (error instanceof GrpcCallCancelled) {
    return { code: error.status, details: error.details, metadata: new Metadata() };
  }
  // An abort from outside (the incoming call this one serves was cancelled: the ambient signal).
  if ((error as { name?: unknown } | null)?.name === 'AbortError') {
    return { code: Status.CANCELLED, details: (error as Error).message, metadata: new Metadata() };
  }
  const code = errorCode(error);
  const mapped = code === undefined ? undefined : CODES[code];
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: mapped ?? Status.UNKNOWN,
    details: mapped === undefined ? `weft: ${message}` : message,
    metadata: new Metadata(),
  };
}

/** A server's failing status, its details followed by weft's list of the attempts before it. */
export function withAttempts(
  status: StatusObject,
  attempts: readonly AttemptRecord[] | undefined,
): StatusObject {
  if (status.code === Status.OK || attempts === undefined || attempts.length < 2) return status;
  return { ...status, details: `${status.details} (weft attempts: ${describeAttempts(attempts)})` };
}
