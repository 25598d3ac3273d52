/**
 * Validation of options at construction time: every invalid option throws a {@link ConfigError}
 * that names the option and the bad value. Hot paths never re-validate. An unknown key is an
 * error too (a typo such as `timeoutMS` must not be silently ignored): each options type declares
 * its keys once, with {@link optionKeys}, and {@link rejectUnknownKeys} checks an object against
 * them, naming the known option the unknown one most resembles.
 */
import { type Clock, realClock } from './clock.js';
import { ConfigError } from './errors.js';

/** Every key of `T`, including the keys of each member when `T` is a union. */
type KeysOfUnion<T> = T extends unknown ? keyof T : never;

/**
 * One entry, `true`, per option of `T`. Declared as an object literal, the compiler rejects both a
 * missing option and one that `T` does not have, so a list of known keys cannot drift from its type.
 */
export type OptionKeyRecord<T> = { readonly [K in KeysOfUnion<T> & string]-?: true };

/**
 * The keys of an options type, declared once beside it:
 * `export const RETRY_OPTION_KEYS = optionKeys<RetryOptions>({ maxAttempts: true, ... })`.
 */
export function optionKeys<T>(record: OptionKeyRecord<T>): ReadonlySet<string> {
  return new Set(Object.keys(record));
}

/**
 * Throw a {@link ConfigError} for the first key of `value` that is not in `known`, naming it with
 * `prefix` (`retry` gives `retry.maxAttempt`; `''` gives the bare key) and the known option it
 * most resembles. Cheap enough for every call: no allocation unless a key is unknown.
 */
export function rejectUnknownKeys(prefix: string, value: object, known: ReadonlySet<string>): void {
  for (const key in value) {
    if (!known.has(key)) throw unknownOption(prefix, key, known);
  }
}

/** The ConfigError for an unknown key; its value is not kept (a misspelled `token` is still a secret). */
export function unknownOption(prefix: string, key: string, known: ReadonlySet<string>): ConfigError {
  const path = (name: string) => (prefix === '' ? name : `${prefix}.${name}`);
  const suggestion = closestKey(key, known);
  const hint =
    suggestion === undefined
      ? `the options are: ${[...known].map((k) => `\`${k}\``).join(', ')}`
      : `did you mean \`${path(suggestion)}\`?`;
  return new ConfigError(path(key), undefined, 'a known option', `unknown option \`${path(key)}\`; ${hint}`);
}

/**
 * The key of `known` closest to `key`, or undefined when none is close enough to be a likely typo.
 * Keys are compared without case, `_` or `-` (`timeoutMS`, `timeout_ms` → `timeoutMs`); after that,
 * by optimal string alignment distance (Levenshtein plus the swap of two neighbours), accepted up to
 * a third of the key's length (`retries` → `retry`, 3 edits). A key that starts with a known one of
 * 3 characters or more, or is the start of one, counts as 1 edit away (`hostname` → `host`,
 * `ttl` → `ttlMs`). Ties go to the key declared first.
 */
export function closestKey(key: string, known: Iterable<string>): string | undefined {
  const wanted = normalizeKey(key);
  const limit = Math.min(Math.ceil(wanted.length / 3), wanted.length - 1);
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const other = normalizeKey(candidate);
    let distance = editDistance(wanted, other);
    if (distance > 1 && Math.min(wanted.length, other.length) >= 3) {
      if (wanted.startsWith(other) || other.startsWith(wanted)) distance = 1;
    }
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  // Three rows of the dynamic-programming table: two back (for swaps), one back, and this one.
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, before[j - 2]! + 1);
      current[j] = d;
    }
    [before, previous, current] = [previous, current, before];
  }
  return previous[b.length]!;
}

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

/** An integer in [min, max]; `undefined` gives `fallback`. `why` explains the bounds, if given. */
export function integerInRange(
  option: string,
  value: unknown,
  min: number,
  max: number,
  fallback: number,
  why?: string,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(option, value, `expected an integer from ${min} to ${max}${why ? `: ${why}` : ''}`);
  }
  return value;
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

/**
 * A plain object (or `undefined`, which gives `{}`). With `known`, every key must be one of them
 * (see {@link rejectUnknownKeys}); `option` is then the prefix of the keys' paths.
 */
export function objectOption<T extends object>(
  option: string,
  value: unknown,
  known?: ReadonlySet<string>,
): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(option, value, 'expected an object');
  }
  if (known !== undefined) rejectUnknownKeys(option, value, known);
  return value as Partial<T>;
}

/** A function; `undefined` gives `fallback` (which may be `undefined`, for an optional hook). */
export function functionOption<F extends Function>(option: string, value: unknown, fallback: F): F;
export function functionOption<F extends Function>(
  option: string,
  value: unknown,
  fallback: undefined,
): F | undefined;
export function functionOption<F extends Function>(
  option: string,
  value: unknown,
  fallback: F | undefined,
): F | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') throw new ConfigError(option, value, 'expected a function');
  return value as F;
}

/**
 * A {@link Clock}: an object with `now`, `setTimeout` and `clearTimeout` functions; `undefined`
 * gives `fallback`, the real clock unless said otherwise. The one check of a Clock option.
 */
export function clockOption(option: string, value: unknown, fallback: Clock = realClock): Clock {
  if (value === undefined) return fallback;
  const clock = value as Partial<Clock> | null;
  if (
    clock === null ||
    typeof clock !== 'object' ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    throw new ConfigError(option, value, 'expected a Clock (now, setTimeout and clearTimeout)');
  }
  return value as Clock;
}
