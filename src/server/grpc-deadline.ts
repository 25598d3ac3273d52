/**
 * The server half of gRPC deadline and cancellation propagation: a grpc-js server interceptor
 * (grpc-js ≥ 1.10, `ServerOptions.interceptors`) that runs a call's handler inside weft's
 * ambient context, so every weft call the handler makes (HTTP or gRPC) inherits the time the
 * incoming call has left and is cancelled when the incoming call ends.
 *
 * - The deadline: grpc-js parses `grpc-timeout` itself and gives it as `call.getDeadline()`
 *   (epoch ms or a Date; `Infinity` for none). It is clamped to `maxMs` (a peer's deadline is
 *   advice, as in ./incoming-deadline.ts) and moved onto weft's clock:
 *   `clock.now() + (deadline − Date.now())`.
 * - The handler: grpc-js calls it from the listener chain, synchronously (unary and
 *   server-streaming from half-close, client-streaming and bidi from the metadata), and fires
 *   the listener's events later, from the HTTP/2 stream. So each listener callback runs in the
 *   context, not only `start`, which returns before any event arrives (research/grpc.md §7).
 * - The cancellation: the context's `signal` is aborted when grpc-js reports the call over
 *   (`onCancel`): its client cancelled it, its deadline passed, or, as grpc-js also reports,
 *   its handler sent the status. Calls the handler started and that are still running are then
 *   cancelled, as grpc-js's own `propagate.CANCELLATION` and grpc-java's Context do.
 *
 * Only src/grpc/ and src/server/grpc-* may import @grpc/grpc-js (an optional peer dependency).
 */
import {
  type Deadline,
  type Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerListener,
} from '@grpc/grpc-js';
import { type AmbientContext, runWithAmbientContext } from '../core/ambient.js';
import type { Clock } from '../core/clock.js';
import { MAX_INCOMING_TIMEOUT_MS } from '../core/deadline-header.js';
import { clockOption, objectOption, positiveNumber, rejectUnknownKeys } from '../core/options.js';
import { INCOMING_DEADLINE_OPTION_KEYS, type IncomingDeadlineOptions } from './incoming-deadline.js';

/**
 * Options of {@link grpcDeadlineInterceptor}, as for an HTTP server's incoming deadline: `maxMs`
 * clamps a peer's deadline (default 300 000, 5 min), `clock` is what the deadline is measured on
 * (default: the real clock). Any other key throws a ConfigError.
 */
export type GrpcDeadlineInterceptorOptions = IncomingDeadlineOptions;

/**
 * A grpc-js server interceptor that puts each call's deadline (clamped to `maxMs`) and its
 * cancellation in weft's ambient context for the call's handler, for all four call kinds. List
 * it first in `interceptors`, so that the interceptors after it and the handler run inside it.
 * Bad options throw a ConfigError here, not per call.
 *
 * @example
 * const server = new grpc.Server({ interceptors: [grpcDeadlineInterceptor()] });
 * // In a handler, `await http.request(...)` and gRPC calls through weft get the time left,
 * // and are cancelled if the caller of this call cancels it.
 */
export function grpcDeadlineInterceptor(options: GrpcDeadlineInterceptorOptions = {}): ServerInterceptor {
  const o = objectOption<GrpcDeadlineInterceptorOptions>('options', options);
  rejectUnknownKeys('', o, INCOMING_DEADLINE_OPTION_KEYS);
  const maxMs = positiveNumber('maxMs', o.maxMs, MAX_INCOMING_TIMEOUT_MS);
  const clock = clockOption('clock', o.clock);
  return (_method, call) => interceptCall(call, clock, maxMs);
}

/** One incoming call: its context, and the listener that runs the handler's events inside it. */
function interceptCall(
  call: ServerInterceptingCallInterface,
  clock: Clock,
  maxMs: number,
): ServerInterceptingCall {
  const deadlineAt = epochMs(call.getDeadline());
  const controller = new AbortController();
  const context: AmbientContext = {
    deadline: deadlineOnClock(deadlineAt, clock, maxMs),
    clock,
    signal: controller.signal,
  };
  let answered = false;
  const listener: ServerListener = {
    onReceiveMetadata: (metadata: Metadata, next: (metadata: Metadata) => void) =>
      runWithAmbientContext(context, () => next(metadata)),
    onReceiveMessage: (message: unknown, next: (message: unknown) => void) =>
      runWithAmbientContext(context, () => next(message)),
    onReceiveHalfClose: (next: () => void) => runWithAmbientContext(context, next),
    onCancel: () => controller.abort(endedReason(answered, deadlineAt)),
  };
  return new ServerInterceptingCall(call, {
    start: (next) => next(listener),
    sendStatus: (status, next) => {
      answered = true;
      next(status);
    },
  });
}

/** A grpc-js deadline as epoch ms; `Infinity` for none (or one that is not a number). */
function epochMs(deadline: Deadline): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return typeof at === 'number' && !Number.isNaN(at) ? at : Number.POSITIVE_INFINITY;
}

/** The deadline at epoch ms `at`, clamped to `maxMs` from now, on `clock`; `Infinity` stays. */
function deadlineOnClock(at: number, clock: Clock, maxMs: number): number {
  if (at === Number.POSITIVE_INFINITY) return at;
  // A deadline already past leaves 0: calls made in the handler fail without sending.
  const left = Math.min(Math.max(at - Date.now(), 0), maxMs);
  return clock.now() + left;
}

/** Why the calls started for an incoming call are cancelled: an AbortError saying how it ended. */
function endedReason(answered: boolean, deadlineAt: number): DOMException {
  const how = answered
    ? 'has ended (its handler sent the status)'
    : Date.now() >= deadlineAt
      ? 'ran out of time (its deadline passed)'
      : 'was cancelled by its client';
  return new DOMException(`the incoming gRPC call ${how}`, 'AbortError');
}
