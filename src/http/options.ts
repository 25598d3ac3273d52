/**
 * The options of createHttpClient: their types, defaults, and the validation that turns what a
 * user passed into settings the client can trust. Every invalid option throws a ConfigError that
 * names the option and the bad value, at construction, never on the hot path.
 */
import { isIP } from 'node:net';
import type { RequestInit } from 'undici';
import { type BalancerStrategy, p2cPeakEwma } from '../balance/strategies.js';
import type { EndpointLayer } from '../client/endpoint-stack.js';
import type { Outcome, ResponseClass } from '../core/classification.js';
import { type Clock, realClock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import {
  booleanOption,
  functionOption,
  integerAtLeast,
  integerInRange,
  numberInRange,
  objectOption,
  oneOf,
  optionKeys,
  positiveNumber,
  rejectUnknownKeys,
  upperBound,
} from '../core/options.js';
import type { Filter } from '../core/service.js';
import type { Stack } from '../core/stack.js';
import type { Resolver } from '../discovery/resolver.js';
import { parseTargets, type StaticTarget, staticResolver } from '../discovery/static.js';
import {
  ADAPTIVE_THROTTLE_OPTION_KEYS,
  type AdaptiveThrottleOptions,
} from '../policies/adaptive-throttle.js';
import { CIRCUIT_BREAKER_OPTION_KEYS, type CircuitBreakerOptions } from '../policies/circuit-breaker.js';
import { DEFAULT_TOTAL_TIMEOUT_MS } from '../policies/deadline.js';
import { FAILURE_ACCRUAL_OPTION_KEYS, type FailureAccrualOptions } from '../policies/failure-accrual.js';
import { HEDGE_OPTION_KEYS, type HedgeOptions } from '../policies/hedge.js';
import { MAX_ATTEMPTS_LIMIT, MAX_ATTEMPTS_REASON, RETRY_DEFAULTS } from '../policies/retry.js';
import { RETRY_BUDGET_OPTION_KEYS, type RetryBudgetOptions } from '../policies/retry-budget.js';
import type { TelemetryPlugin } from '../telemetry/telemetry.js';
import { defaultHttpClassifier, type HttpClassifier } from './protocol/classifier.js';
import {
  copyHeaders,
  type HeadersInput,
  type HttpBody,
  type HttpRequest,
  type HttpResponse,
} from './protocol/request.js';
import { DEFAULT_REPLAY_BUFFER_BYTES } from './transport/replayable-body.js';
import {
  type DispatcherFactory,
  defaultDispatcherFactory,
  TLS_OPTION_KEYS,
  type TlsOptions,
  type TransportSettings,
} from './transport/transport.js';

/** Defaults of {@link createHttpClient}; docs/http-client.md gives the source of each. */
export const HTTP_CLIENT_DEFAULTS = {
  scheme: 'http',
  timeoutMs: DEFAULT_TOTAL_TIMEOUT_MS,
  attemptTimeoutMs: Number.POSITIVE_INFINITY,
  connections: 64,
  pipelining: 1,
  keepAliveTimeoutMs: 4_000,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 300_000,
  bodyTimeoutMs: 300_000,
  http2: false,
  inheritAmbientDeadline: true,
  propagateDeadline: true,
  maxAttempts: RETRY_DEFAULTS.maxAttempts,
  backoffInitialMs: RETRY_DEFAULTS.backoffInitialMs,
  backoffMaxMs: RETRY_DEFAULTS.backoffMaxMs,
  retryAfterCapMs: RETRY_DEFAULTS.retryAfterCapMs,
  replayBufferBytes: DEFAULT_REPLAY_BUFFER_BYTES,
} as const;

/** Retry settings of a client (`retry: false` turns retries off). */
export interface RetryOptions {
  /** Most attempts per call, the first included: 1 to 5 (`MAX_ATTEMPTS_LIMIT`). Default 3 (2 retries). */
  maxAttempts?: number;
  /** The retry budget shared by retries and hedges. Default 20% + 10/s over 10 s (Finagle). */
  budget?: RetryBudgetOptions;
  /** First backoff bound, in ms; full jitter. Default 25 (Envoy). */
  backoffInitialMs?: number;
  /** Largest backoff bound, in ms. Default 250 (Envoy: 10 × base). */
  backoffMaxMs?: number;
  /** A Retry-After longer than this (ms) is not waited for: the failure is returned. Default 10 000. */
  retryAfterCapMs?: number;
  /** Bytes of a streamed request body kept for replay. Default 65 536 (Linkerd). */
  replayBufferBytes?: number;
}

/** The keys of {@link RetryOptions}; any other key in `retry` throws a ConfigError. */
export const RETRY_OPTION_KEYS = optionKeys<RetryOptions>({
  maxAttempts: true,
  budget: true,
  backoffInitialMs: true,
  backoffMaxMs: true,
  retryAfterCapMs: true,
  replayBufferBytes: true,
});

/** Options of {@link createHttpClient}. Exactly one of `endpoints` and `resolver` is required. */
export interface HttpClientOptions {
  /** Name of the destination, for errors and telemetry. Default: the resolver's description. */
  name?: string;
  /** A static list: `'host:port'`, `'http://host:port'`, `{ host, port, weight }`. */
  endpoints?: readonly StaticTarget[];
  /** A resolver (e.g. `dnsResolver(...)`), instead of `endpoints`. The client closes it. */
  resolver?: Resolver;
  /** `http` or `https`. Default `http`. */
  scheme?: 'http' | 'https';
  /** Host header and TLS server name (e.g. `api.internal`). Default: each endpoint's address. */
  authority?: string;
  /** Balancing strategy. Default `p2cPeakEwma()`. */
  balancer?: BalancerStrategy;
  /** Total time for a call, in ms, until response headers; `Infinity` for none. Default 15 000. */
  timeoutMs?: number;
  /** Time for one attempt, in ms; `Infinity` for none. Default none. */
  attemptTimeoutMs?: number;
  /** Connections per endpoint. Default 64. */
  connections?: number;
  /** Requests pipelined per HTTP/1.1 connection. Default 1 (undici). */
  pipelining?: number;
  /** Idle keep-alive time of a connection, in ms. Default 4 000 (undici). */
  keepAliveTimeoutMs?: number;
  /** TCP (and TLS) connect timeout, in ms. Default 10 000 (undici). */
  connectTimeoutMs?: number;
  /** Time to wait for response headers on a connection, in ms. Default 300 000 (undici). */
  headersTimeoutMs?: number;
  /** Longest pause between body chunks, in ms. Default 300 000 (undici). */
  bodyTimeoutMs?: number;
  /** Negotiate HTTP/2 by ALPN on `https`. Default false (set explicitly; undici 8 defaults to true). */
  http2?: boolean;
  /** TLS and mTLS settings for `https`. */
  tls?: TlsOptions;
  /**
   * Makes each endpoint's undici dispatcher, in undici Agent's `factory` shape: called once per
   * endpoint with its origin and the Pool options weft would use. weft closes what it returns
   * when the endpoint leaves or the client closes. In tests, `mockAgentFactory(mockAgent)` from
   * `weft/testing` sends weft's requests to an undici MockAgent (docs/testing.md).
   * Default: `(origin, options) => new Pool(origin, options)`.
   */
  dispatcherFactory?: DispatcherFactory;
  /** Inherit the deadline of the incoming request being served. Default true. */
  inheritAmbientDeadline?: boolean;
  /** Send the remaining time as `weft-timeout-ms`. Default true. */
  propagateDeadline?: boolean;
  /** Retries of retryable failures, under a budget; on by default, `false` for none. */
  retry?: RetryOptions | boolean;
  /** Classify attempts; returning `undefined` defers to the default (docs/retries.md). */
  classifier?: HttpClassifier;
  /** Hedged (backup) requests for idempotent calls; off by default, `true` for the defaults. */
  hedge?: HedgeOptions | boolean;
  /** Per-endpoint outlier ejection; on by default, `false` for none (docs/failure-accrual.md). */
  failureAccrual?: Omit<FailureAccrualOptions, 'clock'> | boolean;
  /** A circuit breaker over the whole client; off by default, `true` for the defaults. */
  circuitBreaker?: DistributiveOmit<CircuitBreakerOptions, 'clock'> | boolean;
  /** SRE client-side adaptive throttling; off by default, `true` for the defaults. */
  adaptiveThrottle?: Omit<AdaptiveThrottleOptions, 'clock'> | boolean;
  /**
   * Metrics and traces: `prometheusMetrics({ registry })` from `weft/prometheus`,
   * `openTelemetryTracing()` from `weft/opentelemetry`, or both in an array. Default none.
   */
  telemetry?: TelemetryPlugin | readonly TelemetryPlugin[];
  /** Edit the call stack (insert, replace, remove roles). */
  stack?: (stack: Stack<Filter<HttpRequest, HttpResponse>>) => Stack<Filter<HttpRequest, HttpResponse>>;
  /** Edit the per-endpoint stack. */
  endpointStack?: (
    stack: Stack<EndpointLayer<HttpRequest, HttpResponse>>,
  ) => Stack<EndpointLayer<HttpRequest, HttpResponse>>;
  /** Clock for timers and timestamps (tests pass a VirtualClock). Default: the real clock. */
  clock?: Clock;
}

/** The keys of {@link HttpClientOptions}; any other key throws a ConfigError. */
export const HTTP_CLIENT_OPTION_KEYS = optionKeys<HttpClientOptions>({
  name: true,
  endpoints: true,
  resolver: true,
  scheme: true,
  authority: true,
  balancer: true,
  timeoutMs: true,
  attemptTimeoutMs: true,
  connections: true,
  pipelining: true,
  keepAliveTimeoutMs: true,
  connectTimeoutMs: true,
  headersTimeoutMs: true,
  bodyTimeoutMs: true,
  http2: true,
  tls: true,
  inheritAmbientDeadline: true,
  propagateDeadline: true,
  retry: true,
  classifier: true,
  hedge: true,
  failureAccrual: true,
  circuitBreaker: true,
  adaptiveThrottle: true,
  telemetry: true,
  stack: true,
  endpointStack: true,
  clock: true,
  dispatcherFactory: true,
});

/** Per-call options, on top of undici's request shape. */
export interface HttpCallOptions {
  /** Total time for this call, in ms (overrides the client's). */
  timeoutMs?: number;
  /** Time for one attempt, in ms (overrides the client's). */
  attemptTimeoutMs?: number;
  /**
   * Declare the request idempotent (safe to send twice) or not, whatever its method. Default:
   * RFC 9110 idempotent methods, or any request with an `Idempotency-Key` header.
   */
  idempotent?: boolean;
  /** Most attempts for this call, 1 (never retry) to 5 (`MAX_ATTEMPTS_LIMIT`). Default: the client's. */
  maxAttempts?: number;
  /** Classify this call's attempts; returning `undefined` defers to the client's. */
  classifier?: HttpClassifier;
}

/** Options of {@link HttpClient.request}: undici's request shape plus weft's per-call options. */
export interface HttpRequestOptions extends HttpCallOptions {
  /** Path and query, starting with `/`. */
  path: string;
  /** Default `GET`. */
  method?: string;
  headers?: HeadersInput;
  body?: HttpBody;
  /** Query parameters appended to the path. */
  query?: Record<string, string | number | boolean>;
  signal?: AbortSignal;
  /** undici's headers timeout for this request, in ms. */
  headersTimeout?: number;
  /** undici's body timeout for this request, in ms. */
  bodyTimeout?: number;
}

/** The keys `client.request()` takes: weft's request shape and its per-call options. Others throw. */
export const REQUEST_OPTION_KEYS = optionKeys<HttpRequestOptions>({
  path: true,
  method: true,
  headers: true,
  body: true,
  query: true,
  signal: true,
  headersTimeout: true,
  bodyTimeout: true,
  timeoutMs: true,
  attemptTimeoutMs: true,
  idempotent: true,
  maxAttempts: true,
  classifier: true,
});

/**
 * The keys `client.fetch()` takes in `init`: the WHATWG `RequestInit` (undici's type, plus
 * `priority`, which the Fetch standard has and undici's type lacks) and weft's per-call options.
 * Others throw. `dispatcher` is allowed as a RequestInit key, but the client's own replaces it.
 */
export const FETCH_INIT_KEYS = optionKeys<RequestInit & { priority?: unknown } & HttpCallOptions>({
  method: true,
  headers: true,
  body: true,
  referrer: true,
  referrerPolicy: true,
  mode: true,
  credentials: true,
  cache: true,
  redirect: true,
  integrity: true,
  keepalive: true,
  signal: true,
  duplex: true,
  priority: true,
  window: true,
  dispatcher: true,
  timeoutMs: true,
  attemptTimeoutMs: true,
  idempotent: true,
  maxAttempts: true,
  classifier: true,
});

/** Everything the client is built from, validated. */
export interface ResolvedHttpClientOptions {
  readonly name: string;
  readonly clock: Clock;
  readonly resolver: Resolver;
  readonly strategy: BalancerStrategy;
  readonly transport: TransportSettings;
  readonly timeoutMs: number;
  readonly attemptTimeoutMs: number;
  readonly inheritAmbientDeadline: boolean;
  readonly propagateDeadline: boolean;
  /** The client's classifier, deferring to the default: it always answers. */
  readonly classifier: AttemptClassifier;
  /** Hedge settings, or undefined when hedging is off. */
  readonly hedge: HedgeOptions | undefined;
  /** Failure accrual settings, or undefined when it is off. */
  readonly failureAccrual: FailureAccrualOptions | undefined;
  /** Circuit breaker settings, or undefined when there is none. */
  readonly circuitBreaker: CircuitBreakerOptions | undefined;
  /** Adaptive throttling settings, or undefined when it is off. */
  readonly adaptiveThrottle: AdaptiveThrottleOptions | undefined;
  /** Telemetry plugins (possibly none). */
  readonly telemetry: readonly TelemetryPlugin[];
  /** Retry settings, or undefined when retries are off. */
  readonly retry:
    | (Required<Omit<RetryOptions, 'budget'>> & { readonly budget: RetryBudgetOptions | undefined })
    | undefined;
  readonly editStack: NonNullable<HttpClientOptions['stack']>;
  readonly editEndpointStack: NonNullable<HttpClientOptions['endpointStack']>;
}

/** Validate `options` and fill in defaults; throws ConfigError naming the first bad option. */
export function resolveHttpClientOptions(options: HttpClientOptions): ResolvedHttpClientOptions {
  if (options === undefined)
    throw new ConfigError('options', options, 'expected { endpoints } or { resolver }');
  const o = objectOption<HttpClientOptions>('options', options);
  rejectUnknownKeys('', o, HTTP_CLIENT_OPTION_KEYS);
  const d = HTTP_CLIENT_DEFAULTS;
  const clock = o.clock ?? realClock;
  if (typeof clock?.now !== 'function' || typeof clock.setTimeout !== 'function') {
    throw new ConfigError('clock', clock, 'expected a Clock');
  }
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length === 0)) {
    throw new ConfigError('name', o.name, 'expected a non-empty string');
  }
  if (o.authority !== undefined && (typeof o.authority !== 'string' || !/^[^\s/?#@]+$/.test(o.authority))) {
    throw new ConfigError('authority', o.authority, 'expected host or host:port');
  }
  const scheme = oneOf(
    'scheme',
    o.scheme,
    ['http', 'https'] as const,
    schemeOfTargets(o.endpoints) ?? d.scheme,
  );
  const resolver = pickResolver(o, scheme);
  const strategy = o.balancer ?? p2cPeakEwma();
  if (typeof strategy?.createPicker !== 'function' || typeof strategy.createLoad !== 'function') {
    throw new ConfigError('balancer', strategy, 'expected a strategy such as p2cPeakEwma() or roundRobin()');
  }
  const allowH2 = booleanOption('http2', o.http2, d.http2);
  if (allowH2 && scheme !== 'https') {
    throw new ConfigError('http2', o.http2, 'HTTP/2 is negotiated by ALPN over TLS: it needs scheme "https"');
  }
  if (o.tls !== undefined && scheme !== 'https')
    throw new ConfigError('tls', o.tls, 'tls options need scheme "https"');
  return {
    name: o.name ?? o.authority ?? resolver.description,
    clock,
    resolver,
    strategy,
    transport: {
      scheme,
      connections: integerAtLeast('connections', o.connections, 1, d.connections),
      pipelining: integerAtLeast('pipelining', o.pipelining, 1, d.pipelining),
      keepAliveTimeoutMs: positiveNumber('keepAliveTimeoutMs', o.keepAliveTimeoutMs, d.keepAliveTimeoutMs),
      connectTimeoutMs: positiveNumber('connectTimeoutMs', o.connectTimeoutMs, d.connectTimeoutMs),
      headersTimeoutMs: positiveNumber('headersTimeoutMs', o.headersTimeoutMs, d.headersTimeoutMs),
      bodyTimeoutMs: positiveNumber('bodyTimeoutMs', o.bodyTimeoutMs, d.bodyTimeoutMs),
      allowH2,
      tls: o.tls === undefined ? undefined : checkTls(o.tls),
      authority: o.authority,
      dispatcherFactory: functionOption('dispatcherFactory', o.dispatcherFactory, defaultDispatcherFactory),
    },
    classifier: withDefault(
      o.classifier === undefined
        ? undefined
        : functionOption<HttpClassifier>('classifier', o.classifier, o.classifier),
    ),
    retry: o.retry === false ? undefined : resolveRetry(o.retry === true ? undefined : o.retry),
    hedge: resolveHedge(o.hedge),
    failureAccrual:
      o.failureAccrual === false
        ? undefined
        : (policyOptions(
            'failureAccrual',
            o.failureAccrual === true ? undefined : o.failureAccrual,
            FAILURE_ACCRUAL_OPTION_KEYS,
          ) as FailureAccrualOptions),
    circuitBreaker: optIn<CircuitBreakerOptions>(
      'circuitBreaker',
      o.circuitBreaker,
      CIRCUIT_BREAKER_OPTION_KEYS,
    ),
    adaptiveThrottle: optIn<AdaptiveThrottleOptions>(
      'adaptiveThrottle',
      o.adaptiveThrottle,
      ADAPTIVE_THROTTLE_OPTION_KEYS,
    ),
    telemetry: resolveTelemetry(o.telemetry),
    timeoutMs: positiveNumber('timeoutMs', o.timeoutMs, d.timeoutMs, true),
    attemptTimeoutMs: positiveNumber('attemptTimeoutMs', o.attemptTimeoutMs, d.attemptTimeoutMs, true),
    inheritAmbientDeadline: booleanOption(
      'inheritAmbientDeadline',
      o.inheritAmbientDeadline,
      d.inheritAmbientDeadline,
    ),
    propagateDeadline: booleanOption('propagateDeadline', o.propagateDeadline, d.propagateDeadline),
    editStack: functionOption('stack', o.stack, identity),
    editEndpointStack: functionOption('endpointStack', o.endpointStack, identity),
  };
}

function resolveTelemetry(value: unknown): readonly TelemetryPlugin[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  list.forEach((plugin, i) => {
    if (
      plugin === null ||
      typeof plugin !== 'object' ||
      typeof (plugin as TelemetryPlugin).attach !== 'function'
    ) {
      throw new ConfigError(
        Array.isArray(value) ? `telemetry[${i}]` : 'telemetry',
        plugin,
        'expected a plugin such as prometheusMetrics({ registry })',
      );
    }
  });
  return list as TelemetryPlugin[];
}

/** An opt-in policy: `true` for its defaults, an object of options, `false`/undefined for off. */
function optIn<T extends object>(option: string, value: unknown, known: ReadonlySet<string>): T | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {} as T;
  return policyOptions<T>(option, value, known) as T;
}

