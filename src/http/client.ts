/**
 * createHttpClient: the HTTP entry point. It assembles discovery, the balancer, the endpoint
 * stacks over undici dispatchers (a Pool per endpoint unless `dispatcherFactory` says otherwise)
 * and the call stack, validates every option at construction, and offers three ways in that all
 * run through the same stack: `request()` (undici's request shape), `fetch()` (WHATWG fetch) and
 * `dispatcher` (an undici Dispatcher). Defaults: docs/http-client.md.
 */
import { type Dispatcher, type RequestInit, type Response, fetch as undiciFetch } from 'undici';
import { Balancer } from '../balance/balancer.js';
import { defaultClientStack } from '../client/default-stack.js';
import { buildEndpoint, defaultEndpointStack } from '../client/endpoint-stack.js';
import type { Cancellation } from '../core/cancellation.js';
import type { Clock } from '../core/clock.js';
import { CallContext } from '../core/context.js';
import { ClientClosedError, ConfigError } from '../core/errors.js';
import { finishWhenSettled } from '../core/finish-call.js';
import { holdProcess } from '../core/process-hold.js';
import { composeFilters, type Next } from '../core/service.js';
import { DiscoveredEndpoints, type EndpointSetSnapshot } from '../discovery/endpoint-set.js';
import {
  type AdaptiveThrottleFilter,
  type AdaptiveThrottleStats,
  adaptiveThrottle,
} from '../policies/adaptive-throttle.js';
import {
  type CircuitBreakerFilter,
  type CircuitBreakerHandle,
  type CircuitBreakerOptions,
  circuitBreaker,
} from '../policies/circuit-breaker.js';
import type {
  AccrualState,
  FailureAccrualOptions,
  FailureAccrualService,
} from '../policies/failure-accrual.js';
import { type HedgeStats, hedgeFilter } from '../policies/hedge.js';
import { RetryBudget } from '../policies/retry-budget.js';
import { observeFilter } from '../telemetry/observe.js';
import { type ClientTelemetry, fanOut } from '../telemetry/telemetry.js';
import { WeftDispatcher } from './dispatch/dispatcher.js';
import {
  callOptions,
  fetchCallOptions,
  type HttpCallOptions,
  type HttpClientOptions,
  type HttpRequestOptions,
  requestFromOptions,
  resolveHttpClientOptions,
} from './options.js';
import { httpAdapter } from './protocol/adapter.js';
import { httpAttemptClassifier } from './protocol/classify-attempt.js';
import { isIdempotent } from './protocol/idempotency.js';
import type { HttpRequest, HttpResponse } from './protocol/request.js';
import { UndiciEndpoint } from './transport/transport.js';

export type { HttpCallOptions, HttpClientOptions, HttpRequestOptions, RetryOptions } from './options.js';
export { HTTP_CLIENT_DEFAULTS } from './options.js';

/** Live state of one endpoint, for dashboards and the demo. */
export interface EndpointStats {
  readonly address: string;
  readonly status: 'open' | 'busy' | 'closed';
  readonly pending: number;
  /**
   * The load metric's cost now, read without disturbing it. Its unit is the strategy's: Peak EWMA
   * gives estimate × (pending + 1) in ms; round robin and least loaded give the pending count.
   */
  readonly cost: number;
  /** The RTT estimate in ms behind the cost (Peak EWMA's average); absent for strategies without one. */
  readonly ewmaMs?: number | undefined;
  /** Attempts that ended in the last 30 s (the classifier's `ignorable` ones not counted). */
  readonly attempts: number;
  /** The share of those attempts that succeeded, as the classifier judged them; NaN when there were none. */
  readonly successRate: number;
  readonly weight: number;
  /** Failure accrual's view of the endpoint (alive, dead = ejected, probing); absent when off. */
  readonly accrual?: AccrualState | undefined;
}

/** A weft HTTP client. Create with {@link createHttpClient}. */
export interface HttpClient {
  readonly name: string;
  /** undici's request shape; resolves at the response headers with a streaming body. */
  request(options: HttpRequestOptions): Promise<HttpResponse>;
  /** WHATWG fetch through the stack. A path (`/users`) or any URL: only its path and query are used. */
  fetch(input: string | URL, init?: RequestInit & HttpCallOptions): Promise<Response>;
  /** The client as an undici Dispatcher, for `fetch(url, { dispatcher })` and `setGlobalDispatcher`. */
  readonly dispatcher: Dispatcher;
  /** The retry budget shared by this client's retries and hedges (`balance()` for dashboards). */
  readonly retryBudget: RetryBudget;
  /** Hedges sent and won, and the current hedge delay; undefined when hedging is off. */
  readonly hedgeStats: HedgeStats | undefined;
  /** The circuit breaker's state and transitions; undefined when there is none. */
  readonly circuitBreaker: CircuitBreakerHandle | undefined;
  /** Adaptive throttling counts and the current rejection probability; undefined when off. */
  throttleStats(): AdaptiveThrottleStats | undefined;
  /** The roles of the call stack, outermost first. */
  readonly roles: readonly string[];
  /** Name of the balancing strategy. */
  readonly strategy: string;
  /** Live state of every endpoint. */
  endpoints(): EndpointStats[];
  /** The discovery state: kind, staleness, last error. */
  discovery(): EndpointSetSnapshot;
  /** Stop taking calls; resolves when in-flight calls have finished and every socket and timer is gone. */
  close(): Promise<void>;
}

