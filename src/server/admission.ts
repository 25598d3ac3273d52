/**
 * Admission: the protocol-neutral core of weft's server half, run by the Express middleware and
 * the Fastify plugin before anything else of a request (before its body is read). In order:
 *
 *   1. deadline   `weft-timeout-ms` (clamped to `maxIncomingTimeoutMs`); `0` means it had passed
 *                 on arrival: answered 504 at once, never run (./rejection.ts says why not a nack)
 *   2. draining   after `drain()`: nacked (503, `weft-nack`, `Retry-After: 0`, connection closed)
 *   3. limit      no permit from the concurrency limiter: nacked (503, `weft-nack`, `Retry-After: 0`)
 *   4. admitted   the handler runs inside the ambient context { deadline, clock, signal }: weft
 *                 calls it makes get the time left and are cancelled through `signal` when the
 *                 caller goes away (Finagle's interrupts) or the request has been answered (as
 *                 grpc-js cancels a call's children when the call ends; Go's request context)
 *
 * An admitted request ends once: `finished` (the response was written) or `callerGone` (the
 * connection closed first). Its permit then ends as the concurrency-limits library's gRPC
 * interceptor ends it (next-wave.md §A3): dropped when the caller went away or the deadline
 * passed (a 504, a DeadlineExceededError from the handler, or a response after the deadline),
 * ignore when the handler threw anything else, success otherwise, whatever status it chose.
 */
import type { AmbientContext } from '../core/ambient.js';
import type { Clock } from '../core/clock.js';
import { parseDeadlineHeader } from '../core/deadline-header.js';
import type { ObservedServer, ServerObserver } from '../core/server-observer.js';
import { ConcurrencyLimiter } from '../policies/concurrency-limit/limiter.js';
import { DrainTracker } from './drain.js';
import { Exclusion, pathOf } from './exclusion.js';
import type { ServerConfig } from './options.js';
import {
  DRAINING_NACK,
  EXPIRED_ON_ARRIVAL,
  isDeadlineExceeded,
  OVERLOAD_NACK,
  type Rejection,
} from './rejection.js';
import { attachTelemetry } from './telemetry.js';

/**
 * A bound the framework puts on the handler besides the caller's deadline (Fastify's
 * `handlerTimeout`): the earlier of the two bounds outbound calls, and its signal cancels them.
 */
export interface HandlerBound {
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/** The reason calls still running are cancelled with once their request has been answered. */
const ANSWERED = new DOMException('the incoming request has been answered', 'AbortError');

/** One server's admission: its limiter, its draining, its telemetry; an {@link ObservedServer}. */
export class ServerAdmission implements ObservedServer {
  readonly name: string;
  readonly #clock: Clock;
  readonly #maxIncomingTimeoutMs: number;
  readonly #limiter: ConcurrencyLimiter | undefined;
  readonly #exclusion: Exclusion;
  readonly #drain = new DrainTracker();
  readonly #observer: ServerObserver | undefined;
  #closed: Promise<void> | undefined;

  constructor(config: ServerConfig) {
    this.name = config.name;
    this.#clock = config.clock;
    this.#maxIncomingTimeoutMs = config.maxIncomingTimeoutMs;
    this.#limiter =
      config.limit === undefined ? undefined : new ConcurrencyLimiter(config.limit, config.clock);
    this.#exclusion = new Exclusion(config.exclude);
    // Last: a plugin may read the gauges below as soon as it is attached.
    this.#observer = attachTelemetry(config.telemetry, this);
  }

  /** Requests admitted and not yet finished. */
  get inflight(): number {
    return this.#drain.inflight;
  }

  /** The concurrency limit now; undefined with `limit: false`. */
  get limit(): number | undefined {
    return this.#limiter?.limit;
  }

  /** The limit's algorithm (`fixed`, `gradient2`, ...); undefined with `limit: false`. */
  get algorithm(): string | undefined {
    return this.#limiter?.algorithm;
  }

  /** Does telemetry record routes? Without it an adapter need not work out a request's route. */
  get recordsRoutes(): boolean {
    return this.#observer !== undefined;
  }

  /** Has draining begun? */
  get draining(): boolean {
    return this.#drain.draining;
  }

  /** Is the request for `url` (route template `route`, when known) left alone? */
  excludes(url: string | undefined, route?: string): boolean {
    const exclusion = this.#exclusion;
    // Nothing excluded (the common case): no path to cut out of the URL.
    return !exclusion.empty && exclusion.excludes(pathOf(url), route);
  }