/**
 * A policy's options nested in the client's: the policy's own keys, without `clock`, which the
 * client passes itself (a nested one was used by failure accrual and ignored by the breaker).
 */
function policyOptions<T extends object>(
  option: string,
  value: unknown,
  known: ReadonlySet<string>,
): Partial<T> {
  const o = objectOption<T>(option, value, known);
  if ('clock' in o) {
    throw new ConfigError(
      `${option}.clock`,
      o.clock,
      'set clock on the client, which passes it to every policy',
    );
  }
  return o;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function resolveHedge(value: HedgeOptions | boolean | undefined): HedgeOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  return objectOption<HedgeOptions>('hedge', value, HEDGE_OPTION_KEYS);
}

function resolveRetry(value: RetryOptions | undefined): ResolvedHttpClientOptions['retry'] {
  const r = objectOption<RetryOptions>('retry', value, RETRY_OPTION_KEYS);
  const d = HTTP_CLIENT_DEFAULTS;
  const backoffInitialMs = positiveNumber('retry.backoffInitialMs', r.backoffInitialMs, d.backoffInitialMs);
  const backoffMaxMs = upperBound(
    'retry.backoffMaxMs',
    r.backoffMaxMs,
    d.backoffMaxMs,
    backoffInitialMs,
    'retry.backoffInitialMs',
  );
  return {
    maxAttempts: maxAttemptsOption('retry.maxAttempts', r.maxAttempts, d.maxAttempts),
    budget:
      r.budget === undefined
        ? undefined
        : objectOption<RetryBudgetOptions>('retry.budget', r.budget, RETRY_BUDGET_OPTION_KEYS),
    backoffInitialMs,
    backoffMaxMs,
    retryAfterCapMs: numberInRange(
      'retry.retryAfterCapMs',
      r.retryAfterCapMs,
      0,
      3_600_000,
      d.retryAfterCapMs,
    ),
    replayBufferBytes: integerAtLeast('retry.replayBufferBytes', r.replayBufferBytes, 0, d.replayBufferBytes),
  };
}

