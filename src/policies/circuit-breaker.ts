/**
 * Circuit breaker over a whole client: while the destination keeps failing, calls fail fast with
 * CircuitOpenError and nothing is sent, until a probe shows it has recovered. It sits above retry
 * (it judges logical calls, and a call it rejects must not be retried) and below deadline. A
 * cockatiel breaker decides when to open; weft's state machine runs on weft's Clock. Defaults: 5
 * consecutive failures (Finagle), or over 50% of >= 20 calls in 10 s (Hystrix); half-open after
 * 5 s (Hystrix, Polly), doubling to 30 s (cockatiel's backoff cap); 1 probe. docs/circuit-breaker.md
 *
 *              the cockatiel breaker says open          halfOpenAfterMs, doubling to the cap
 *   closed ───────────────────────────────► open ───────────────────────────────────► half-open
 *   ▲   fail fast: CircuitOpenError          ▲                                            │
 *   │                                        └────────────── a probe fails ───────────────┤
 *   └───────────────────────── all halfOpenProbes probes succeed ─────────────────────────┘
 */

import {
  CircuitState as CockatielState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  type IBackoff,
  type IBreaker,
  noJitterGenerator,
  SamplingBreaker,
} from 'cockatiel';
import type { CallInfo } from '../core/call-info.js';
import { type CallOutcomeRecorder, recordingCallOutcome } from '../core/call-outcome.js';
import { isFailure, type ResponseClass } from '../core/classification.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { CircuitOpenError, ConfigError } from '../core/errors.js';
import { type Event, ListenerSet } from '../core/events.js';
import {
  clockOption,
  integerAtLeast,
  objectOption,
  oneOf,
  optionKeys,
  positiveNumber,
  upperBound,
} from '../core/options.js';
import type { Filter } from '../core/service.js';

/** Defaults of {@link circuitBreaker}; docs/circuit-breaker.md gives the source of each. */
export const CIRCUIT_BREAKER_DEFAULTS = {
  breaker: 'consecutive',
  /** Consecutive failed calls that open the circuit (Finagle FailureAccrual, linkerd 1). */
  consecutiveThreshold: 5,
  /** Failure rate that opens it in sampling mode (Hystrix errorThresholdPercentage, resilience4j). */
  samplingThreshold: 0.5,
  /** Sampling window (Hystrix metrics.rollingStats.timeInMilliseconds). */
  samplingDurationMs: 10_000,
  /** Calls per second needed before the rate counts: 20 per 10 s (Hystrix requestVolumeThreshold). */
  minimumRps: 2,
  /** First open period (Hystrix sleepWindowInMilliseconds, Polly BreakDuration). */
  halfOpenAfterMs: 5_000,
  /** Cap of the doubling open period (cockatiel ExponentialBackoff maxDelay). */
  maxHalfOpenAfterMs: 30_000,
  /** Probes admitted while half-open (Hystrix, Polly, cockatiel halfOpenSampling). */
  halfOpenProbes: 1,
} as const;

/** The breaker's state: `closed` lets calls through, `open` fails them fast, `half-open` probes. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** A state transition, as given to {@link CircuitBreakerHandle.onStateChange} listeners. */
export interface CircuitStateChange {
  readonly from: CircuitState;
  readonly to: CircuitState;
  /** When, on the breaker's clock (ms). */
  readonly at: number;
  /** Why: the failure that opened it (`status 503`, `ECONNREFUSED`), `probe failed: ...`, ... */
  readonly reason: string;
  /** When `to` is `open`: how long until the next probe, in ms; otherwise 0. */
  readonly retryAfterMs: number;
}

interface CommonBreakerOptions {
  /** Clock for the open period (tests pass a VirtualClock). Default: the real clock. */
  clock?: Clock;
  /** How long the circuit stays open the first time, in ms. Default 5 000. */
  halfOpenAfterMs?: number;
  /**
   * The open period doubles each time a probe fails, up to this, in ms. Default 30 000 (or
   * `halfOpenAfterMs` when that is longer). Set it to `halfOpenAfterMs` for a constant period.
   */
  maxHalfOpenAfterMs?: number;
  /** Probe calls admitted while half-open; all must succeed to close. Default 1. */
  halfOpenProbes?: number;
}

