/**
 * The range an adaptive concurrency limit moves in: `initialLimit` within `[minLimit, maxLimit]`,
 * all integers ≥ 1, checked once when the algorithm is built. Netflix concurrency-limits only logs
 * a warning when the initial limit is outside the range; weft refuses it with a ConfigError, since
 * the first update would jump to the bound anyway and the option was surely meant otherwise.
 */
import { ConfigError } from '../../core/errors.js';
import { integerAtLeast } from '../../core/options.js';

/** An algorithm's starting limit and the range its limit stays in. */
export interface LimitBounds {
  readonly initialLimit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
}

/**
 * Check `initialLimit`, `minLimit` and `maxLimit` (each may be undefined: its default), named
 * `<prefix>.initialLimit`, ... in errors.
 */
export function limitBounds(
  prefix: string,
  given: { initialLimit?: unknown; minLimit?: unknown; maxLimit?: unknown },
  defaults: LimitBounds,
): LimitBounds {
  const minLimit = integerAtLeast(`${prefix}.minLimit`, given.minLimit, 1, defaults.minLimit);
  const maxLimit = integerAtLeast(`${prefix}.maxLimit`, given.maxLimit, 1, defaults.maxLimit);
  if (maxLimit < minLimit) {
    throw new ConfigError(
      `${prefix}.maxLimit`,
      maxLimit,
      `expected at least ${prefix}.minLimit (${minLimit})`,
    );
  }
  const initialLimit = integerAtLeast(`${prefix}.initialLimit`, given.initialLimit, 1, defaults.initialLimit);
  if (initialLimit < minLimit || initialLimit > maxLimit) {
    throw new ConfigError(
      `${prefix}.initialLimit`,
      initialLimit,
      `expected an integer from ${prefix}.minLimit (${minLimit}) to ${prefix}.maxLimit (${maxLimit})`,
    );
  }
  return { initialLimit, minLimit, maxLimit };
}