/** Attempts per call: an integer from 1 to {@link MAX_ATTEMPTS_LIMIT}, with the limit's reason. */
function maxAttemptsOption(option: string, value: unknown, fallback: number): number {
  return integerInRange(option, value, 1, MAX_ATTEMPTS_LIMIT, fallback, MAX_ATTEMPTS_REASON);
}

/** A classifier that always answers. */
type AttemptClassifier = (
  req: HttpRequest,
  outcome: Outcome<HttpResponse>,
  idempotent: boolean,
) => ResponseClass;

/** The user's classifier, deferring to the default when it returns undefined. */
function withDefault(user: HttpClassifier | undefined): AttemptClassifier {
  if (user === undefined) return defaultHttpClassifier as AttemptClassifier;
  return (req, outcome, idempotent) =>
    user(req, outcome, idempotent) ?? defaultHttpClassifier(req, outcome, idempotent)!;
}

function identity<T>(value: T): T {
  return value;
}

/** The scheme that URL targets name (`https://...`), if any; mixed schemes are an error. */
function schemeOfTargets(targets: unknown): 'http' | 'https' | undefined {
  if (!Array.isArray(targets)) return undefined;
  let found: 'http' | 'https' | undefined;
  targets.forEach((target, i) => {
    if (typeof target !== 'string') return;
    const match = /^(https?):\/\//i.exec(target);
    if (match === null) return;
    const scheme = match[1]!.toLowerCase() as 'http' | 'https';
    if (found !== undefined && found !== scheme) {
      throw new ConfigError(
        `endpoints[${i}]`,
        target,
        `all URL endpoints must share one scheme; an earlier one is ${found}`,
      );
    }
    found = scheme;
  });
  return found;
}

