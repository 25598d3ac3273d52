/** The ConfigError a factory throws for bad options, for tests that check which option it names. */
import { expect } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';

/** Call `make`, expect a ConfigError naming `option`, and return it for further checks. */
export function expectConfigError(make: () => unknown, option: string): ConfigError {
  let error: unknown;
  try {
    make();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).option).toBe(option);
  return error as ConfigError;
}
