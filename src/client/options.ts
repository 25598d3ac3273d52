/**
 * The options every weft client shares, whatever its protocol: discovery, balancing, timeouts,
 * retries and their budget, hedging, failure accrual, the circuit breaker, adaptive throttling,
 * telemetry, the stack editors and the clock; and the per-call options. Their types, defaults,
 * and the validation that turns what a user passed into settings a stack client can trust: each
 * invalid option throws a ConfigError naming the option and the bad value, at construction (per
 * call for per-call options), never deeper in the stack. A protocol adds its own options beside
 * these (HTTP: scheme, TLS, pools in src/http/transport/options.ts) and checks unknown keys
 * against the union of both key lists. Defaults and their sources: docs/http-client.md.
 */
import { type BalancerStrategy, p2cPeakEwma } from '../balance/strategies.js';
import type { Classifier } from '../core/classification.js';
import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import {
  booleanOption,
  clockOption,
  functionOption,
  integerAtLeast,
  integerInRange,
  numberInRange,
  objectOption,
  optionKeys,
  positiveNumber,
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
import { RETRY_BUDGET_OPTION_KEYS, RetryBudget, type RetryBudgetOptions } from '../policies/retry-budget.js';
import type { EndpointLayer } from './endpoint-stack.js';
import type { TelemetryPlugin } from './telemetry.js';

/** Defaults of the shared options; a protocol's defaults object spreads these (HTTP_CLIENT_DEFAULTS). */
export const CLIENT_DEFAULTS = {
  timeoutMs: DEFAULT_TOTAL_TIMEOUT_MS,
  attemptTimeoutMs: Number.POSITIVE_INFINITY,
  inheritAmbientDeadline: true,
  propagateDeadline: true,
  maxAttempts: RETRY_DEFAULTS.maxAttempts,
  backoffInitialMs: RETRY_DEFAULTS.backoffInitialMs,
  backoffMaxMs: RETRY_DEFAULTS.backoffMaxMs,
  retryAfterCapMs: RETRY_DEFAULTS.retryAfterCapMs,
} as const;

/** Retry settings of a client (`retry: false` turns retries off). */
export interface RetryOptions {
  /** Most attempts per call, the first included: 1 to 5 (`MAX_ATTEMPTS_LIMIT`). Default 3 (2 retries). */
  maxAttempts?: number;
  /**
   * The retry budget shared by retries and hedges: its settings, or a `RetryBudget` to share with
   * other clients (another client's `retryBudget`, or `new RetryBudget(clock)` from
   * `weft/policies`), on the same clock. Default 20% + 10/s over 10 s (Finagle).
   */
  budget?: RetryBudgetOptions | RetryBudget;
  /** First backoff bound, in ms; full jitter. Default 25 (Envoy). */
  backoffInitialMs?: number;
  /** Largest backoff bound, in ms. Default 250 (Envoy: 10 × base). */
  backoffMaxMs?: number;
  /** A Retry-After longer than this (ms) is not waited for: the failure is returned. Default 10 000. */
  retryAfterCapMs?: number;
  /** Bytes of a streamed request body kept for replay. Default: the protocol's (HTTP: 65 536, Linkerd's). */
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

/**
 * The options every client takes, for requests of type `Req` answered by `Res`. Exactly one of
 * `endpoints` and `resolver` is required.
 */
export interface ClientOptions<Req, Res> {
  /** Name of the destination, for errors and telemetry. Default: the authority, else the resolver's description. */
  name?: string;
  /** A static list: `'host:port'`, `'http://host:port'`, `{ host, port, weight }`. */
  endpoints?: readonly StaticTarget[];
  /** A resolver (e.g. `dnsResolver(...)`), instead of `endpoints`. The client closes it. */
  resolver?: Resolver;
  /** Balancing strategy. Default `p2cPeakEwma()`. */
  balancer?: BalancerStrategy;
  /** Total time for a call, in ms, until its response (HTTP: the headers); `Infinity` for none. Default 15 000. */
  timeoutMs?: number;
  /** Time for one attempt, in ms; `Infinity` for none. Default none. */
  attemptTimeoutMs?: number;
  /** Inherit the deadline of the incoming request being served. Default true. */
  inheritAmbientDeadline?: boolean;
  /** Send the remaining time with each attempt (HTTP: `weft-timeout-ms`). Default true. */
  propagateDeadline?: boolean;
  /** Retries of retryable failures, under a budget; on by default, `false` for none. */
  retry?: RetryOptions | boolean;
  /** Classify attempts; returning `undefined` defers to the default (docs/retries.md). */
  classifier?: Classifier<Req, Res>;
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
  stack?: (stack: Stack<Filter<Req, Res>>) => Stack<Filter<Req, Res>>;
  /** Edit the per-endpoint stack. */
  endpointStack?: (stack: Stack<EndpointLayer<Req, Res>>) => Stack<EndpointLayer<Req, Res>>;
  /** Clock for timers and timestamps (tests pass a VirtualClock). Default: the real clock. */
  clock?: Clock;
}

/** The keys of {@link ClientOptions}; a protocol's client accepts these and its own. */
export const CLIENT_OPTION_KEYS = optionKeys<ClientOptions<unknown, unknown>>({
  name: true,
  endpoints: true,
  resolver: true,
  balancer: true,
  timeoutMs: true,
  attemptTimeoutMs: true,
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
});

/** Per-call options, on top of the protocol's own request shape. */
export interface CallOptions<Req, Res> {
  /** Total time for this call, in ms (overrides the client's). */
  timeoutMs?: number;
  /** Time for one attempt, in ms (overrides the client's). */
  attemptTimeoutMs?: number;
  /**
   * Declare the request idempotent (safe to send twice) or not, whatever the protocol would say.
   * Default: the protocol's rule (HTTP: RFC 9110 idempotent methods, or any request with an
   * `Idempotency-Key` header).
   */
  idempotent?: boolean;
  /** Most attempts for this call, 1 (never retry) to 5 (`MAX_ATTEMPTS_LIMIT`). Default: the client's. */
  maxAttempts?: number;
  /** Classify this call's attempts; returning `undefined` defers to the client's. */
  classifier?: Classifier<Req, Res>;
}

/** The keys of {@link CallOptions}; a protocol's call shape accepts these and its own. */
export const CALL_OPTION_KEYS = optionKeys<CallOptions<unknown, unknown>>({
  timeoutMs: true,
  attemptTimeoutMs: true,
  idempotent: true,
  maxAttempts: true,
  classifier: true,
});

/** What a protocol decides about the shared options: the defaults that are its own. */
export interface ProtocolOptionDefaults {
  /** The client's name when the user gives none (HTTP: the authority), before the resolver's description. */
  readonly name?: string | undefined;
  /** Bytes of a streamed request body kept for replay, unless `retry.replayBufferBytes` says otherwise. */
  readonly replayBufferBytes: number;
}

/** Retry settings, validated, with every default filled in. */
export type ResolvedRetryOptions = Required<Omit<RetryOptions, 'budget'>> & {
  readonly budget: RetryBudgetOptions | RetryBudget | undefined;
};

/** The shared options, validated: everything a stack client is built from. */
export interface ResolvedClientOptions<Req, Res> {
  readonly name: string;
  readonly clock: Clock;
  readonly resolver: Resolver;
  readonly strategy: BalancerStrategy;
  readonly timeoutMs: number;
  readonly attemptTimeoutMs: number;
  readonly inheritAmbientDeadline: boolean;
  readonly propagateDeadline: boolean;
  /** The user's classifier (it may return `undefined` to defer to the protocol's), or none. */
  readonly classifier: Classifier<Req, Res> | undefined;
  /** Retry settings, or undefined when retries are off. */
  readonly retry: ResolvedRetryOptions | undefined;
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
  readonly editStack: NonNullable<ClientOptions<Req, Res>['stack']>;
  readonly editEndpointStack: NonNullable<ClientOptions<Req, Res>['endpointStack']>;
}

/**
 * Validate the shared options in `o` and fill in their defaults; throws ConfigError naming the
 * first bad option. `o` is an object whose keys the protocol has already checked: its own options
 * are left to it.
 */
export function resolveClientOptions<Req, Res>(
  o: Partial<ClientOptions<Req, Res>>,
  defaults: ProtocolOptionDefaults,
): ResolvedClientOptions<Req, Res> {
  const clock = clockOption('clock', o.clock);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length === 0)) {
    throw new ConfigError('name', o.name, 'expected a non-empty string');
  }
  const resolver = pickResolver(o);
  const strategy = o.balancer ?? p2cPeakEwma();
  if (typeof strategy?.createPicker !== 'function' || typeof strategy.createLoad !== 'function') {
    throw new ConfigError('balancer', strategy, 'expected a strategy such as p2cPeakEwma() or roundRobin()');
  }
  const d = CLIENT_DEFAULTS;
  return {
    name: o.name ?? defaults.name ?? resolver.description,
    clock,
    resolver,
    strategy,
    classifier:
      o.classifier === undefined
        ? undefined
        : functionOption<Classifier<Req, Res>>('classifier', o.classifier, o.classifier),
    retry:
      o.retry === false
        ? undefined
        : resolveRetry(o.retry === true ? undefined : o.retry, defaults.replayBufferBytes),
    hedge: optIn<HedgeOptions>('hedge', o.hedge, HEDGE_OPTION_KEYS),
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

/**
 * The per-call options among `options` (a request's options, a fetch init), validated; `undefined`
 * when there are none, so the common call takes the client's settings as they are. Unknown keys
 * are the protocol's to check, against its request shape and {@link CALL_OPTION_KEYS}.
 */
export function resolveCallOptions<Req, Res>(
  options: CallOptions<Req, Res>,
): CallOptions<Req, Res> | undefined {
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
        : functionOption<Classifier<Req, Res>>('classifier', classifier, classifier),
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

function resolveRetry(value: RetryOptions | undefined, replayBufferBytes: number): ResolvedRetryOptions {
  const r = objectOption<RetryOptions>('retry', value, RETRY_OPTION_KEYS);
  const d = CLIENT_DEFAULTS;
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
      r.budget === undefined || r.budget instanceof RetryBudget
        ? r.budget
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
    replayBufferBytes: integerAtLeast('retry.replayBufferBytes', r.replayBufferBytes, 0, replayBufferBytes),
  };
}

/** Attempts per call: an integer from 1 to {@link MAX_ATTEMPTS_LIMIT}, with the limit's reason. */
function maxAttemptsOption(option: string, value: unknown, fallback: number): number {
  return integerInRange(option, value, 1, MAX_ATTEMPTS_LIMIT, fallback, MAX_ATTEMPTS_REASON);
}

function identity<T>(value: T): T {
  return value;
}

/** The resolver the options name: the user's, or a static one over `endpoints`. */
function pickResolver(o: Pick<ClientOptions<unknown, unknown>, 'endpoints' | 'resolver'>): Resolver {
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
  const addresses = parseTargets(o.endpoints).map((e) => e.address);
  const label = addresses.length <= 2 ? addresses.join(',') : `${addresses[0]},+${addresses.length - 1}`;
  return staticResolver(o.endpoints, { description: `static(${label})` });
}