function pickResolver(o: Partial<HttpClientOptions>, scheme: 'http' | 'https'): Resolver {
  if (o.endpoints !== undefined && o.resolver !== undefined) {
    throw new ConfigError('resolver', o.resolver, 'give either endpoints or resolver, not both');
  }
  if (o.resolver !== undefined) {
    const r = o.resolver;
    if (
      r === null ||
      typeof r !== 'object' ||
      typeof r.subscribe !== 'function' ||
      typeof r.close !== 'function'
    ) {
      throw new ConfigError('resolver', r, 'expected a Resolver such as dnsResolver(...)');
    }
    return r;
  }
  if (o.endpoints === undefined)
    throw new ConfigError('endpoints', undefined, 'give endpoints or a resolver');
  if (!Array.isArray(o.endpoints)) throw new ConfigError('endpoints', o.endpoints, 'expected an array');
  if (o.endpoints.length === 0) {
    // A static list never changes inside the client: with none, no call could ever be sent.
    throw new ConfigError(
      'endpoints',
      o.endpoints,
      'expected at least one endpoint; for a list that changes, pass resolver: staticResolver([...]) and update() it',
    );
  }
  const targetScheme = schemeOfTargets(o.endpoints);
  if (targetScheme !== undefined && targetScheme !== scheme) {
    throw new ConfigError('scheme', scheme, `the endpoints are ${targetScheme}:// URLs`);
  }
  const addresses = parseTargets(o.endpoints).map((e) => e.address);
  const label = addresses.length <= 2 ? addresses.join(',') : `${addresses[0]},+${addresses.length - 1}`;
  return staticResolver(o.endpoints, { description: `static(${label})` });
}

