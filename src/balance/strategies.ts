/**
 * The balancing strategies users choose from in code: a picker paired with a load metric (the two
 * axes are separate files so either can change alone). `p2cPeakEwma()` is the default; see
 * docs/load-balancing.md for every default and its source.
 */
import { ConfigError } from '../core/errors.js';
import {
  functionOption,
  integerAtLeast,
  numberInRange,
  objectOption,
  optionKeys,
  positiveNumber,
} from '../core/options.js';
import { LeastLoaded } from './least-loaded.js';
import { type LoadMetric, PendingRequests } from './load-metric.js';
import { DEFAULT_MAX_EFFORT, PowerOfTwoChoices } from './p2c.js';
import { DEFAULT_DECAY_MS, DEFAULT_RTT_MS, PeakEwma } from './peak-ewma.js';
import type { Picker, RandomSource } from './picker.js';
import { PROBATION_DEFAULTS, Probation, type ProbationOptions } from './probation.js';
import { RoundRobin } from './round-robin.js';

/** A balancing strategy: how to pick, and how to measure load. Create one per client. */
export interface BalancerStrategy {
  /** `p2c-peak-ewma`, `round-robin`, `least-loaded`, ... (shown in telemetry). */
  readonly name: string;
  /** A picker for one client. */
  createPicker(): Picker;
  /** The load metric of an endpoint first seen at `now`. */
  createLoad(now: number): LoadMetric;
}

/** Options of {@link p2cPeakEwma}. */
export interface P2cPeakEwmaOptions {
  /** τ of the EWMA decay, in ms. Default 10 000 (linkerd2-proxy). */
  decayMs?: number;
  /**
   * RTT estimate of a new endpoint until its first sample, in ms (shown, and the bar a failure must
   * pass to count as a sample; a new endpoint is costed by Finagle's rule: one request at a time).
   * Default 30 (linkerd2-proxy).
   */
  initialRttMs?: number;
  /** Pair draws before falling back to a scan when nodes are unhealthy. Default 5 (Finagle). */
  maxEffort?: number;
  /** Uniform random source in [0, 1), for deterministic tests. Default `Math.random`. */
  random?: RandomSource;
  /**
   * Keep endpoints much slower than the best aside and probe them (./probation.ts): settings, or
   * `false` to turn it off. Default on, with {@link PROBATION_DEFAULTS}.
   */
  probation?: ProbationOptions | boolean;
}

/** The keys of {@link P2cPeakEwmaOptions}; any other key throws a ConfigError. */
export const P2C_PEAK_EWMA_OPTION_KEYS = optionKeys<P2cPeakEwmaOptions>({
  decayMs: true,
  initialRttMs: true,
  maxEffort: true,
  random: true,
  probation: true,
});

/** The keys of {@link ProbationOptions}; any other key in `balancer.probation` throws a ConfigError. */
export const PROBATION_OPTION_KEYS = optionKeys<ProbationOptions>({
  ratio: true,
  minExtraMs: true,
  probeIntervalMs: true,
  minCallsPerProbe: true,
});

/** Probation's settings with their defaults, checked; undefined when it is off. */
function probationSettings(value: unknown): Required<ProbationOptions> | undefined {
  if (value === false) return undefined;
  if (value !== undefined && value !== true && (value === null || typeof value !== 'object')) {
    throw new ConfigError('balancer.probation', value, 'expected true, false or an object');
  }
  const o = objectOption<ProbationOptions>(
    'balancer.probation',
    value === true ? undefined : value,
    PROBATION_OPTION_KEYS,
  );
  return {
    ratio: numberInRange('balancer.probation.ratio', o.ratio, 1.1, 1_000, PROBATION_DEFAULTS.ratio),
    minExtraMs: positiveNumber('balancer.probation.minExtraMs', o.minExtraMs, PROBATION_DEFAULTS.minExtraMs),
    probeIntervalMs: positiveNumber(
      'balancer.probation.probeIntervalMs',
      o.probeIntervalMs,
      PROBATION_DEFAULTS.probeIntervalMs,
    ),
    minCallsPerProbe: integerAtLeast(
      'balancer.probation.minCallsPerProbe',
      o.minCallsPerProbe,
      1,
      PROBATION_DEFAULTS.minCallsPerProbe,
    ),
  };
}

/** Power of two choices over Peak EWMA cost: the default strategy. */
export function p2cPeakEwma(options?: P2cPeakEwmaOptions): BalancerStrategy {
  const o = objectOption<P2cPeakEwmaOptions>('balancer', options, P2C_PEAK_EWMA_OPTION_KEYS);
  const decayMs = positiveNumber('balancer.decayMs', o.decayMs, DEFAULT_DECAY_MS);
  const initialRttMs = positiveNumber('balancer.initialRttMs', o.initialRttMs, DEFAULT_RTT_MS);
  const maxEffort = integerAtLeast('balancer.maxEffort', o.maxEffort, 1, DEFAULT_MAX_EFFORT);
  const random = functionOption<RandomSource>('balancer.random', o.random, Math.random);
  const probation = probationSettings(o.probation);
  return {
    name: 'p2c-peak-ewma',
    createPicker: () =>
      new PowerOfTwoChoices(
        random,
        maxEffort,
        probation === undefined ? undefined : new Probation(probation),
      ),
    createLoad: (now) => new PeakEwma(now, decayMs, initialRttMs),
  };
}

/** Options of {@link p2cLeastLoaded}. */
export interface P2cLeastLoadedOptions {
  /** Pair draws before falling back to a scan when nodes are unhealthy. Default 5 (Finagle). */
  maxEffort?: number;
  /** Uniform random source in [0, 1), for deterministic tests. Default `Math.random`. */
  random?: RandomSource;
}

/** The keys of {@link P2cLeastLoadedOptions}; any other key throws a ConfigError. */
export const P2C_LEAST_LOADED_OPTION_KEYS = optionKeys<P2cLeastLoadedOptions>({
  maxEffort: true,
  random: true,
});

/** Power of two choices over pending requests (Finagle's `Balancers.p2c()`). */
export function p2cLeastLoaded(options?: P2cLeastLoadedOptions): BalancerStrategy {
  const o = objectOption<P2cLeastLoadedOptions>('balancer', options, P2C_LEAST_LOADED_OPTION_KEYS);
  const maxEffort = integerAtLeast('balancer.maxEffort', o.maxEffort, 1, DEFAULT_MAX_EFFORT);
  const random = functionOption<RandomSource>('balancer.random', o.random, Math.random);
  return {
    name: 'p2c-least-loaded',
    createPicker: () => new PowerOfTwoChoices(random, maxEffort),
    createLoad: () => new PendingRequests(),
  };
}

/** Full-scan least loaded by pending requests. */
export function leastLoaded(): BalancerStrategy {
  return {
    name: 'least-loaded',
    createPicker: () => new LeastLoaded(),
    createLoad: () => new PendingRequests(),
  };
}

/** Round robin (load-blind; the baseline). */
export function roundRobin(): BalancerStrategy {
  return {
    name: 'round-robin',
    createPicker: () => new RoundRobin(),
    createLoad: () => new PendingRequests(),
  };
}
