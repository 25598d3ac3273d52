/**
 * One attempt of a gRPC call: a grpc-js call on one endpoint's channel, driven from the call's
 * message log, and the attempt's response (a {@link GrpcResponse}) once it settles.
 *
 * - It starts the child call with a copy of the caller's metadata (`grpc-previous-rpc-attempts`
 *   on a retry or hedge, gRFC A6), the attempt's deadline (grpc-js writes `grpc-timeout` from it
 *   after its own pick and enforces it) and the caller's per-call credentials.
 * - It writes the logged messages one after another, each when the previous write completed, and
 *   half-closes after the last once the caller has.
 * - Whether the request may have reached the server (`written`, `ctx.requestWritten`): not when
 *   grpc-js says its load balancer never had a connection for it; otherwise yes once the
 *   endpoint's channel has a connection up (an idempotent request counts as written at once, as
 *   for HTTP). grpc-js takes every message into its own buffer at once, so its write callbacks
 *   cannot tell.
 * - It settles at the status for a method whose response is one message, and at the commit (the
 *   first response headers or message) for a streaming response, whose status then reaches the
 *   balancer later, through {@link GrpcAttempt.whenEnded} (src/balance/completion.ts).
 * - It hears the call's cancellation (deadline, attempt timeout, the caller, a hedge's loss) until
 *   it settles, and cancels the child.
 * - What the child says before the caller takes the response is queued, and handed over in order
 *   when the caller's grpc-js call adopts it (./call.ts); after that, it goes straight through.
 */
import type { InterceptingListener, Metadata, StatusObject } from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import type { CallContext } from '../core/context.js';
import type { AttemptRecord } from '../core/errors.js';
import { attemptTimedOut } from '../policies/attempt.js';
import type { LogReader } from './message-log.js';
import type { GrpcRequest, GrpcResponse } from './request.js';

/** The grpc-js call an attempt drives (what `Channel.createCall` returns). */
export type ChildCall = ReturnType<import('@grpc/grpc-js').ChannelInterface['createCall']>;

/** A stream's final status, for the balancer's late outcome (./client-protocol.ts). */
export type EndListener = (response: GrpcResponse) => void;

/** What the attempt listens to for an abort: weft's token or the caller's (combined) signal. */
interface AbortSource {
  addEventListener(type: 'abort', listener: { handleEvent(): void }): void;
  removeEventListener(type: 'abort', listener: { handleEvent(): void }): void;
}

/** The endpoint an attempt runs on (./transport.ts). */
export interface AttemptOwner {
  /** The attempt is over (the transport counts them, to close its channel when none is left). */
  attemptEnded(): void;
  /** Whether the endpoint's channel has a connection up now (grpc-js READY). */
  connected(): boolean;
}

/**
 * How grpc-js (1.10 to 1.14) words a status for a call that its load balancer never gave a
 * connection (its pickers' TRANSIENT_FAILURE): such a call provably never left the client.
 * test/contracts/grpc-js.test.ts pins it.
 */
export const NEVER_SENT_DETAILS = 'No connection established';

export class GrpcAttempt implements GrpcResponse, LogReader, InterceptingListener {
  status: StatusObject | undefined = undefined;
  committed = false;
  written = false;
  cancelledHere = false;
  readonly endpoint: string;
  // The call's request and context, let go once the attempt is over and what it heard was
  // delivered (#release): grpc-js and Node keep an ended call's objects, this attempt among them
  // (it is the grpc-js call's listener), until its HTTP/2 stream is freed, some garbage
  // collections later; through these fields they would keep the caller's whole call with them.
  #req: GrpcRequest;
  #ctx: CallContext;
  #released = false;
  /** The call's attempt records, kept when the context is let go. */
  #records: readonly AttemptRecord[] | undefined = undefined;
  readonly #owner: AttemptOwner;
  #resolve: ((response: GrpcResponse) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #child: ChildCall | undefined;
  #source: AbortSource | null = null;
  /** The deadline the child was given, as epoch ms. */
  #deadlineAt = Number.POSITIVE_INFINITY;
  /** The next message of the log to write, and whether a write is under way. */
  #next = 0;
  #writing = false;
  #halfClosed = false;
  #connectedAtStart = false;
  /** Who hears the child once the caller took the response; until then, its events are queued. */
  #sink: InterceptingListener | undefined;
  #queuedMetadata: Metadata | undefined;
  /** The queued messages: the first inline (a unary response has one), later ones in an array. */
  #queuedMessage: unknown = undefined;
  #queuedCount = 0;
  #queuedMore: unknown[] | undefined;
  #onEnd: EndListener | undefined;
  readonly #onWritten: () => void;