function checkTls(value: unknown): TlsOptions {
  const tls = objectOption<TlsOptions>('tls', value, TLS_OPTION_KEYS);
  const pem = (v: unknown) => typeof v === 'string' || Buffer.isBuffer(v);
  if (tls.ca !== undefined && !(pem(tls.ca) || (Array.isArray(tls.ca) && tls.ca.every(pem)))) {
    throw new ConfigError('tls.ca', tls.ca, 'expected PEM text or a Buffer, or an array of them');
  }
  if (tls.cert !== undefined && !pem(tls.cert))
    throw new ConfigError('tls.cert', tls.cert, 'expected PEM text or a Buffer');
  if (tls.key !== undefined && !pem(tls.key))
    throw new ConfigError('tls.key', tls.key, 'expected PEM text or a Buffer');
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new ConfigError(
      tls.cert === undefined ? 'tls.cert' : 'tls.key',
      undefined,
      'mTLS needs both cert and key',
    );
  }
  if (
    tls.servername !== undefined &&
    (typeof tls.servername !== 'string' || tls.servername.length === 0 || isIP(tls.servername) !== 0)
  ) {
    throw new ConfigError(
      'tls.servername',
      tls.servername,
      'expected a DNS name (SNI does not carry IP addresses)',
    );
  }
  booleanOption('tls.rejectUnauthorized', tls.rejectUnauthorized, true);
  return tls as TlsOptions;
}

