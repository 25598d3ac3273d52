/**
 * Balancer: the service between the call stack and the endpoint stacks. It keeps one node per
 * endpoint that discovery publishes, swaps sets in without blocking or failing requests (a node
 * that stays keeps its load history; one that leaves is closed once its requests finish), picks a
 * node per attempt and does the load accounting around it. It sits below retry so that every
 * attempt is balanced afresh and can avoid the endpoints the call already tried. When the picker
 * keeps much slower endpoints on probation (./probation.ts), the balancer also sends its probes:
 * a copy of an eligible call to the endpoint on probation, beside the call, its response dropped.
 */

import { Cancellation } from '../core/cancellation.js';
import { failure, isFailure, type ResponseClass } from '../core/classification.js';
import type { Clock } from '../core/clock.js';
import type { AttemptOwner, CallContext } from '../core/context.js';
import type { Endpoint, EndpointSetSnapshot, EndpointSource } from '../core/endpoint.js';
import {
  ClientClosedError,
  errorCodeOrName,
  NextCalledTwiceError,
  NoEndpointsError,
  roundDurationMs,
} from '../core/errors.js';
import { reportHookError } from '../core/events.js';
import { attemptEndedAbove, promiseToEndAttempts, reportingAttempt } from '../core/frame-elision.js';
import type { Service, ServiceStatus } from '../core/service.js';
import { SharedReadings } from '../core/shared-readings.js';
import type { AttemptCompletion, CompletionTracker } from './completion.js';
import type { EndpointNode } from './endpoint-node.js';
import type { LoadMetric } from './load-metric.js';
import type { BalancerObserver } from './observer.js';
import type { Picker } from './picker.js';
import { MAX_PROBE_MS, type Probation, type ProbeSupport, ProbeTimeoutError } from './probation.js';
import type { BalancerStrategy } from './strategies.js';
import { SuccessWindow } from './success-window.js';

export interface BalancerOptions<Req, Res> {
  readonly destination: string;
  readonly endpoints: EndpointSource;
  readonly strategy: BalancerStrategy;
  /** Build the endpoint stack for a newly discovered endpoint. */
  readonly makeEndpoint: (endpoint: Endpoint) => Service<Req, Res>;
  /** The protocol's classification of one attempt (sets `ctx.classification` when it settles). */
  readonly classify?: ((ctx: CallContext, outcome: unknown, failed: boolean) => ResponseClass) | undefined;
  readonly clock: Clock;
  /** Told of each attempt and of endpoints that leave (telemetry); none by default. */
  readonly observer?: BalancerObserver | undefined;
  /** The protocol's responses whose outcome comes later (streams; ./completion.ts); none by default. */
  readonly completion?: CompletionTracker<Res> | undefined;
  /** Whether a pick may take the attempt filter's reading of the clock (../core/shared-readings.ts). */
  readonly readings?: SharedReadings | undefined;
  /** How to send probes to endpoints on probation (./probation.ts); none: no probes. */
  readonly probes?: ProbeSupport<Req, Res> | undefined;
}

export class Balancer<Req, Res> implements Service<Req, Res> {
  readonly #destination: string;
  readonly #endpoints: EndpointSource;
  readonly #strategy: BalancerStrategy;
  readonly #picker: Picker;
  readonly #makeEndpoint: (endpoint: Endpoint) => Service<Req, Res>;
  readonly #clock: Clock;
  readonly #classify: BalancerOptions<Req, Res>['classify'];
  readonly #observer: BalancerObserver | undefined;
  readonly #completion: CompletionTracker<Res> | undefined;
  readonly #readings: SharedReadings;
  readonly #probation: Probation | undefined;
  readonly #probes: ProbeSupport<Req, Res> | undefined;
  readonly #unsubscribe: () => void;
  #nodes: BalancedNode<Req, Res>[] = [];
  #byAddress = new Map<string, BalancedNode<Req, Res>>();
  #draining = new Set<Promise<void>>();
  /** Calls waiting for discovery's first set (#waitForEndpoints); empty once a set is bound. */
  readonly #waiting = new Set<EndpointWaiter>();
  #closed = false;

