/**
 * The grpc-js call weft hands a generated client (what `Channel.createCall` returns): the
 * caller's side of one gRPC call. grpc-js's interceptors and client methods drive it (`start`,
 * `sendMessageWithContext`, `halfClose`, `startRead`, `cancelWithStatus`); it runs the call
 * through the stack client, whose transport makes one grpc-js call per attempt (./attempt.ts).
 *
 * - `start` builds the call's {@link GrpcRequest} and starts the stack at once, as grpc-js's own
 *   retrying call does; the messages the caller sends go to a log that every attempt reads.
 * - The deadline is the soonest of the call's own (`deadline` in the call options), its parent's
 *   (a server call passed as `parent`, when its flags propagate the deadline) and, in the stack,
 *   the ambient one and the client's `timeoutMs`. A parent's cancellation cancels the call.
 * - When the stack answers, the call adopts the attempt that answered: what the attempt heard so
 *   far, then the rest of the stream, goes to the caller's listener. When it fails, the caller
 *   gets the status for the error (./status.ts).
 */
import type { CallCredentials, InterceptingListener, StatusObject } from '@grpc/grpc-js';
import { Metadata, propagate, status as Status } from '@grpc/grpc-js';
import type { StackClient } from '../client/stack-client.js';
import { currentAmbientContext } from '../core/ambient.js';
import { Cancellation } from '../core/cancellation.js';
import type { GrpcAttempt } from './attempt.js';
import { MessageLog } from './message-log.js';
import type { ResolvedMethod } from './options.js';
import type { GrpcRequest, GrpcResponse } from './request.js';
import { GrpcCallCancelled, statusForError, withAttempts } from './status.js';