/**
 * The weft per-call options among `options` (a request's options or a fetch init), validated;
 * `undefined` when there are none, so the common call takes the client's settings as they are.
 */
export function callOptions(options: HttpCallOptions): HttpCallOptions | undefined {
  const { timeoutMs, attemptTimeoutMs, idempotent, maxAttempts, classifier } = options;
  if (
    timeoutMs === undefined &&
    attemptTimeoutMs === undefined &&
    idempotent === undefined &&
    maxAttempts === undefined &&
    classifier === undefined
  ) {
    return undefined;
  }
  return {
    timeoutMs: timeoutMs === undefined ? undefined : positiveNumber('timeoutMs', timeoutMs, 0, true),
    attemptTimeoutMs:
      attemptTimeoutMs === undefined
        ? undefined
        : positiveNumber('attemptTimeoutMs', attemptTimeoutMs, 0, true),
    idempotent: idempotent === undefined ? undefined : booleanOption('idempotent', idempotent, false),
    maxAttempts: maxAttempts === undefined ? undefined : maxAttemptsOption('maxAttempts', maxAttempts, 1),
    classifier:
      classifier === undefined
        ? undefined
        : functionOption<HttpClassifier>('classifier', classifier, classifier),
  };
}

const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Methods that skip the token check (a Set lookup is cheaper than the regex on every call). */
const COMMON_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/**
 * The weft per-call options in a `client.fetch()` init, validated, every key of `init` checked
 * against {@link FETCH_INIT_KEYS}; `undefined` when there are none (see {@link callOptions}).
 */
