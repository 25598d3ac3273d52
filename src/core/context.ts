/**
 * CallContext: the state of one logical call as it moves down the stack. One object per call,
 * made by the client (src/client/stack-client.ts); one more per copy of a hedged attempt (fork).
 *
 * Who may touch what:
 *   - A user's filter reads the call through CallInfo (./call-info.ts), read-only: the settings,
 *     the current attempt and the history. The stack's `Filter` type gives it nothing more.
 *   - weft's own layers write the CallInfo fields they own (deadline: `deadline`, `budgetMs`;
 *     attempt: `attempt` through beginAttempt, `attemptDeadline`; balancer: `endpoint`, `tried`,
 *     `classification`, `attempts`; transport: `requestWritten`; retry and hedge: `attemptReason`).
 *   - The rest belongs to one layer each, and no other layer reads it:
 *
 *       field                              owner
 *       cancellation                       deadline, attempt (the call's and the attempt's token)
 *       budgetDeposited                    retry, hedge (the call was counted into the budget)
 *       accrualTicket                      failure accrual (the ejection generation, or a probe)
 *       request, attemptEnd                balancer (the attempt in flight)
 *       attemptStart                       attempt, then balancer: the clock reading a layer below
 *                                          may share (./shared-readings.ts)
 *       attemptOwner                       balancer's node, until endAttempt
 *       attemptTimer                       attempt (the per-attempt timeout), until endAttempt
 *       callOwner                          deadline, until finishCall
 *       callObserver                       telemetry (the observe role)
 *       callState, attemptState            each layer's CallSlot and AttemptSlot (tracing's spans)
 *       attemptEndedAbove, callFinishedBelow ./frame-elision.ts, the only reader and writer
 *       holdsProcess                       the client (./process-hold.ts), until finishCall
 *
 * Each attempt starts with beginAttempt and ends with endAttempt; the call ends with finishCall.
 */
import type { AttemptReason, CallInfo } from './call-info.js';
import type { Cancellation } from './cancellation.js';
import type { Classifier, ResponseClass } from './classification.js';
import { type Clock, realClock } from './clock.js';
import { type AttemptRecord, DeadlineExceededError, RequestFailedError, WeftError } from './errors.js';
import { releaseProcess } from './process-hold.js';

/** Holds an attempt's bookkeeping until its outcome is reported (the balancer). */
export interface AttemptOwner {
  settleAttempt(ctx: CallContext, outcome: unknown, failed: boolean): void;
}

/**
 * The current attempt's own timeout (the attempt filter's), stopped when the attempt is
 * reported, so that it needs no async frame of its own either.
 */
export interface AttemptTimer {
  /** Stop the timer and give the call its own cancellation back; true when the timer had fired. */
  stop(ctx: CallContext): boolean;
  /** The error a timed-out attempt ends with (made after the attempt was recorded, so it lists it). */
  timedOut(ctx: CallContext): unknown;
}

/** Cleans up when a whole call ends (the deadline); may replace the error. */
export interface CallOwner {
  finishCall(ctx: CallContext, failed: boolean, outcome: unknown): unknown;
}

/** Hears how a whole call ended (telemetry). Never throws. */
export interface CallObserver {
  callFinished(ctx: CallContext, failed: boolean, outcome: unknown): void;
}

/** Wrap a failure that is not weft's own, unless it is the caller's own abort reason. */
function explainFailure(ctx: CallContext, error: unknown): unknown {
  if (error instanceof WeftError) return error;
  if (ctx.signal?.aborted && error === ctx.signal.reason) return error;
  if (ctx.cancellation?.cancelled && error === ctx.cancellation.reason) return error;
  return new RequestFailedError(error, {
    destination: ctx.destination,
    attempts: ctx.attempts,
    timeLeftMs: ctx.deadline === Number.POSITIVE_INFINITY ? undefined : ctx.deadline - ctx.clock.now(),
    cause: error,
  });
}

