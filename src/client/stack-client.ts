/**
 * createStackClient: the client every protocol shares (Finagle's `StackClient`). From the shared
 * options, validated once (./options.ts), and what a protocol supplies (./protocol.ts: its
 * adapter, its transport per endpoint, its idempotency rule and default classifier), it assembles
 * discovery, the balancer over the endpoint stacks (./endpoint-stack.ts), the call stack
 * (./default-stack.ts) and telemetry, and runs calls through them. A protocol's facade (HTTP's
 * `createHttpClient`) only turns its callers' shapes into requests and hands them to {@link
 * StackClient.call}; the stats a dashboard reads are the stack client's (./client-view.ts).
 */

import { Balancer } from '../balance/balancer.js';
import type { Cancellation } from '../core/cancellation.js';
import type { Clock } from '../core/clock.js';
import { CallContext } from '../core/context.js';
import { ClientClosedError, ConfigError } from '../core/errors.js';
import { callFinishingHere } from '../core/frame-elision.js';
import { holdProcess } from '../core/process-hold.js';
import { composeFilters, type Next } from '../core/service.js';
import { decideSharedReadings, SharedReadings } from '../core/shared-readings.js';
import { DiscoveredEndpoints, type EndpointSetSnapshot } from '../discovery/endpoint-set.js';
import {
  type AdaptiveThrottleFilter,
  type AdaptiveThrottleStats,
  adaptiveThrottle,
} from '../policies/adaptive-throttle.js';
import {
  type CircuitBreakerFilter,
  type CircuitBreakerOptions,
  circuitBreaker,
} from '../policies/circuit-breaker.js';
import type { FailureAccrualOptions, FailureAccrualService } from '../policies/failure-accrual.js';
import { type HedgeStats, hedgeFilter } from '../policies/hedge.js';
import { RetryBudget } from '../policies/retry-budget.js';
import { attemptClassifier, withDefault } from './classify-attempt.js';
import type { ClientView, EndpointStats } from './client-view.js';
import { defaultClientStack } from './default-stack.js';
import { buildEndpoint, defaultEndpointStack } from './endpoint-stack.js';
import { observeFilter } from './observe.js';
import type { CallOptions, ResolvedClientOptions } from './options.js';
import type { ClientProtocol } from './protocol.js';
import { type ClientTelemetry, fanOut } from './telemetry.js';

/** A client over one protocol's requests: its state (./client-view.ts), and one way in, {@link call}. */
export interface StackClient<Req, Res> extends ClientView {
  /** Whether `close()` was called; from then on every call rejects with ClientClosedError. */
  readonly closed: boolean;
  /**
   * Run one call through the stack. `options`: per-call options validated by
   * `resolveCallOptions` (undefined: the client's settings). The caller's `signal`, or a
   * `cancellation` token the facade aborts (an undici dispatcher's controller), or neither.
   */
  call(
    req: Req,
    options: CallOptions<Req, Res> | undefined,
    signal: AbortSignal | undefined,
    cancellation: Cancellation | undefined,
  ): Promise<Res>;
}

/** Build a stack client; a bad stack editor throws ConfigError, and nothing is left running. */
export function createStackClient<Req, Res>(
  protocol: ClientProtocol<Req, Res>,
  options: ResolvedClientOptions<Req, Res>,
): StackClient<Req, Res> {
  return new WeftStackClient(protocol, options);
}

class WeftStackClient<Req, Res> implements StackClient<Req, Res> {
  readonly name: string;
  readonly retryBudget: RetryBudget;
  readonly hedgeStats: HedgeStats | undefined;
  readonly circuitBreaker: CircuitBreakerFilter<Req, Res> | undefined;
  readonly roles: readonly string[];
  readonly #throttle: AdaptiveThrottleFilter<Req, Res> | undefined;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #attemptTimeoutMs: number;
  readonly #maxAttempts: number;
  readonly #isIdempotent: ClientProtocol<Req, Res>['isIdempotent'];
  readonly #discovery: DiscoveredEndpoints;
  readonly #balancer: Balancer<Req, Res>;
  readonly #call: Next<Req, Res>;
  readonly #telemetry: ClientTelemetry | undefined;
  #closing: Promise<void> | undefined;

