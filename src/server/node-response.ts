/**
 * The node:http side of admission, shared by Express and Fastify (both serve on node:http): the
 * admitted request rides on its `ServerResponse` under a symbol, and ends when the response
 * closes. `close` is the one event a response always emits (after `finish` when it was written;
 * alone when the connection went first); `res.writableFinished` tells which. The request's own
 * `close` tells nothing: it fires with `complete` true even on a client abort (next-wave.md §A1).
 */
import type { ServerResponse } from 'node:http';
import type { AdmittedRequest } from './admission.js';
import type { Rejection } from './rejection.js';

const ADMITTED = Symbol('weft.admittedRequest');

interface Following {
  [ADMITTED]?: AdmittedRequest;
}

/** The admitted request `res` answers, if admission ran for it. */
export function admittedOf(res: ServerResponse): AdmittedRequest | undefined {
  return (res as Following)[ADMITTED];
}

/**
 * Tie `admitted` to `res`: it ends when `res` closes, through `onClose` (called with `res` as
 * `this`; one function for every request, so nothing is allocated per request).
 */
export function followResponse(
  res: ServerResponse,
  admitted: AdmittedRequest,
  onClose: (this: ServerResponse) => void = endOnClose,
): void {
  (res as Following)[ADMITTED] = admitted;
  res.on('close', onClose);
}

/** End the admitted request of `res` (as `this`), which has just closed. */
export function endOnClose(this: ServerResponse): void {
  const admitted = admittedOf(this);
  if (admitted === undefined) return;
  if (this.writableFinished) admitted.finished(this.statusCode);
  else admitted.callerGone();
}

/** Write `rejection` to a response nothing has been written to. */
export function writeRejection(res: ServerResponse, rejection: Rejection): void {
  res.writeHead(rejection.status, rejection.headers);
  res.end(rejection.body);
}
