/**
 * A fixed concurrency limit: `limit` requests at once, whatever happens (Finagle's static
 * `concurrencyLimit`). For a server whose capacity is known, and for tests.
 */
import { ConfigError } from '../../core/errors.js';
import type { ConcurrencyLimit, LimitSample } from './limit.js';

class FixedLimit implements ConcurrencyLimit {
  readonly name = 'fixed';
  constructor(readonly limit: number) {}
  update(_sample: LimitSample): void {}
}

/** A limit of `limit` requests in flight, never changed. */
export function fixedLimit(limit: number): ConcurrencyLimit {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
    throw new ConfigError('limit', limit, 'expected an integer ≥ 1');
  }
  return new FixedLimit(limit);
}