  /**
   * Admit a request or answer it at once. `route` is its template when already known ('' if
   * not), `deadlineHeader` its `weft-timeout-ms`.
   */
  admit(
    route: string,
    deadlineHeader: string | readonly string[] | undefined,
    bound?: HandlerBound,
  ): AdmittedRequest | Rejection {
    const timeoutMs = parseDeadlineHeader(deadlineHeader, this.#maxIncomingTimeoutMs);
    if (timeoutMs === 0) return this.#reject(route, EXPIRED_ON_ARRIVAL);
    if (this.#drain.draining) return this.#reject(route, DRAINING_NACK);
    const limiter = this.#limiter;
    let inflight = 0;
    if (limiter !== undefined) {
      inflight = limiter.tryEnter();
      if (inflight === 0) return this.#reject(route, OVERLOAD_NACK);
    }
    if (timeoutMs !== undefined) this.#observer?.deadlineReceived?.(timeoutMs);
    const now = this.#clock.now();
    let deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : now + timeoutMs;
    let signal: AbortSignal | undefined;
    if (bound !== undefined) {
      deadline = Math.min(deadline, now + bound.timeoutMs);
      signal = bound.signal;
    }
    this.#drain.started();
    return new AdmittedRequest(this, route, limiter, inflight, now, deadline, signal);
  }

  /**
   * Begin draining: from now on every new request is nacked. Resolves when the requests in
   * flight have finished. Calling it again returns the same promise.
   */
  drain(): Promise<void> {
    return this.#drain.drain();
  }

  /** Drain, then tell telemetry the server is closed. Calling it again returns the same promise. */
  close(): Promise<void> {
    this.#closed ??= this.drain().then(() => this.#observer?.close?.());
    return this.#closed;
  }

  /** @internal An admitted request ended. */
  ended(route: string, status: number, durationMs: number): void {
    this.#drain.finished();
    this.#observer?.requestFinished?.(route, status, durationMs);
  }

  /** @internal */
  get clock(): Clock {
    return this.#clock;
  }

  #reject(route: string, rejection: Rejection): Rejection {
    this.#observer?.requestRejected?.(route, rejection.kind);
    return rejection;
  }
}

/**
 * An admitted request: the context its handler runs in (it is that context: the deadline, the
 * clock and a signal), and how it ends (once). The signal is made on first read: most requests
 * make no outbound weft call, and an AbortController and its abort cost a few microseconds each.
 */
export class AdmittedRequest implements AmbientContext {
  /** The deadline on the server's clock, for the handler's weft calls. */
  readonly deadline: number;
  /** The matched route's template ('' while unknown); an adapter that learns it later sets it. */
  route: string;
  readonly #admission: ServerAdmission;
  /** The limiter that admitted it, and the in-flight count it was admitted at (its permit, kept here). */
  readonly #limiter: ConcurrencyLimiter | undefined;
  readonly #inflightAtAdmission: number;
  readonly #startMs: number;
  readonly #boundSignal: AbortSignal | undefined;
  #controller: AbortController | undefined;
  #signal: AbortSignal | undefined;
  /** Why the request ended, once it has (the signal then reads as aborted with it). */
  #endReason: unknown;
  #threw = false;
  #deadlineError = false;
  #ended = false;

  constructor(
    admission: ServerAdmission,
    route: string,
    limiter: ConcurrencyLimiter | undefined,
    inflightAtAdmission: number,
    startMs: number,
    deadline: number,
    boundSignal: AbortSignal | undefined,
  ) {
    this.#admission = admission;
    this.route = route;
    this.#limiter = limiter;
    this.#inflightAtAdmission = inflightAtAdmission;
    this.#startMs = startMs;
    this.deadline = deadline;
    this.#boundSignal = boundSignal;
  }

  /** What the handler's weft calls inherit (this request itself: deadline, clock, signal). */
  get context(): AmbientContext {
    return this;
  }

  /** The server's clock. */
  get clock(): Clock {
    return this.#admission.clock;
  }

  /** Does the server's telemetry record routes (so an adapter that learns it late should set `route`)? */
  get recordsRoute(): boolean {
    return this.#admission.recordsRoutes;
  }

  /** Aborted when the caller goes away or the response is written (made on first read). */
  get signal(): AbortSignal {
    if (this.#signal !== undefined) return this.#signal;
    const controller = new AbortController();
    if (this.#ended) controller.abort(this.#endReason);
    this.#controller = controller;
    const bound = this.#boundSignal;
    this.#signal = bound === undefined ? controller.signal : AbortSignal.any([controller.signal, bound]);
    return this.#signal;
  }

  /** The handler threw (or passed on) `error`. */
  handlerThrew(error: unknown): void {
    this.#threw = true;
    if (isDeadlineExceeded(error)) this.#deadlineError = true;
  }

  /** The response was written with `status`. */
  finished(status: number): void {
    if (this.#ended) return;
    const now = this.#admission.clock.now();
    const late = this.#deadlineError || status === 504 || now >= this.deadline;
    // The permit ends as dropped when late, ignore (no sample) when the handler threw, else success.
    this.#limiter?.release(
      this.#startMs,
      this.#inflightAtAdmission,
      late || !this.#threw ? now - this.#startMs : undefined,
      late,
    );
    this.#end(ANSWERED);
    this.#admission.ended(this.route, status, now - this.#startMs);
  }

  /** The connection closed before the response was written: the caller went away. */
  callerGone(): void {
    if (this.#ended) return;
    const now = this.#admission.clock.now();
    this.#limiter?.release(this.#startMs, this.#inflightAtAdmission, now - this.#startMs, true);
    this.#end(
      new DOMException('the caller of the incoming request went away (its connection closed)', 'AbortError'),
    );
    this.#admission.ended(this.route, 0, now - this.#startMs);
  }

  #end(reason: unknown): void {
    this.#ended = true;
    this.#endReason = reason;
    this.#controller?.abort(reason);
  }
}