/** A server call passed as a client call's `parent` (grpc-js `ServerSurfaceCall`). */
export interface ParentCall {
  getDeadline(): Date | number;
  on(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

/** What a call needs of its channel. */
export interface CallHost {
  readonly client: StackClient<GrpcRequest, GrpcResponse>;
  readonly replayBufferBytes: number;
  /** Calls made while serving a request inherit its deadline (the client's `inheritAmbientDeadline`). */
  readonly inheritAmbientDeadline: boolean;
  /** The client's total timeout (`timeoutMs`). */
  readonly timeoutMs: number;
  nextCallNumber(): number;
}

export class WeftGrpcCall implements InterceptingListener {
  readonly #host: CallHost;
  readonly #method: ResolvedMethod;
  readonly #deadline: number;
  readonly #callHost: string | undefined;
  readonly #parent: ParentCall | undefined;
  readonly #propagateFlags: number;
  readonly #callNumber: number;
  readonly #cancellation = new Cancellation();
  #credentials: CallCredentials | undefined;
  #req: GrpcRequest | undefined;
  #listener: InterceptingListener | undefined;
  #attempt: GrpcAttempt | undefined;
  #ended = false;
  #onParentCancelled: (() => void) | undefined;
  #ambientSignal: AbortSignal | undefined;

  constructor(
    host: CallHost,
    method: ResolvedMethod,
    deadline: Date | number,
    callHost: string | null | undefined,
    parent: ParentCall | null,
    propagateFlags: number | null | undefined,
  ) {
    this.#host = host;
    this.#method = method;
    this.#deadline = toEpochMs(deadline);
    this.#callHost = callHost ?? undefined;
    this.#parent = parent ?? undefined;
    this.#propagateFlags = propagateFlags ?? propagate.DEFAULTS;
    this.#callNumber = host.nextCallNumber();
  }

  start(metadata: Metadata, listener: InterceptingListener): void {
    this.#listener = listener;
    let deadline = this.#deadline;
    const parent = this.#parent;
    if (parent !== undefined) {
      if ((this.#propagateFlags & propagate.DEADLINE) !== 0) {
        deadline = Math.min(deadline, toEpochMs(parent.getDeadline()));
      }
      if ((this.#propagateFlags & propagate.CANCELLATION) !== 0) {
        this.#onParentCancelled = () =>
          this.cancelWithStatus(Status.CANCELLED, 'Cancelled by the parent call');
        parent.on('cancelled', this.#onParentCancelled);
      }
    }
    // The stack narrows its own deadline by the ambient one; a stream's lifetime needs it too, and
    // the incoming call's cancellation must reach a stream that already started.
    const context = this.#host.inheritAmbientDeadline ? currentAmbientContext() : undefined;
    const ambient = context === undefined ? Number.POSITIVE_INFINITY : context.deadline - context.clock.now();
    const signal = context?.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#end({ code: Status.CANCELLED, details: describeAbort(signal), metadata: new Metadata() });
        return;
      }
      this.#ambientSignal = signal;
      signal.addEventListener('abort', this);
    }
    const callerDeadline =
      ambient === Number.POSITIVE_INFINITY ? deadline : Math.min(deadline, Date.now() + Math.max(0, ambient));
    const method = this.#method;
    const req: GrpcRequest = {
      method: method.method,
      // A copy: layers write on it (trace context), and the caller may reuse its Metadata.
      metadata: metadata.clone(),
      messages: new MessageLog(this.#host.replayBufferBytes),
      host: this.#callHost,
      credentials: this.#credentials,
      callerDeadline,
      remainingMs: Number.POSITIVE_INFINITY,
      attempt: 1,
      readsWanted: 0,
      responseStarted: false,
    };
    this.#req = req;
    let call = method.call;
    // A streaming response may wait long for its first message (a subscription): the client's
    // timeoutMs does not bound it; the call's own deadline and the method's timeout do.
    const fallbackMs = method.method.responseStream ? Number.POSITIVE_INFINITY : this.#host.timeoutMs;
    const timeoutMs = deadline === Number.POSITIVE_INFINITY ? deadline : Math.max(0, deadline - Date.now());
    // The call's own deadline narrows the method's timeout, else the client's.
    if (timeoutMs < (call?.timeoutMs ?? fallbackMs)) call = { ...call, timeoutMs };
    else if (call?.timeoutMs === undefined && fallbackMs === Number.POSITIVE_INFINITY) {
      call = { ...call, timeoutMs: fallbackMs };
    }
    this.#host.client.call(req, call, undefined, this.#cancellation).then(
      (response) => this.#answered(response as GrpcAttempt),
      (error: unknown) => this.#end(statusForError(error)),
    );
  }

  sendMessageWithContext(
    context: { callback?: (error?: Error | null) => void; flags?: number },
    message: Buffer,
  ): void {
    const req = this.#req;
    if (req === undefined || this.#ended) {
      if (context.callback !== undefined) process.nextTick(context.callback);
      return;
    }
    req.messages.append(message, context.flags, context.callback);
  }

  halfClose(): void {
    this.#req?.messages.halfClose();
  }

  startRead(): void {
    const req = this.#req;
    if (req === undefined || this.#ended) return;
    req.readsWanted++;
    const attempt = this.#attempt;
    if (attempt !== undefined) attempt.startRead();
    else req.messages.startRead();
  }

  cancelWithStatus(code: number, details: string): void {
    if (this.#ended) return;
    const attempt = this.#attempt;
    // Taken: the attempt's own status (CANCELLED) ends the call. Not yet: the stack stops every attempt.
    if (attempt !== undefined) attempt.cancel(code, details);
    else if (this.#req === undefined) this.#end({ code, details, metadata: new Metadata() });
    else this.#cancellation.abort(new GrpcCallCancelled(code, details));
  }

  getPeer(): string {
    return this.#attempt?.getPeer() ?? '';
  }

  getCallNumber(): number {
    return this.#callNumber;
  }

  setCredentials(credentials: CallCredentials): void {
    this.#credentials = credentials;
    if (this.#req !== undefined) this.#req.credentials = credentials;
  }

  getAuthContext(): never | null {
    return (this.#attempt?.getAuthContext() ?? null) as never | null;
  }

  // --- what the adopted attempt hears, on to the caller ----------------------------------------

  onReceiveMetadata(metadata: Metadata): void {
    if (!this.#ended) this.#listener?.onReceiveMetadata(metadata);
  }

  onReceiveMessage(message: unknown): void {
    if (!this.#ended) this.#listener?.onReceiveMessage(message);
  }

  onReceiveStatus(status: StatusObject): void {
    this.#end(withAttempts(status, this.#attempt?.attemptRecords));
  }

  #answered(attempt: GrpcAttempt): void {
    const req = this.#req!;
    req.messages.committed = true;
    this.#attempt = attempt;
    attempt.deliverTo(this);
  }

  /** The incoming call being served was cancelled (the ambient signal): so is this one. */
  handleEvent(): void {
    const signal = this.#ambientSignal;
    if (signal !== undefined) this.cancelWithStatus(Status.CANCELLED, describeAbort(signal));
  }

  #end(status: StatusObject): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#ambientSignal?.removeEventListener('abort', this);
    this.#req?.messages.release();
    if (this.#onParentCancelled !== undefined)
      this.#parent?.removeListener('cancelled', this.#onParentCancelled);
    this.#listener?.onReceiveStatus(status);
  }
}

function toEpochMs(deadline: Date | number): number {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return typeof ms === 'number' && !Number.isNaN(ms) ? ms : Number.POSITIVE_INFINITY;
}

function describeAbort(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : 'Cancelled: the incoming call was cancelled';
}