/** Create an HTTP client. Every option is validated here; a bad one throws {@link ConfigError}. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  return new WeftHttpClient(options);
}

class WeftHttpClient implements HttpClient {
  readonly name: string;
  readonly dispatcher: Dispatcher;
  readonly retryBudget: RetryBudget;
  readonly hedgeStats: HedgeStats | undefined;
  readonly circuitBreaker: CircuitBreakerFilter<HttpRequest, HttpResponse> | undefined;
  readonly #throttle: AdaptiveThrottleFilter<HttpRequest, HttpResponse> | undefined;
  readonly roles: readonly string[];
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #attemptTimeoutMs: number;
  readonly #discovery: DiscoveredEndpoints;
  readonly #balancer: Balancer<HttpRequest, HttpResponse>;
  readonly #call: Next<HttpRequest, HttpResponse>;
  readonly #maxAttempts: number;
  readonly #origin: string;
  readonly #placeholderOrigin: string | undefined;
  readonly #telemetry: ClientTelemetry | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: HttpClientOptions) {
    const o = resolveHttpClientOptions(options);
    const { clock, transport } = o;
    this.name = o.name;
    // Telemetry keeps a reference to this client and reads it only at scrape time.
    const telemetry =
      o.telemetry.length === 0 ? undefined : fanOut(o.telemetry.map((p) => p.attach(this, transport)));
    this.#telemetry = telemetry;
    const adapter = httpAdapter(o.retry?.replayBufferBytes);
    this.retryBudget = new RetryBudget(clock, o.retry?.budget);
    const hedge =
      o.hedge === undefined
        ? undefined
        : hedgeFilter<HttpRequest, HttpResponse>({
            clock,
            adapter,
            budget: this.retryBudget,
            options: o.hedge,
          });
    this.hedgeStats = hedge?.stats;
    this.circuitBreaker =
      o.circuitBreaker === undefined
        ? undefined
        : circuitBreaker<HttpRequest, HttpResponse>({ ...o.circuitBreaker, clock } as CircuitBreakerOptions);
    if (telemetry?.breakerChanged !== undefined) {
      const changed = telemetry.breakerChanged.bind(telemetry);
      this.circuitBreaker?.onStateChange((change) => changed(change.to));
    }
    this.#throttle =
      o.adaptiveThrottle === undefined
        ? undefined
        : adaptiveThrottle<HttpRequest, HttpResponse>({ ...o.adaptiveThrottle, clock });
    const stack = o.editStack(
      defaultClientStack<HttpRequest, HttpResponse>({
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
      }),
    );
    const endpointStack = o.editEndpointStack(
      defaultEndpointStack<HttpRequest, HttpResponse>({
        clock,
        adapter,
        propagateDeadline: o.propagateDeadline,
        failureAccrual: withAccrualHooks(o.failureAccrual, telemetry),
      }),
    );
    if (typeof stack?.layers !== 'function' || typeof endpointStack?.layers !== 'function') {
      // Telemetry already holds this client: let go of it before failing.
      telemetry?.close?.();
      if (typeof stack?.layers !== 'function')
        throw new ConfigError('stack', stack, 'the stack editor must return a Stack');
      throw new ConfigError('endpointStack', endpointStack, 'the stack editor must return a Stack');
    }
    this.#timeoutMs = o.timeoutMs;
    this.#attemptTimeoutMs = o.attemptTimeoutMs;
    this.#maxAttempts = o.retry?.maxAttempts ?? 1;
    this.#clock = clock;
    this.#origin = `${transport.scheme}://${transport.authority ?? 'weft.invalid'}`;
    this.#discovery = new DiscoveredEndpoints(o.resolver, clock);
    try {
      this.#balancer = new Balancer<HttpRequest, HttpResponse>({
        destination: this.name,
        endpoints: this.#discovery,
        strategy: o.strategy,
        clock,
        classify: httpAttemptClassifier(o.classifier),
        makeEndpoint: (endpoint) =>
          buildEndpoint(endpointStack, new UndiciEndpoint(endpoint, transport), endpoint),
        observer: telemetry,
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
    this.#call = composeFilters(stack.layers(), (req, ctx) => balancer.call(req, ctx));
    this.roles = stack.roles();
    this.#placeholderOrigin = transport.authority === undefined ? this.#origin : undefined;
    this.dispatcher = new WeftDispatcher(this, () => this.close(), this.#placeholderOrigin);
  }

  get strategy(): string {
    return this.#balancer.strategyName;
  }

  request(options: HttpRequestOptions): Promise<HttpResponse> {
    if (this.#closing !== undefined) return Promise.reject(new ClientClosedError({ destination: this.name }));
    let req: HttpRequest;
    let ctx: CallContext;
    try {
      req = requestFromOptions(options);
      ctx = this.#context(req, callOptions(options), options.signal, undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#run(req, ctx);
  }

  /** @internal Used by the dispatcher: `call` was validated by {@link callOptions}. */
  callFromDispatch(
    req: HttpRequest,
    cancellation: Cancellation,
    call?: HttpCallOptions,
  ): Promise<HttpResponse> {
    if (this.#closing !== undefined) return Promise.reject(new ClientClosedError({ destination: this.name }));
    return this.#run(req, this.#context(req, call, undefined, cancellation));
  }

  /**
   * Run a call through the stack. A layer below (observe, deadline, retry) normally finishes it
   * (explained errors, telemetry); when none did, as with no deadline and no retries, this does.
   * The call holds the process open until it is finished (src/core/process-hold.ts); a layer
   * that throws instead of returning a promise fails the call like any other error.
   */
  #run(req: HttpRequest, ctx: CallContext): Promise<HttpResponse> {
    holdProcess();
    ctx.holdsProcess = true;
    ctx.callAwaited = false;
    let pending: Promise<HttpResponse>;
    try {
      pending = this.#call(req, ctx);
    } catch (error) {
      ctx.callAwaited = false;
      pending = Promise.reject(error);
    }
    return ctx.callAwaited ? pending : finishWhenSettled(pending, ctx);
  }

  /** The context of one call: the client's settings, narrowed by validated per-call options. */
  #context(
    req: HttpRequest,
    call: HttpCallOptions | undefined,
    signal: AbortSignal | undefined,
    cancellation: Cancellation | undefined,
  ): CallContext {
    const ctx = new CallContext(this.name, signal, cancellation);
    ctx.clock = this.#clock;
    // The one clock reading of the way down (see CallContext.descentStart).
    ctx.restamp(this.#clock);
    ctx.callStart = ctx.descentStart;
    ctx.budgetMs = call?.timeoutMs ?? this.#timeoutMs;
    ctx.attemptTimeoutMs = call?.attemptTimeoutMs ?? this.#attemptTimeoutMs;
    ctx.maxAttempts = call?.maxAttempts ?? this.#maxAttempts;
    ctx.idempotent = isIdempotent(req.method, req.headers, call?.idempotent);
    if (call?.classifier !== undefined) ctx.classifier = call.classifier as CallContext['classifier'];
    return ctx;
  }

  fetch(input: string | URL, init?: RequestInit & HttpCallOptions): Promise<Response> {
    let url: URL;
    let call: HttpCallOptions | undefined;
    try {
      url = toUrl(input, this.#origin);
      call = init === undefined ? undefined : fetchCallOptions(init);
    } catch (error) {
      return Promise.reject(error);
    }
    if (call === undefined) return undiciFetch(url, { ...init, dispatcher: this.dispatcher });
    const target = {
      callFromDispatch: (req: HttpRequest, cancellation: Cancellation) =>
        this.callFromDispatch(req, cancellation, call),
    };
    return undiciFetch(url, {
      ...init,
      dispatcher: new WeftDispatcher(target, () => Promise.resolve(), this.#placeholderOrigin),
    });
  }

  throttleStats(): AdaptiveThrottleStats | undefined {
    return this.#throttle?.stats();
  }

  endpoints(): EndpointStats[] {
    const now = this.#clock.now();
    return this.#balancer.nodes.map((node) => {
      const { attempts, successes } = node.outcomes.counts(now);
      return {
        address: node.address,
        status: node.service.status,
        pending: node.load.pending,
        cost: node.load.peek(now),
        ewmaMs: node.load.peekEstimate?.(now),
        attempts,
        successRate: attempts === 0 ? Number.NaN : successes / attempts,
        weight: node.endpoint.weight,
        accrual: (node.service as Partial<FailureAccrualService<HttpRequest, HttpResponse>>).accrual,
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

function toUrl(input: string | URL, origin: string): URL {
  let url: URL;
  if (input instanceof URL) url = input;
  else if (typeof input !== 'string') {
    throw new ConfigError('fetch input', input, 'expected a path or a URL string');
  } else {
    try {
      url = input.startsWith('/') ? new URL(input, origin) : new URL(input);
    } catch {
      throw new ConfigError('fetch input', input, 'expected a path starting with "/" or an absolute URL');
    }
  }
  // fetch would refuse it with a TypeError that repeats the URL, credentials included.
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      'fetch input',
      url.href,
      'a URL with credentials cannot be fetched; send them in an authorization header',
    );
  }
  return url;
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
