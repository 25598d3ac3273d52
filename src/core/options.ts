/**
 * Validation of options at construction time: every invalid option throws a {@link ConfigError}
 * that names the option and the bad value. Hot paths never re-validate.
 */
import { ConfigError } from './errors.js';

/** A number > 0, or `Infinity` when `allowInfinity`; `undefined` gives `fallback`. */
export function positiveNumber(
  option: string,
  value: unknown,
  fallback: number,
  allowInfinity = false,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    value <= 0 ||
    (!allowInfinity && !Number.isFinite(value))
  ) {
    throw new ConfigError(
      option,
      value,
      allowInfinity ? 'expected a number > 0 or Infinity' : 'expected a finite number > 0',
    );
  }
  return value;
}

/**
 * The upper end of a range whose lower end is `lower` (option `lowerOption`): a number > 0 that
 * defaults to the larger of `fallback` and `lower`, and may not be below `lower`.
 */
export function upperBound(
  option: string,
  value: unknown,
  fallback: number,
  lower: number,
  lowerOption: string,
): number {
  const upper = positiveNumber(option, value, Math.max(fallback, lower));
  if (upper < lower) throw new ConfigError(option, upper, `expected at least ${lowerOption} (${lower})`);
  return upper;
}

/** An integer >= `min`; `undefined` gives `fallback`. */
export function integerAtLeast(option: string, value: unknown, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigError(option, value, `expected an integer >= ${min}`);
  }
  return value;
}

/** A number in [min, max]; `undefined` gives `fallback`. */
export function numberInRange(
  option: string,
  value: unknown,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw new ConfigError(option, value, `expected a number from ${min} to ${max}`);
  }
  return value;
}

/** A boolean; `undefined` gives `fallback`. */
export function booleanOption(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(option, value, 'expected true or false');
  return value;
}

/** One of `choices`; `undefined` gives `fallback`. */
export function oneOf<T extends string>(
  option: string,
  value: unknown,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new ConfigError(option, value, `expected one of ${choices.map((c) => `"${c}"`).join(', ')}`);
  }
  return value as T;
}

/** A plain object (or `undefined`, which gives `{}`). */
export function objectOption<T extends object>(option: string, value: unknown): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(option, value, 'expected an object');
  }
  return value as Partial<T>;
}

/** A function; `undefined` gives `fallback`. */
export function functionOption<F extends Function>(option: string, value: unknown, fallback: F): F {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') throw new ConfigError(option, value, 'expected a function');
  return value as F;
}
