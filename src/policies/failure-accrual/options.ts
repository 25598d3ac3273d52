/**
 * Failure accrual's options: the defaults with their sources, the options type, its keys, and the
 * validation that turns them into the settings the policy and the state machine read. Every bad
 * option throws a ConfigError naming it (`failureAccrual.windowMs`, ...), once, at construction.
 */
import type { Clock } from '../../core/clock.js';
import {
  clockOption,
  functionOption,
  integerAtLeast,
  numberInRange,
  objectOption,
  optionKeys,
  positiveNumber,
  upperBound,
} from '../../core/options.js';

/** Defaults of `failureAccrual`; docs/failure-accrual.md gives the source of each. */
export const FAILURE_ACCRUAL_DEFAULTS = {
  /** Consecutive failures that eject (Finagle DefaultConsecutiveFailures, Envoy consecutive_5xx). */
  consecutiveFailures: 5,
  /** Success rate under which the endpoint is ejected (Finagle DefaultSuccessRateThreshold). */
  minSuccessRate: 0.8,
  /** The success-rate window (Finagle DefaultSuccessRateWindow). */
  windowMs: 30_000,
  /** Requests the window must hold before the rate counts (Finagle DefaultMinimumRequestThreshold). */
  minRequests: 5,
  /** First ejection: 5 s, jittered up to 10 s (Finagle's `Backoff.equalJittered(5.seconds, ...)`). */
  minEjectionMs: 5_000,
  /** Cap of the growing ejection time (Finagle's equalJittered maximum, Envoy max_ejection_time). */
  maxEjectionMs: 300_000,
  /** Share of a client's endpoints that may be ejected at once, at least one (Envoy: 10%). */
  maxEjectionPercent: 50,
} as const;

/** Options of `failureAccrual`. Every field is optional; see {@link FAILURE_ACCRUAL_DEFAULTS}. */
export interface FailureAccrualOptions {
  /** Eject after this many failures in a row: an integer >= 1, or `Infinity` (trigger off). Default 5. */
  readonly consecutiveFailures?: number;
  /** Eject when the window's success rate falls below this, in [0, 1] (0: trigger off). Default 0.8. */
  readonly minSuccessRate?: number;
  /** Length of the success-rate window, in ms (30 buckets). Default 30 000. */
  readonly windowMs?: number;
  /** Requests the window must hold before its success rate can eject. Default 5. */
  readonly minRequests?: number;
  /** First ejection time before jitter, in ms; it doubles per ejection in a row. Default 5 000. */
  readonly minEjectionMs?: number;
  /** Cap of the ejection time, in ms (>= `minEjectionMs`). Default 300 000. */
  readonly maxEjectionMs?: number;
  /** Share of the client's endpoints ejected at once at most, in [0, 100]; one always may be. Default 50. */
  readonly maxEjectionPercent?: number;
  /** Uniform random numbers in [0, 1) for the jitter (tests inject their own). Default `Math.random`. */
  readonly random?: () => number;
  /** The clock ejection times are measured on. Default: the real clock. */
  readonly clock?: Clock;
  /**
   * An endpoint was ejected (or ejected again after a failed probe) until `untilMs` on the clock.
   * The first listener of the layer's `onEject` event.
   */
  readonly onEject?: (address: string, untilMs: number) => void;
  /** An ejected endpoint's time was up and a request went to it as the probe (`onProbe` event). */
  readonly onProbe?: (address: string) => void;
  /**
   * An ejected endpoint returned to service: a probe, or a request sent after its ejection,
   * succeeded (`onReturn` event).
   */
  readonly onReturn?: (address: string) => void;
}

/** The keys of {@link FailureAccrualOptions}; any other key throws a ConfigError. */
export const FAILURE_ACCRUAL_OPTION_KEYS = optionKeys<FailureAccrualOptions>({
  consecutiveFailures: true,
  minSuccessRate: true,
  windowMs: true,
  minRequests: true,
  minEjectionMs: true,
  maxEjectionMs: true,
  maxEjectionPercent: true,
  random: true,
  clock: true,
  onEject: true,
  onProbe: true,
  onReturn: true,
});

/** {@link FailureAccrualOptions}, validated, with every default filled in. */
export interface AccrualConfig {
  readonly consecutiveFailures: number;
  readonly minSuccessRate: number;
  readonly windowMs: number;
  readonly minRequests: number;
  readonly minEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
  readonly random: () => number;
  readonly clock: Clock;
  readonly onEject: ((address: string, untilMs: number) => void) | undefined;
  readonly onProbe: ((address: string) => void) | undefined;
  readonly onReturn: ((address: string) => void) | undefined;
}

/** Validate `options` and fill in the defaults. @throws ConfigError naming the first bad option. */
export function resolveAccrualOptions(options: FailureAccrualOptions | undefined): AccrualConfig {
  const o = objectOption<FailureAccrualOptions>('failureAccrual', options, FAILURE_ACCRUAL_OPTION_KEYS);
  const d = FAILURE_ACCRUAL_DEFAULTS;
  const consecutiveFailures =
    o.consecutiveFailures === Number.POSITIVE_INFINITY
      ? Number.POSITIVE_INFINITY
      : integerAtLeast('failureAccrual.consecutiveFailures', o.consecutiveFailures, 1, d.consecutiveFailures);
  const minEjectionMs = positiveNumber('failureAccrual.minEjectionMs', o.minEjectionMs, d.minEjectionMs);
  const maxEjectionMs = upperBound(
    'failureAccrual.maxEjectionMs',
    o.maxEjectionMs,
    d.maxEjectionMs,
    minEjectionMs,
    'failureAccrual.minEjectionMs',
  );
  const clock = clockOption('failureAccrual.clock', o.clock);
  return {
    consecutiveFailures,
    minSuccessRate: numberInRange('failureAccrual.minSuccessRate', o.minSuccessRate, 0, 1, d.minSuccessRate),
    windowMs: positiveNumber('failureAccrual.windowMs', o.windowMs, d.windowMs),
    minRequests: integerAtLeast('failureAccrual.minRequests', o.minRequests, 1, d.minRequests),
    minEjectionMs,
    maxEjectionMs,
    maxEjectionPercent: numberInRange(
      'failureAccrual.maxEjectionPercent',
      o.maxEjectionPercent,
      0,
      100,
      d.maxEjectionPercent,
    ),
    random: functionOption('failureAccrual.random', o.random, Math.random),
    clock,
    onEject: functionOption('failureAccrual.onEject', o.onEject, undefined),
    onProbe: functionOption('failureAccrual.onProbe', o.onProbe, undefined),
    onReturn: functionOption('failureAccrual.onReturn', o.onReturn, undefined),
  };
}