  constructor(options: BalancerOptions<Req, Res>) {
    this.#destination = options.destination;
    this.#endpoints = options.endpoints;
    this.#strategy = options.strategy;
    this.#picker = options.strategy.createPicker();
    this.#makeEndpoint = options.makeEndpoint;
    this.#clock = options.clock;
    this.#classify = options.classify;
    this.#observer = options.observer;
    this.#completion = options.completion;
    this.#readings = options.readings ?? new SharedReadings();
    this.#probation = this.#picker.probation;
    this.#probes = options.probes;
    this.#apply(options.endpoints.current);
    this.#unsubscribe = options.endpoints.onUpdate((snapshot) => this.#apply(snapshot));
  }

  /** The strategy's name, e.g. `p2c-peak-ewma`. */
  get strategyName(): string {
    return this.#strategy.name;
  }

  /** The current nodes (read-only view, for telemetry and the demo). */
  get nodes(): readonly EndpointNode<Req, Res>[] {
    return this.#nodes;
  }

  get status(): ServiceStatus {
    if (this.#closed) return 'closed';
    for (const node of this.#nodes) if (node.service.status === 'open') return 'open';
    return 'busy';
  }

  call(req: Req, ctx: CallContext): Promise<Res> {
    if (this.#closed) return Promise.reject(new ClientClosedError({ destination: this.#destination }));
    const kind = this.#endpoints.current.kind;
    if (kind === 'pending' || kind === 'failed') return this.#callWhenBound(req, ctx);
    return this.#dispatch(
      req,
      ctx,
      this.#readings.pickTakesAttemptStart ? ctx.attemptStart : this.#clock.now(),
    );
  }

  #dispatch(req: Req, ctx: CallContext, now: number): Promise<Res> {
    if (ctx.attemptOwner !== undefined) {
      // A layer below retry called `next` twice for one attempt (./core/errors.ts).
      return Promise.reject(
        new NextCalledTwiceError(ctx.endpoint, { destination: this.#destination, attempts: ctx.attempts }),
      );
    }
    const node = this.#picker.pick(this.#nodes, ctx, now) as BalancedNode<Req, Res> | undefined;
    if (node === undefined) {
      // Nobody will report this attempt unless a layer above awaits it: stop its timer here.
      const error = this.#noEndpoints(ctx, now);
      return Promise.reject(attemptEndedAbove(ctx) ? error : ctx.endAttempt(error, true));
    }
    ctx.endpoint = node.address;
    ctx.markTried(node.address);
    ctx.request = req;
    const observer = this.#observer;
    if (observer?.attemptStarted !== undefined)
      observer.attemptStarted(req, ctx, node.endpoint, node.load.peek(now));
    node.load.start(now);
    // Set before the endpoint's layers run: the deadline header may take it as its reading.
    ctx.attemptStart = now;
    const pending = node.service.call(req, ctx);
    ctx.attemptOwner = node;
    if (this.#probation?.due(now)) this.#probe(this.#probation, req, ctx, now);
    return reportingAttempt(pending, ctx);
  }

  /** The nodes' probation (./probation.ts), when the strategy keeps one: for tests and dashboards. */
  get probation(): Probation | undefined {
    return this.#probation;
  }

  /**
   * A probe is due: if this call may be copied and the budget has a token, send a copy to the next
   * node on probation. The copy is not part of the call: it has its own context (the call's
   * deadline and attempt deadline, no shared attempt log), nobody waits for it, and its response
   * is dropped; only the endpoint's load metric, failure accrual and probation hear how it went.
   */
  #probe(probation: Probation, req: Req, ctx: CallContext, now: number): void {
    const probes = this.#probes;
    if (probes === undefined || !probes.mayCopy(req, ctx.idempotent)) return;
    const node = probation.takeProbe(now) as BalancedNode<Req, Res> | undefined;
    if (node === undefined || !probes.budget.tryWithdraw()) return;
    const cancellation = new Cancellation();
    const copy = ctx.fork(cancellation);
    copy.tried = undefined;
    copy.attempts = undefined;
    copy.attemptDeadline = ctx.attemptDeadline;
    copy.endpoint = node.address;
    const probe = probes.copy === undefined ? req : probes.copy(req);
    copy.request = probe;
    copy.attemptStart = now;
    promiseToEndAttempts(copy);
    const timeoutMs = Math.min(ctx.attemptDeadline - now, ctx.deadline - now, MAX_PROBE_MS);
    const timer = this.#clock.setTimeout(
      () => cancellation.abort(new ProbeTimeoutError(timeoutMs, node.address)),
      timeoutMs,
    );
    node.load.start(now);
    let pending: Promise<Res>;
    try {
      pending = node.service.call(probe, copy);
    } catch (error) {
      pending = Promise.reject(error);
    }
    copy.attemptOwner = new ProbeOwner(this, node);
    pending.then(
      (response) => {
        this.#clock.clearTimeout(timer);
        copy.endAttempt(response, false);
        probes.discard(response);
      },
      (error: unknown) => {
        this.#clock.clearTimeout(timer);
        copy.endAttempt(error, true);
      },
    );
  }

  /**
   * A probe ended: the endpoint stack (failure accrual), the load metric and probation hear it, as
   * for any attempt; the caller's call, the observer and the call's attempt log do not.
   */
  settleProbe(node: BalancedNode<Req, Res>, ctx: CallContext, outcome: unknown, failed: boolean): void {
    const end = this.#clock.now();
    ctx.attemptEnd = end;
    if (this.#classify !== undefined)
      ctx.classification = classifySafely(this.#classify, ctx, outcome, failed);
    node.service.settled?.(ctx, outcome, failed);
    account(node, ctx.classification, failed, end, end - ctx.attemptStart, this.#probation);
  }

  /**
   * An attempt ended: let the endpoint stack see it (classification, failure accrual), then do the
   * load accounting, count it in the endpoint's success rate, and record a failed attempt for
   * errors and traces. A response whose outcome comes later (a stream; ./completion.ts) is only
   * classified here: the rest waits for its completion.
   */
  settleAttempt(node: BalancedNode<Req, Res>, ctx: CallContext, outcome: unknown, failed: boolean): void {
    const start = ctx.attemptStart;
    const end = this.#clock.now();
    ctx.attemptEnd = end;
    if (this.#classify !== undefined)
      ctx.classification = classifySafely(this.#classify, ctx, outcome, failed);
    if (this.#completion !== undefined && !failed && this.#completesLater(ctx, outcome as Res)) {
      this.#completion.track(outcome as Res, new LateAttempt(this, node, ctx, start, end));
      return;
    }
    node.service.settled?.(ctx, outcome, failed);
    this.#observer?.attemptFinished?.(ctx, node.endpoint, failed, outcome, end - start);
    const verdict = ctx.classification as ResponseClass | undefined;
    if (!account(node, verdict, failed, end, end - start, this.#probation)) {
      ctx.recordAttempt({
        endpoint: node.address,
        outcome: failed ? describeFailure(outcome) : verdict!.reason,
        durationMs: roundDurationMs(end - start),
      });
    }
  }

  /** Whether a resolved attempt, not a failure at its response, has an outcome still to come. */
  #completesLater(ctx: CallContext, response: Res): boolean {
    const verdict = ctx.classification;
    return (verdict === undefined || !isFailure(verdict)) && this.#completion!.completesLater(response);
  }

  /**
   * @internal The final outcome of an attempt that {@link settleAttempt} left open: classified
   * like any outcome, then heard by the endpoint stack, the load metric (the RTT is the one taken
   * at the response), the success rate and the observer. Not recorded on the call's attempts: the
   * call was over when the response was returned.
   */
  completeAttempt(late: LateAttempt<Req, Res>, outcome: unknown, failed: boolean): void {
    const { node, ctx } = late;
    const end = this.#clock.now();
    ctx.attemptEnd = end;
    if (this.#classify !== undefined)
      ctx.classification = classifySafely(this.#classify, ctx, outcome, failed);
    node.service.settled?.(ctx, outcome, failed);
    this.#observer?.attemptFinished?.(ctx, node.endpoint, failed, outcome, end - late.start);
    account(node, ctx.classification, failed, end, late.responded - late.start, this.#probation);
  }

  /**
   * The first calls of a client may come before discovery has a set: while it has not answered,
   * or has only failed (a source that cannot reach its server at start-up). They wait for the
   * first `bound` or `negative` set, for as long as the call may wait. The deadline, the
   * per-attempt timeout and an abort all cancel the call's token or signal, which ends the wait
   * with a NoEndpointsError that names the source and, when it failed, carries its last error.
   */
  async #callWhenBound(req: Req, ctx: CallContext): Promise<Res> {
    try {
      await this.#waitForEndpoints(ctx);
    } catch (error) {
      // Nobody will report this attempt unless a layer above awaits it: stop its timer here.
      throw attemptEndedAbove(ctx) ? error : ctx.endAttempt(error, true);
    }
    return this.#dispatch(req, ctx, this.#clock.now());
  }

  #waitForEndpoints(ctx: CallContext): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cancellation = ctx.cancellation;
      const signal = ctx.signal;
      const cleanup = () => {
        this.#waiting.delete(waiter);
        cancellation?.removeListener('abort', onCancel);
        signal?.removeEventListener('abort', onCancel);
      };
      const onCancel = () => {
        cleanup();
        reject(this.#notBoundYet(ctx));
      };
      const waiter: EndpointWaiter = {
        bound() {
          cleanup();
          resolve();
        },
        closed(error) {
          cleanup();
          reject(error);
        },
      };
      if (ctx.cancelledReason() !== undefined) {
        onCancel();
        return;
      }
      this.#waiting.add(waiter);
      cancellation?.once('abort', onCancel);
      signal?.addEventListener('abort', onCancel, { once: true });
    });
  }

  /** Why a call that waited for discovery's first set gave up: the source and what it last said. */
  #notBoundYet(ctx: CallContext): NoEndpointsError {
    const snapshot = this.#endpoints.current;
    const source = this.#endpoints.description;
    const details = { destination: this.#destination, attempts: ctx.attempts };
    if (snapshot.kind === 'failed' && snapshot.error !== undefined) {
      const message = snapshot.error.message || snapshot.error.name;
      return new NoEndpointsError(
        `discovery (${source}) has failed and has no endpoint set yet: ${message}`,
        {
          ...details,
          cause: snapshot.error,
        },
      );
    }
    return new NoEndpointsError(`discovery (${source}) has not answered yet`, {
      ...details,
      cause: ctx.cancelledReason(),
    });
  }

  #noEndpoints(ctx: CallContext, now: number): NoEndpointsError {
    const snapshot = this.#endpoints.current;
    const details = {
      destination: this.#destination,
      attempts: ctx.attempts,
      timeLeftMs: ctx.deadline - now,
      cause: snapshot.error,
    };
    const source = this.#endpoints.description;
    switch (snapshot.kind) {
      case 'negative':
        return new NoEndpointsError(
          snapshot.reason ? `${source}: ${snapshot.reason}` : `${source} says the name does not exist`,
          details,
        );
      case 'failed':
        return new NoEndpointsError(`${source} failed and no endpoint set was ever resolved`, details);
      default:
        return this.#nodes.length === 0
          ? new NoEndpointsError(`${source} returned an empty set`, details)
          : new NoEndpointsError(`all ${this.#nodes.length} endpoints are closed`, details);
    }
  }

  /** Swap in a new endpoint set: keep nodes whose address stays, create new ones, drain the rest. */
  #apply(snapshot: EndpointSetSnapshot): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    const next: BalancedNode<Req, Res>[] = [];
    const byAddress = new Map<string, BalancedNode<Req, Res>>();
    for (const endpoint of snapshot.endpoints) {
      let node = this.#byAddress.get(endpoint.address);
      if (node === undefined) {
        node = new BalancedNode(
          this,
          endpoint,
          this.#makeOrUndo(endpoint, next),
          this.#strategy.createLoad(now),
          new SuccessWindow(),
        );
      } else {
        node.endpoint = endpoint;
      }
      next.push(node);
      byAddress.set(endpoint.address, node);
    }
    for (const [address, node] of this.#byAddress) {
      if (!byAddress.has(address)) this.#drain(node);
    }
    this.#nodes = next;
    this.#byAddress = byAddress;
    if (this.#waiting.size > 0 && (snapshot.kind === 'bound' || snapshot.kind === 'negative')) {
      for (const waiter of [...this.#waiting]) waiter.bound();
    }
  }

  /**
   * Make a new endpoint's service; if that throws (a transport that cannot be built, such as a
   * `dispatcherFactory` that returned no dispatcher), close the ones this set already made and let
   * the error through: the set is not applied, and nothing it opened stays open.
   */
  #makeOrUndo(endpoint: Endpoint, made: readonly EndpointNode<Req, Res>[]): Service<Req, Res> {
    try {
      return this.#makeEndpoint(endpoint);
    } catch (error) {
      for (const node of made) {
        if (this.#byAddress.get(node.address) !== node) void node.service.close().catch(() => {});
      }
      throw error;
    }
  }

  /** Close a node that left discovery; its service lets in-flight requests finish first. */
  #drain(node: EndpointNode<Req, Res>): void {
    this.#observer?.endpointRemoved?.(node.address);
    const done = node.service.close().catch(() => {});
    this.#draining.add(done);
    void done.then(() => this.#draining.delete(done));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    for (const waiter of [...this.#waiting])
      waiter.closed(new ClientClosedError({ destination: this.#destination }));
    const nodes = this.#nodes;
    this.#nodes = [];
    this.#byAddress = new Map();
    await Promise.all([...nodes.map((n) => n.service.close().catch(() => {})), ...this.#draining]);
  }
}

/** A call waiting for discovery's first set: told when one is bound, or when the balancer closes. */
interface EndpointWaiter {
  bound(): void;
  closed(error: Error): void;
}

/**
 * A node as the balancer holds it: it also owns the bookkeeping of each attempt sent to it, until
 * the attempt ends (`ctx.attemptOwner`), so the attempt needs no other reference to its node.
 */
class BalancedNode<Req, Res> implements EndpointNode<Req, Res>, AttemptOwner {
  readonly address: string;
  onProbation = false;

  constructor(
    readonly balancer: Balancer<Req, Res>,
    public endpoint: Endpoint,
    readonly service: Service<Req, Res>,
    readonly load: LoadMetric,
    readonly outcomes: SuccessWindow,
  ) {
    this.address = endpoint.address;
  }

  settleAttempt(ctx: CallContext, outcome: unknown, failed: boolean): void {
    this.balancer.settleAttempt(this, ctx, outcome, failed);
  }
}

/** Settles a probe's bookkeeping (./probation.ts): the balancer's, without the caller's call. */
class ProbeOwner<Req, Res> implements AttemptOwner {
  constructor(
    readonly balancer: Balancer<Req, Res>,
    readonly node: BalancedNode<Req, Res>,
  ) {}

  settleAttempt(ctx: CallContext, outcome: unknown, failed: boolean): void {
    this.balancer.settleProbe(this.node, ctx, outcome, failed);
  }
}

/** A short name for what went wrong: an error code (ECONNREFUSED, WEFT_ATTEMPT_TIMEOUT) or the error's name. */
function describeFailure(error: unknown): string {
  return (error !== null && typeof error === 'object' ? errorCodeOrName(error) : undefined) ?? String(error);
}

/** A classifier that throws must not leave the attempt's bookkeeping half done: it counts as a failure. */
function classifySafely(
  classify: (ctx: CallContext, outcome: unknown, failed: boolean) => ResponseClass,
  ctx: CallContext,
  outcome: unknown,
  failed: boolean,
): ResponseClass {
  try {
    return classify(ctx, outcome, failed);
  } catch (error) {
    reportHookError(`the classifier of ${ctx.destination}`, error);
    return failure('classifier threw');
  }
}

/**
 * The load metric and the endpoint's success rate hear how an attempt ended, as classified, and
 * so does probation when the node is on it (a fast success ends it). Returns false when it counts
 * as a failure: an error, or a response classified as one (a fast 503 must not make the endpoint
 * look cheap).
 */
function account(
  node: EndpointNode,
  verdict: ResponseClass | undefined,
  failed: boolean,
  end: number,
  rttMs: number,
  probation: Probation | undefined,
): boolean {
  const ok = !failed && (verdict === undefined || !isFailure(verdict));
  node.load.end(end, rttMs, ok);
  if (ok && node.onProbation === true) probation?.sampled(node, rttMs, end);
  // The caller's own abort, or a hedge's losing copy, says nothing of the endpoint's health.
  if (verdict?.kind !== 'ignorable') node.outcomes.record(end, ok);
  return ok;
}

/**
 * An attempt whose response came back before its outcome (./completion.ts): what its completion
 * needs, kept apart from the call's context, which the call may go on using (retry reads the
 * classification at the response; the call finishes). Made only for such attempts.
 */
export class LateAttempt<Req, Res> implements AttemptCompletion {
  /** A context of its own for the outcome still to come, for the classifier, accrual and telemetry. */
  readonly ctx: CallContext;
  #done = false;

  constructor(
    readonly balancer: Balancer<Req, Res>,
    readonly node: EndpointNode<Req, Res>,
    callCtx: CallContext,
    /** When the attempt was sent, and when its response came back, on the balancer's clock. */
    readonly start: number,
    readonly responded: number,
  ) {
    this.ctx = callCtx.forLateOutcome();
  }

  complete(outcome: unknown, failed: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.balancer.completeAttempt(this, outcome, failed);
  }
}