/** Open after `threshold` consecutive failed calls (cockatiel `ConsecutiveBreaker`). */
export interface ConsecutiveCircuitBreakerOptions extends CommonBreakerOptions {
  breaker?: 'consecutive';
  /** Consecutive failed calls that open the circuit, an integer >= 1. Default 5. */
  threshold?: number;
}

/**
 * Open when more than `threshold` of the calls in the last `samplingDurationMs` failed, once there
 * are at least `minimumRps` calls per second (cockatiel `SamplingBreaker`).
 */
export interface SamplingCircuitBreakerOptions extends CommonBreakerOptions {
  breaker: 'sampling';
  /** Failure rate that opens the circuit, between 0 and 1 exclusive. Default 0.5. */
  threshold?: number;
  /** Length of the sampling window, in ms (>= 1 000). Default 10 000. */
  samplingDurationMs?: number;
  /** Minimum throughput before the rate can open the circuit, in calls/s. Default 2. */
  minimumRps?: number;
}

/** Options of {@link circuitBreaker}. */
export type CircuitBreakerOptions = ConsecutiveCircuitBreakerOptions | SamplingCircuitBreakerOptions;

/** The keys of {@link CircuitBreakerOptions}, both modes; any other key throws a ConfigError. */
export const CIRCUIT_BREAKER_OPTION_KEYS = optionKeys<CircuitBreakerOptions>({
  breaker: true,
  clock: true,
  halfOpenAfterMs: true,
  maxHalfOpenAfterMs: true,
  halfOpenProbes: true,
  threshold: true,
  samplingDurationMs: true,
  minimumRps: true,
});

/** What a circuit breaker shows to metrics and admin pages. */
export interface CircuitBreakerHandle {
  /** The current state. */
  state(): CircuitState;
  /**
   * Every transition: call it with a listener, which then runs synchronously on each change (see
   * src/core/events.ts). A listener that throws is reported as a process warning and never
   * affects calls. Returns a function that removes the listener.
   */
  readonly onStateChange: Event<CircuitStateChange>;
}

/** The breaker's filter, with its {@link CircuitBreakerHandle} attached. */
export type CircuitBreakerFilter<Req, Res> = Filter<Req, Res> & CircuitBreakerHandle;

/**
 * A circuit breaker for one client (one destination): a filter to place above retry, below
 * deadline, that is also its own handle for state and transitions.
 *
 * Outcomes are whole calls (`resolvedCallClass`, `rejectedCallClass`): `failure` and `retryable`
 * count as failures, `success` as a success, `ignorable` (the caller cancelled, the client was
 * closed, a local rejection) not at all. Calls admitted before the last transition say nothing
 * about the current state, and are not counted either.
 *
 * Sampling mode: cockatiel's `SamplingBreaker` reads `Date.now()` for its windows, not weft's
 * Clock. The open period and the probes do follow the Clock, but tests of sampling mode must move
 * `Date` in step with their VirtualClock (vitest: `vi.useFakeTimers({ toFake: ['Date'] })` and
 * `vi.setSystemTime`). Its windows also rotate only when a call is recorded, one window per call;
 * weft starts it afresh after a quiet spell of a whole sampling window, so that old failures are
 * forgotten, but after a shorter lull a few may count until calls fill the window again.
 */
export function circuitBreaker<Req, Res>(options?: CircuitBreakerOptions): CircuitBreakerFilter<Req, Res> {
  const breaker = new Breaker(resolveOptions(options));
  const filter: Filter<Req, Res> = (req, ctx, next) => {
    const epoch = breaker.admit();
    if (epoch < 0) return Promise.reject(breaker.openError(ctx));
    return recordingCallOutcome(req, ctx, next, breaker, epoch);
  };
  return Object.assign(filter, {
    state: () => breaker.state,
    onStateChange: breaker.transitions.event,
  });
}