export class CallContext implements CallInfo {
  /** Logical destination (client name), for errors and telemetry. */
  readonly destination: string;
  /** The client's clock (the client sets it; the real clock otherwise). */
  clock: Clock = realClock;
  /** Absolute deadline on the client's clock, in ms; `Infinity` when the call has none. */
  deadline = Number.POSITIVE_INFINITY;
  /** The budget the deadline was set from, in ms (`Infinity` when none). */
  budgetMs = Number.POSITIVE_INFINITY;
  /** The caller's AbortSignal, if it gave one (combined with the deadline once a deadline is set). */
  signal: AbortSignal | undefined;
  /**
   * weft's own cancellation token for the call (deadline, per-attempt timeout, a dispatcher's
   * abort); the transport listens to it, or to `signal` when there is none.
   */
  cancellation: Cancellation | undefined;
  /** 1 for the first attempt, 2 for the first retry, ... (0 before the first attempt). */
  attempt = 0;
  /** The call was counted into the retry budget (by retry, or by hedge when there is no retry). */
  budgetDeposited = false;
  /** Most attempts this call may make (1: no retries). */
  maxAttempts = 1;
  /** Per-attempt timeout for this call, in ms (`Infinity` when none). */
  attemptTimeoutMs = Number.POSITIVE_INFINITY;
  /** Absolute end of the current attempt on the client's clock (`Infinity` when none). */
  attemptDeadline = Number.POSITIVE_INFINITY;
  /** Address of the endpoint the current attempt was sent to. */
  endpoint: string | undefined;
  /** Addresses already tried by this call, so retries can go elsewhere (allocated on first use). */
  tried: string[] | undefined;
  /** How the latest attempt was classified (set by the balancer's classify hook as it settles). */
  classification: ResponseClass | undefined;
  /** A per-call classifier that overrides the client's (returning undefined defers to it). */
  classifier: Classifier<never, never> | undefined;
  /** The request may be sent twice (RFC 9110 method, Idempotency-Key, or declared). */
  idempotent = false;
  /**
   * Failure accrual's note on the current attempt: the ejection generation it was sent in,
   * negative (−generation − 1) when it is the endpoint's probe. Read back in `settled`.
   */
  accrualTicket = 0;
  /** The request of the current attempt, set by the balancer as it sends it (for classifiers). */
  request: unknown;
  /** Whether the whole request was handed to the connection (the transport sets it; false until then). */
  requestWritten = false;
  /** A layer above promised to end each attempt: see ./frame-elision.ts, the only reader. */
  attemptEndedAbove = false;
  /**
   * Who settles the current attempt's bookkeeping (the balancer's node), from the pick until
   * {@link endAttempt}; while it is set, the balancer refuses a second descent (NextCalledTwiceError).
   */
  attemptOwner: AttemptOwner | undefined;
  /** The current attempt's timeout (set by the attempt filter), until endAttempt runs. */
  attemptTimer: AttemptTimer | undefined;
  /** When the balancer sent the current attempt, on the client's clock. */
  attemptStart = 0;
  /** When the current attempt settled, on the client's clock (NaN until then), for the endpoint stack. */
  attemptEnd = Number.NaN;
  /** A layer below promised to finish the call: see ./frame-elision.ts, the only reader. */
  callFinishedBelow = false;
  /** Who finishes the call (the deadline's expiry entry), until finishCall runs. */
  callOwner: CallOwner | undefined;
  /** Who hears how the call ended (telemetry's observe role), until finishCall runs. */
  callObserver: CallObserver | undefined;
  /** Layers' own state for the call, read and written only through CallSlot (./context-slot.ts). */
  callState: unknown[] | undefined;
  /** Layers' own state for the current attempt, only through AttemptSlot (./context-slot.ts). */
  attemptState: unknown[] | undefined;
  /** Why the current attempt exists: the first, a retry, a requeue, or a hedge's backup. */
  attemptReason: AttemptReason = 'initial';
  /**
   * When the call started, on the client's clock (the client sets it; NaN on a context made
   * elsewhere). The total timeout counts from here.
   */
  callStart = Number.NaN;
  /** What each finished attempt did, oldest first (allocated on first use). */
  attempts: AttemptRecord[] | undefined;
  /**
   * The call holds the process open until it finishes (./process-hold.ts): set by the client that
   * took the hold, cleared by {@link finishCall}, which lets it go.
   */
  holdsProcess = false;

  constructor(destination: string, signal?: AbortSignal, cancellation?: Cancellation) {
    this.destination = destination;
    this.signal = signal;
    this.cancellation = cancellation;
  }

  /**
   * A context for one of several concurrent attempts of this call (hedging): same deadline,
   * settings and history (the endpoints tried and the attempt log are shared, so each copy avoids
   * the others' endpoints), its own attempt state and its own `cancellation`, which this call's
   * cancellation also triggers.
   */
  fork(cancellation: Cancellation): CallContext {
    const child = this.#copy(cancellation);
    child.deadline = this.deadline;
    child.budgetMs = this.budgetMs;
    child.maxAttempts = this.maxAttempts;
    child.attemptTimeoutMs = this.attemptTimeoutMs;
    this.tried ??= [];
    this.attempts ??= [];
    child.tried = this.tried;
    child.attempts = this.attempts;
    const parent = this.cancellation;
    if (parent !== undefined) parent.once('abort', () => cancellation.abort(parent.reason));
    else {
      // A caller's signal (combined with the deadline): the copy must hear it too, since the
      // transport listens to the copy's own token. The signal is this call's, so nothing piles up.
      const signal = this.signal;
      if (signal !== undefined) {
        if (signal.aborted) cancellation.abort(signal.reason);
        else signal.addEventListener('abort', () => cancellation.abort(signal.reason), { once: true });
      }
    }
    return child;
  }