export function fetchCallOptions(init: RequestInit & HttpCallOptions): HttpCallOptions | undefined {
  if (init === undefined || init === null) return undefined;
  if (typeof init !== 'object') throw new ConfigError('fetch init', init, 'expected an object');
  rejectUnknownKeys('fetch', init, FETCH_INIT_KEYS);
  return callOptions(init);
}

/** The weft request for `client.request(options)`, validated, every key checked against {@link REQUEST_OPTION_KEYS}. */
export function requestFromOptions(options: HttpRequestOptions): HttpRequest {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('request', options, 'expected { path, method?, headers?, body? }');
  }
  rejectUnknownKeys('request', options, REQUEST_OPTION_KEYS);
  let path = options.path;
  if (typeof path !== 'string' || path.charCodeAt(0) !== 47 /* / */) {
    throw new ConfigError('request.path', path, 'expected a path starting with "/"');
  }
  const method = options.method ?? 'GET';
  if (!COMMON_METHODS.has(method) && (typeof method !== 'string' || !METHOD_TOKEN.test(method))) {
    throw new ConfigError('request.method', method, 'expected an HTTP method token');
  }
  if (options.query !== undefined) {
    const query = new URLSearchParams(options.query as Record<string, string>).toString();
    if (query.length > 0) path += (path.includes('?') ? '&' : '?') + query;
  }
  return {
    method,
    path,
    headers: copyHeaders(options.headers, 'request.headers'),
    body: options.body ?? null,
    headersTimeout:
      options.headersTimeout === undefined
        ? undefined
        : positiveNumber('request.headersTimeout', options.headersTimeout, 0),
    bodyTimeout:
      options.bodyTimeout === undefined
        ? undefined
        : positiveNumber('request.bodyTimeout', options.bodyTimeout, 0),
  };
}