interface BreakerSettings {
  readonly clock: Clock;
  /** A fresh cockatiel breaker. */
  readonly createDecider: () => IBreaker;
  /** Forget the decider's history after this much silence (sampling mode), in ms. */
  readonly forgetAfterMs: number;
  readonly halfOpenAfterMs: number;
  readonly maxHalfOpenAfterMs: number;
  readonly halfOpenProbes: number;
}

/** The state machine. Every transition bumps `epoch`; a call's outcome counts only in its own epoch. */
class Breaker implements CallOutcomeRecorder {
  state: CircuitState = 'closed';
  readonly transitions = new ListenerSet<CircuitStateChange>('circuitBreaker.onStateChange');
  readonly #settings: BreakerSettings;
  readonly #openPeriods: ExponentialBackoff<unknown>;
  #decider: IBreaker;
  #epoch = 0;
  /** Current open period; grows while probes fail, reset when the circuit closes. */
  #openPeriod: IBackoff<unknown> | undefined;
  #openUntil = 0;
  #timer: TimerHandle | undefined;
  #probesInFlight = 0;
  #probesSucceeded = 0;
  #lastRecordedAt: number;

  constructor(settings: BreakerSettings) {
    this.#settings = settings;
    this.#lastRecordedAt = settings.clock.now();
    this.#decider = settings.createDecider();
    this.#openPeriods = new ExponentialBackoff({
      generator: noJitterGenerator,
      initialDelay: settings.halfOpenAfterMs,
      maxDelay: settings.maxHalfOpenAfterMs,
    });
  }

  /** Let a call through (returns its epoch) or refuse it (returns -1). */
  admit(): number {
    if (this.state === 'open') {
      if (this.#settings.clock.now() < this.#openUntil) return -1;
      // The timer is late (or the clock jumped): probe now rather than wait for it.
      this.#halfOpen();
    }
    if (this.state === 'half-open') {
      if (this.#probesInFlight + this.#probesSucceeded >= this.#settings.halfOpenProbes) return -1;
      this.#probesInFlight++;
    }
    return this.#epoch;
  }

  /** The error for a refused call: how long until the next probe (0 while probes are running). */
  openError(ctx: CallInfo): CircuitOpenError {
    const now = this.#settings.clock.now();
    const retryAfterMs = this.state === 'open' ? Math.max(0, this.#openUntil - now) : 0;
    return new CircuitOpenError(retryAfterMs, {
      destination: ctx.destination,
      timeLeftMs: ctx.timeLeft(now),
    });
  }

  /** Count the outcome of a call admitted in `epoch`. */
  recordCallOutcome(outcome: ResponseClass, epoch: number): void {
    if (epoch !== this.#epoch) return;
    if (this.state === 'half-open') {
      this.#probesInFlight--;
      if (outcome.kind === 'ignorable') return; // the slot goes to the next call
      if (isFailure(outcome)) {
        this.#decider.failure(CockatielState.HalfOpen);
        this.#open(`probe failed: ${outcome.reason}`);
      } else if (++this.#probesSucceeded >= this.#settings.halfOpenProbes) {
        this.#decider.success(CockatielState.HalfOpen); // cockatiel resets its history here
        this.#transition('closed', 'probe succeeded', 0);
      }
      return;
    }
    if (outcome.kind === 'ignorable') return;
    const now = this.#settings.clock.now();
    if (now - this.#lastRecordedAt >= this.#settings.forgetAfterMs) {
      this.#decider = this.#settings.createDecider();
    }
    this.#lastRecordedAt = now;
    if (!isFailure(outcome)) this.#decider.success(CockatielState.Closed);
    else if (this.#decider.failure(CockatielState.Closed)) this.#open(outcome.reason);
  }

  #open(reason: string): void {
    this.#openPeriod =
      this.#openPeriod === undefined ? this.#openPeriods.next() : this.#openPeriod.next(undefined);
    const clock = this.#settings.clock;
    const period = this.#openPeriod.duration;
    this.#openUntil = clock.now() + period;
    this.#transition('open', reason, period);
    const epoch = this.#epoch;
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#epoch === epoch) this.#halfOpen();
    }, period);
  }

  #halfOpen(): void {
    if (this.#timer !== undefined) {
      this.#settings.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#transition('half-open', `open for ${Math.round(this.#openPeriod?.duration ?? 0)}ms`, 0);
  }

  #transition(to: CircuitState, reason: string, retryAfterMs: number): void {
    const from = this.state;
    this.state = to;
    this.#epoch++;
    this.#probesInFlight = 0;
    this.#probesSucceeded = 0;
    if (to === 'closed') {
      this.#openPeriod = undefined;
      this.#lastRecordedAt = this.#settings.clock.now();
    }
    this.transitions.emit({ from, to, at: this.#settings.clock.now(), reason, retryAfterMs });
  }
}

function resolveOptions(options: CircuitBreakerOptions | undefined): BreakerSettings {
  const o = objectOption<SamplingCircuitBreakerOptions>(
    'circuitBreaker',
    options,
    CIRCUIT_BREAKER_OPTION_KEYS,
  );
  const d = CIRCUIT_BREAKER_DEFAULTS;
  const mode = oneOf('circuitBreaker.breaker', o.breaker, ['consecutive', 'sampling'], d.breaker);
  const clock = clockOption('circuitBreaker.clock', o.clock);
  const halfOpenAfterMs = positiveNumber(
    'circuitBreaker.halfOpenAfterMs',
    o.halfOpenAfterMs,
    d.halfOpenAfterMs,
  );
  const maxHalfOpenAfterMs = upperBound(
    'circuitBreaker.maxHalfOpenAfterMs',
    o.maxHalfOpenAfterMs,
    d.maxHalfOpenAfterMs,
    halfOpenAfterMs,
    'circuitBreaker.halfOpenAfterMs',
  );
  const halfOpenProbes = integerAtLeast(
    'circuitBreaker.halfOpenProbes',
    o.halfOpenProbes,
    1,
    d.halfOpenProbes,
  );
  const common = { clock, halfOpenAfterMs, maxHalfOpenAfterMs, halfOpenProbes };

  if (mode === 'consecutive') {
    for (const option of ['samplingDurationMs', 'minimumRps'] as const) {
      if (o[option] !== undefined) {
        throw new ConfigError(`circuitBreaker.${option}`, o[option], "applies only with breaker: 'sampling'");
      }
    }
    const threshold = o.threshold ?? d.consecutiveThreshold;
    if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 1) {
      throw new ConfigError(
        'circuitBreaker.threshold',
        threshold,
        "expected an integer >= 1, consecutive failures (use breaker: 'sampling' for a failure rate)",
      );
    }
    return {
      ...common,
      createDecider: () => new ConsecutiveBreaker(threshold),
      forgetAfterMs: Number.POSITIVE_INFINITY,
    };
  }

  const threshold = o.threshold ?? d.samplingThreshold;
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold < 1)) {
    throw new ConfigError(
      'circuitBreaker.threshold',
      threshold,
      'expected a failure rate between 0 and 1, exclusive',
    );
  }
  const duration = positiveNumber(
    'circuitBreaker.samplingDurationMs',
    o.samplingDurationMs,
    d.samplingDurationMs,
  );
  if (duration < 1_000) {
    throw new ConfigError('circuitBreaker.samplingDurationMs', duration, 'expected a finite number >= 1000');
  }
  const minimumRps = positiveNumber('circuitBreaker.minimumRps', o.minimumRps, d.minimumRps);
  return {
    ...common,
    createDecider: () => new SamplingBreaker({ threshold, duration, minimumRps }),
    forgetAfterMs: duration,
  };
}
