/**
 * How a call that weft ended itself looks to a grpc-js caller: a status, as grpc-js would give.
 * A weft error becomes the status a gRPC user expects for it (a deadline: DEADLINE_EXCEEDED; no
 * endpoint, an open breaker, a closed client, an exhausted budget: UNAVAILABLE; the caller's own
 * cancel: the code it cancelled with), with the error's message, which lists every attempt, as
 * its details. A failing status that came from a server reaches the caller as it came, with
 * weft's list of the attempts in its metadata (`weft-attempts`) when there was more than one.
 */
import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import { type AttemptRecord, describeAttempts } from '../core/errors.js';
import { grpcStatusOfError } from '../core/grpc-status.js';

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
  const mapped = grpcStatusOfError(error);
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: mapped ?? Status.UNKNOWN,
    details: mapped === undefined ? `weft: ${message}` : message,
    metadata: new Metadata(),
  };
}

/** The metadata key weft adds to a failing status received after several attempts: the attempts, listed. */
export const ATTEMPTS_METADATA_KEY = 'weft-attempts';

/**
 * A server's failing status, as it came (its details reach the caller unchanged), with weft's list
 * of the attempts before it in the metadata (`weft-attempts`) when there was more than one.
 */
export function withAttempts(
  status: StatusObject,
  attempts: readonly AttemptRecord[] | undefined,
): StatusObject {
  if (status.code === Status.OK || attempts === undefined || attempts.length < 2) return status;
  const metadata = status.metadata.clone();
  metadata.set(ATTEMPTS_METADATA_KEY, describeAttempts(attempts));
  return { ...status, metadata };
}