  constructor(
    req: GrpcRequest,
    ctx: CallContext,
    endpoint: string,
    owner: AttemptOwner,
    resolve: (response: GrpcResponse) => void,
    reject: (error: unknown) => void,
  ) {
    this.#req = req;
    this.#ctx = ctx;
    this.endpoint = endpoint;
    this.#owner = owner;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#onWritten = () => this.#written();
  }

  /** Start the child call on `createCall`'s channel. */
  start(createCall: (path: string, deadline: number, host: string | undefined) => ChildCall): void {
    const req = this.#req;
    const ctx = this.#ctx;
    const cancelled = ctx.cancelledReason();
    if (cancelled !== undefined) {
      this.#fail(cancelled);
      return;
    }
    // grpc-js takes each message at once (its own retry buffer), so no write callback tells when it
    // reached the wire: a call counts as written once its endpoint has a connection (an idempotent
    // one at once, as for HTTP). A call the channel never had a connection for was never sent.
    this.#connectedAtStart = this.#owner.connected();
    ctx.requestWritten = ctx.idempotent || this.#connectedAtStart;
    const now = Date.now();
    // A streaming response lives until the caller's own deadline; the client's timeouts bound
    // only the wait for it to start, and weft enforces those itself.
    const deadline = req.method.responseStream
      ? req.callerDeadline
      : req.remainingMs === Number.POSITIVE_INFINITY
        ? req.callerDeadline
        : now + req.remainingMs;
    this.#deadlineAt = deadline;
    // grpc-js copies the metadata it starts a call with: a first attempt sends the call's own.
    let metadata = req.metadata;
    if (req.attempt > 1) {
      metadata = metadata.clone();
      metadata.set('grpc-previous-rpc-attempts', String(req.attempt - 1));
    }
    let child: ChildCall;
    try {
      child = createCall(req.method.path, deadline, req.host);
      if (req.credentials !== undefined) child.setCredentials(req.credentials);
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#child = child;
    const source = (ctx.cancellation ?? ctx.signal) as AbortSource | undefined;
    if (source !== undefined) {
      source.addEventListener('abort', this);
      this.#source = source;
    }
    child.start(metadata, this);
    req.messages.addReader(this);
    this.pump();
    if (req.readsWanted > 0) child.startRead();
  }

  // --- the caller's side ---------------------------------------------------------------------

  /** The caller wants the next message (grpc-js `startRead`). */
  startRead(): void {
    this.#child?.startRead();
  }

  /** The caller's grpc-js call takes this response: hand over what came so far, then the rest as it comes. */
  deliverTo(sink: InterceptingListener): void {
    this.#sink = sink;
    const metadata = this.#queuedMetadata;
    const count = this.#queuedCount;
    const first = this.#queuedMessage;
    const more = this.#queuedMore;
    this.#queuedMetadata = undefined;
    this.#queuedMessage = undefined;
    this.#queuedCount = 0;
    this.#queuedMore = undefined;
    if (metadata !== undefined) sink.onReceiveMetadata(metadata);
    if (count > 0) sink.onReceiveMessage(first);
    for (let i = 0; i < count - 1; i++) sink.onReceiveMessage(more![i]);
    if (this.status !== undefined) {
      sink.onReceiveStatus(this.status);
      this.#release();
    }
  }

  /** Cancel the child (the caller's cancel after adoption, or a response weft discards). */
  cancel(code: number, details: string): void {
    if (this.status !== undefined) {
      // Over, and not adopted (a retried attempt's response): nothing will read it again.
      if (this.#sink === undefined) this.#release();
      return;
    }
    this.cancelledHere = true;
    this.#child?.cancelWithStatus(code, details);
  }

  /** Be told when a streaming response ends (the balancer's late outcome). */
  whenEnded(listener: EndListener): void {
    if (this.status !== undefined) listener(this);
    else this.#onEnd = listener;
  }

  /** The call's failed attempts so far (for the details of a failing status). */
  get attemptRecords(): readonly AttemptRecord[] | undefined {
    return this.#released ? this.#records : this.#ctx.attempts;
  }

  getPeer(): string {
    return this.#child?.getPeer() ?? this.endpoint;
  }

  getAuthContext(): unknown {
    const child = this.#child as (ChildCall & { getAuthContext?: () => unknown }) | undefined;
    return child?.getAuthContext?.() ?? null;
  }

  // --- writing the log -----------------------------------------------------------------------

  /** Write the next logged message, or half-close after the last (LogReader). */
  pump(): void {
    const child = this.#child;
    if (this.#writing || child === undefined || this.status !== undefined) return;
    const log = this.#req.messages;
    const index = this.#next;
    if (index < log.length) {
      const message = log.message(index);
      if (message === undefined) return;
      this.#writing = true;
      // The half-close waits for this write too: grpc-js 1.10 loses a message that is still
      // pending when the half-close comes (1.14 sends both).
      child.sendMessageWithContext({ callback: this.#onWritten, flags: log.flags(index) }, message);
      return;
    }
    if (log.halfClosed) this.#halfClose(child);
  }

  #halfClose(child: ChildCall): void {
    if (this.#halfClosed) return;
    this.#halfClosed = true;
    child.halfClose();
  }

  #written(): void {
    this.#writing = false;
    const index = this.#next++;
    this.#req.messages.written(index);
    this.pump();
  }

  /** Whether the request may have reached the server, judged when the attempt ends. */
  #mayHaveBeenSent(status: StatusObject | undefined): boolean {
    if (status !== undefined) {
      return !(
        status.code === Status.UNAVAILABLE &&
        !this.committed &&
        status.details.startsWith(NEVER_SENT_DETAILS)
      );
    }
    return this.#connectedAtStart || this.#owner.connected();
  }

  // --- the child's events (grpc-js InterceptingListener) -------------------------------------

  onReceiveMetadata(metadata: Metadata): void {
    this.committed = true;
    this.#req.responseStarted = true;
    if (this.#sink !== undefined) this.#sink.onReceiveMetadata(metadata);
    else this.#queuedMetadata = metadata;
    if (this.#req.method.responseStream) this.#settle();
  }

  onReceiveMessage(message: unknown): void {
    this.committed = true;
    this.#req.responseStarted = true;
    this.#req.readsWanted = Math.max(0, this.#req.readsWanted - 1);
    if (this.#sink !== undefined) this.#sink.onReceiveMessage(message);
    else if (this.#queuedCount++ === 0) this.#queuedMessage = message;
    else if (this.#queuedMore === undefined) this.#queuedMore = [message];
    else this.#queuedMore.push(message);
    if (this.#req.method.responseStream) this.#settle();
  }

  onReceiveStatus(status: StatusObject): void {
    this.status = status;
    this.written = this.#mayHaveBeenSent(status);
    this.#req.messages.removeReader(this);
    this.#unlisten();
    this.#owner.attemptEnded();
    if (this.#resolve !== undefined) {
      // grpc-js's own deadline timer fired first: the attempt's time (or the call's) ran out.
      if (status.code === Status.DEADLINE_EXCEEDED && !this.committed && Date.now() >= this.#deadlineAt - 1) {
        const reason = this.#ctx.cancelledReason() ?? this.#timeoutError();
        this.#ctx.requestWritten ||= this.written;
        this.#fail(reason);
        this.#release();
        return;
      }
      this.#settle();
      return;
    }
    if (this.#sink !== undefined) this.#sink.onReceiveStatus(status);
    const onEnd = this.#onEnd;
    this.#onEnd = undefined;
    onEnd?.(this);
    this.#release();
  }

  /** Let go of the call's objects (see #req): the attempt is over and nothing reads them again. */
  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#records = this.#ctx.attempts;
    this.#req = RELEASED_REQUEST;
    this.#ctx = RELEASED_CONTEXT;
    this.#sink = undefined;
  }

  // --- cancellation --------------------------------------------------------------------------

  /** The call was cancelled before this attempt settled: cancel the child, fail the attempt. */
  handleEvent(): void {
    this.#unlisten();
    if (this.#resolve === undefined) return;
    const reason = this.#ctx.cancelledReason();
    this.cancelledHere = true;
    this.#ctx.requestWritten ||= this.#mayHaveBeenSent(undefined);
    const reject = this.#reject!;
    this.#resolve = undefined;
    this.#reject = undefined;
    this.#child?.cancelWithStatus(Status.CANCELLED, describe(reason));
    reject(reason);
  }

  #timeoutError(): unknown {
    const ctx = this.#ctx;
    return ctx.attemptDeadline < ctx.deadline ? attemptTimedOut(ctx) : ctx.deadlineExceeded(0);
  }

  #settle(): void {
    const resolve = this.#resolve;
    if (resolve === undefined) return;
    this.#resolve = undefined;
    this.#reject = undefined;
    this.#unlisten();
    resolve(this);
  }

  #fail(error: unknown): void {
    const reject = this.#reject;
    if (reject === undefined) return;
    this.#resolve = undefined;
    this.#reject = undefined;
    this.#unlisten();
    if (this.#child === undefined) this.#owner.attemptEnded();
    reject(error);
  }

  #unlisten(): void {
    const source = this.#source;
    if (source === null) return;
    this.#source = null;
    source.removeEventListener('abort', this);
  }
}

/** What a released attempt's call fields hold: nothing reads them after #release. */
const RELEASED_REQUEST = null as unknown as GrpcRequest;
const RELEASED_CONTEXT = null as unknown as CallContext;

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : 'Cancelled by weft';
}