  /**
   * A context for the late outcome of the current attempt (src/balance/completion.ts): what the
   * outcome is judged by (the request and how it was sent, the classification, failure accrual's
   * ticket, the call's cancellation and signal, so the caller's own abort stays ignorable) and
   * the attempt's layer state, which moves to the copy so that, e.g., its span ends with it.
   */
  forLateOutcome(): CallContext {
    const late = this.#copy(this.cancellation);
    late.endpoint = this.endpoint;
    late.request = this.request;
    late.requestWritten = this.requestWritten;
    late.classification = this.classification;
    late.accrualTicket = this.accrualTicket;
    late.attemptState = this.attemptState;
    this.attemptState = undefined;
    return late;
  }

  /** What every copy of this context keeps: the call's identity, clock, attempt and settings. */
  #copy(cancellation: Cancellation | undefined): CallContext {
    const copy = new CallContext(this.destination, this.signal, cancellation);
    copy.clock = this.clock;
    copy.callStart = this.callStart;
    copy.attempt = this.attempt;
    copy.attemptReason = this.attemptReason;
    copy.idempotent = this.idempotent;
    copy.classifier = this.classifier;
    // The call's layer state as it is now; a copy's own writes stay its own.
    copy.callState = this.callState?.slice();
    return copy;
  }

  /**
   * A new attempt starts (the attempt filter): number it, and clear what the previous attempt
   * left (its endpoint, classification, request, written flag and end time). Returns its number.
   */
  beginAttempt(): number {
    this.endpoint = undefined;
    this.classification = undefined;
    this.request = undefined;
    this.requestWritten = false;
    this.attemptEnd = Number.NaN;
    return ++this.attempt;
  }

  /**
   * Report how the current attempt ended: its timeout (if any) stops and the call gets its own
   * cancellation back; whoever holds its bookkeeping settles it (once; later calls do nothing).
   * Returns what to pass on: the outcome, or for an attempt whose own timeout fired, the
   * AttemptTimeoutError (which then lists the attempt).
   */
  endAttempt(outcome: unknown, failed: boolean): unknown {
    const timer = this.attemptTimer;
    let timedOut = false;
    if (timer !== undefined) {
      this.attemptTimer = undefined;
      timedOut = timer.stop(this);
    }
    const owner = this.attemptOwner;
    if (owner !== undefined) {
      this.attemptOwner = undefined;
      owner.settleAttempt(this, outcome, failed);
    }
    return failed && timedOut ? timer!.timedOut(this) : outcome;
  }

  /**
   * The call is over, with `outcome` (the response, or the error when `failed`): its owner (the
   * deadline) cleans up and may replace the error (an abort the deadline caused becomes
   * DeadlineExceededError); a failure that is not weft's own is wrapped in RequestFailedError,
   * which says where the call went and what happened (a caller's own abort reason is left as it
   * is); then the observer (telemetry) hears it. Returns the outcome to hand to the caller.
   */
  finishCall(failed: boolean, outcome: unknown): unknown {
    const owner = this.callOwner;
    if (owner !== undefined) {
      this.callOwner = undefined;
      outcome = owner.finishCall(this, failed, outcome);
    }
    if (failed) outcome = explainFailure(this, outcome);
    const observer = this.callObserver;
    if (observer !== undefined) {
      this.callObserver = undefined;
      observer.callFinished(this, failed, outcome);
    }
    if (this.holdsProcess) {
      this.holdsProcess = false;
      releaseProcess();
    }
    return outcome;
  }

  /** The DeadlineExceededError for this call, with its destination, attempts and time left. */
  deadlineExceeded(timeLeftMs: number, cause?: unknown): DeadlineExceededError {
    return new DeadlineExceededError(this.budgetMs, {
      destination: this.destination,
      timeLeftMs,
      attempts: this.attempts,
      cause: cause instanceof DeadlineExceededError ? cause.cause : cause,
    });
  }

  /** The reason the call was cancelled, or `undefined` while it is not. */
  cancelledReason(): unknown {
    const c = this.cancellation;
    if (c?.cancelled) return c.reason ?? new Error('cancelled');
    const s = this.signal;
    if (s?.aborted) return s.reason ?? new Error('aborted');
    return undefined;
  }

  /** Milliseconds left before the deadline at time `now` (may be negative; `Infinity` if none). */
  timeLeft(now: number): number {
    return this.deadline - now;
  }

  /** Record a finished attempt. */
  recordAttempt(record: AttemptRecord): void {
    if (this.attempts === undefined) this.attempts = [record];
    else this.attempts.push(record);
  }

  /** Note that `address` has been tried by this call. */
  markTried(address: string): void {
    if (this.tried === undefined) this.tried = [address];
    else this.tried.push(address);
  }
}