  constructor(protocol: ClientProtocol<Req, Res>, o: ResolvedClientOptions<Req, Res>) {
    const { clock } = o;
    const { adapter } = protocol;
    this.name = o.name;
    const budget = o.retry?.budget;
    if (budget instanceof RetryBudget && budget.clock !== clock) {
      throw new ConfigError('retry.budget', budget, "a shared RetryBudget must run on the client's clock");
    }
    // Telemetry keeps a reference to this client and reads it only at scrape time.
    const telemetry =
      o.telemetry.length === 0
        ? undefined
        : fanOut(o.telemetry.map((p) => p.attach(this, { scheme: protocol.scheme })));
    this.#telemetry = telemetry;
    this.retryBudget = budget instanceof RetryBudget ? budget : new RetryBudget(clock, budget);
    const hedge =
      o.hedge === undefined
        ? undefined
        : hedgeFilter<Req, Res>({ clock, adapter, budget: this.retryBudget, options: o.hedge });
    this.hedgeStats = hedge?.stats;
    this.circuitBreaker =
      o.circuitBreaker === undefined
        ? undefined
        : circuitBreaker<Req, Res>({ ...o.circuitBreaker, clock } as CircuitBreakerOptions);
    if (telemetry?.breakerChanged !== undefined) {
      const changed = telemetry.breakerChanged.bind(telemetry);
      this.circuitBreaker?.onStateChange((change) => changed(change.to));
    }
    this.#throttle =
      o.adaptiveThrottle === undefined
        ? undefined
        : adaptiveThrottle<Req, Res>({ ...o.adaptiveThrottle, clock });
    const readings = new SharedReadings();
    const builtStack = defaultClientStack<Req, Res>({
      clock,
      adapter,
      inheritAmbientDeadline: o.inheritAmbientDeadline,
      retry:
        o.retry === undefined
          ? undefined
          : {
              ...o.retry,
              clock,
              adapter,
              budget: this.retryBudget,
              onRetry: telemetry?.retried?.bind(telemetry),
              onBudgetExhausted: telemetry?.budgetExhausted?.bind(telemetry),
            },
      hedge: hedge?.filter,
      breaker: this.circuitBreaker,
      throttle: this.#throttle,
      observe: telemetry === undefined ? undefined : observeFilter(telemetry, clock),
      readings,
    });
    const stack = o.editStack(builtStack);
    const builtEndpointStack = defaultEndpointStack<Req, Res>({
      clock,
      adapter,
      propagateDeadline: o.propagateDeadline,
      failureAccrual: withAccrualHooks(o.failureAccrual, telemetry),
      readings,
    });
    const endpointStack = o.editEndpointStack(builtEndpointStack);
    if (typeof stack?.layers !== 'function' || typeof endpointStack?.layers !== 'function') {
      // Telemetry already holds this client: let go of it before failing.
      telemetry?.close?.();
      if (typeof stack?.layers !== 'function')
        throw new ConfigError('stack', stack, 'the stack editor must return a Stack');
      throw new ConfigError('endpointStack', endpointStack, 'the stack editor must return a Stack');
    }
    decideSharedReadings(
      readings,
      { built: builtStack, edited: stack },
      { built: builtEndpointStack, edited: endpointStack },
    );
    this.#timeoutMs = o.timeoutMs;
    this.#attemptTimeoutMs = o.attemptTimeoutMs;
    this.#maxAttempts = o.retry?.maxAttempts ?? 1;
    this.#isIdempotent = protocol.isIdempotent;
    this.#clock = clock;
    this.#discovery = new DiscoveredEndpoints(o.resolver, clock);
    const makeTransport = protocol.makeTransport;
    try {
      this.#balancer = new Balancer<Req, Res>({
        destination: this.name,
        endpoints: this.#discovery,
        strategy: o.strategy,
        clock,
        classify: attemptClassifier(
          withDefault(o.classifier, protocol.defaultClassifier),
          o.classifier === undefined ? protocol.plainSuccess : undefined,
        ),
        makeEndpoint: (endpoint) => buildEndpoint(endpointStack, makeTransport(endpoint), endpoint),
        observer: telemetry,
        completion: protocol.completion,
        readings,
        // Probes of endpoints on probation copy only what hedging may copy (src/balance/probation.ts).
        probes: {
          mayCopy: (req, idempotent) => idempotent && adapter.hasInMemoryBody(req),
          copy: adapter.probeCopy?.bind(adapter),
          discard: (res) => adapter.discard(res),
          budget: this.retryBudget,
        },
      });
    } catch (error) {
      // The first endpoints' transports could not be built (`dispatcherFactory`): leave nothing running.
      this.#discovery.close();
      telemetry?.close?.();
      throw error;
    }
    if (telemetry?.discoveryUpdated !== undefined) {
      const updated = telemetry.discoveryUpdated.bind(telemetry);
      this.#discovery.onUpdate(updated);
    }
    const balancer = this.#balancer;
    this.#call = composeFilters(stack.layers(), (req, ctx) => balancer.call(req, ctx as CallContext));
    this.roles = stack.roles();
  }

  get strategy(): string {
    return this.#balancer.strategyName;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  call(
    req: Req,
    options: CallOptions<Req, Res> | undefined,
    signal: AbortSignal | undefined,
    cancellation: Cancellation | undefined,
  ): Promise<Res> {
    if (this.#closing !== undefined) return Promise.reject(new ClientClosedError({ destination: this.name }));
    return this.#run(req, this.#context(req, options, signal, cancellation));
  }

  /**
   * Run a call through the stack. A layer below (observe, deadline, retry) normally finishes it
   * (explained errors, telemetry); when none did, as with no deadline and no retries, this does.
   * The call holds the process open until it is finished (src/core/process-hold.ts); a layer
   * that throws instead of returning a promise fails the call like any other error.
   */
  #run(req: Req, ctx: CallContext): Promise<Res> {
    holdProcess();
    ctx.holdsProcess = true;
    return callFinishingHere(req, ctx, this.#call);
  }

  /** The context of one call: the client's settings, narrowed by validated per-call options. */
  #context(
    req: Req,
    call: CallOptions<Req, Res> | undefined,
    signal: AbortSignal | undefined,
    cancellation: Cancellation | undefined,
  ): CallContext {
    const ctx = new CallContext(this.name, signal, cancellation);
    ctx.clock = this.#clock;
    ctx.callStart = this.#clock.now();
    ctx.budgetMs = call?.timeoutMs ?? this.#timeoutMs;
    ctx.attemptTimeoutMs = call?.attemptTimeoutMs ?? this.#attemptTimeoutMs;
    ctx.maxAttempts = call?.maxAttempts ?? this.#maxAttempts;
    ctx.idempotent = this.#isIdempotent(req, call?.idempotent);
    if (call?.classifier !== undefined) ctx.classifier = call.classifier as CallContext['classifier'];
    return ctx;
  }

  throttleStats(): AdaptiveThrottleStats | undefined {
    return this.#throttle?.stats();
  }

  endpoints(): EndpointStats[] {
    const now = this.#clock.now();
    return this.#balancer.nodes.map((node) => {
      return {
        address: node.address,
        status: node.service.status,
        pending: node.load.pending,
        cost: node.load.peek(now),
        ewmaMs: node.load.peekEstimate?.(now),
        attempts: node.outcomes.counts(now).attempts,
        successRate: node.outcomes.rate(now),
        weight: node.endpoint.weight,
        accrual: (node.service as Partial<FailureAccrualService<Req, Res>>).accrual,
      };
    });
  }

  discovery(): EndpointSetSnapshot {
    return this.#discovery.current;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#balancer.close();
      this.#discovery.close();
      this.#telemetry?.close?.();
    })();
    return this.#closing;
  }
}

/** Failure accrual's hooks, telling telemetry as well as the user's own hooks. */
function withAccrualHooks(
  options: FailureAccrualOptions | undefined,
  telemetry: ClientTelemetry | undefined,
): FailureAccrualOptions | undefined {
  if (options === undefined || telemetry === undefined) return options;
  return {
    ...options,
    onEject: (address, until) => {
      telemetry.ejected?.(address);
      options.onEject?.(address, until);
    },
    onProbe: (address) => {
      telemetry.probed?.(address);
      options.onProbe?.(address);
    },
    onReturn: (address) => {
      telemetry.returned?.(address);
      options.onReturn?.(address);
    },
  };
}
