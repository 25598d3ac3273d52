/**
 * The options of weft's server half, shared by the Express middleware and the Fastify plugin, and
 * their one check: every bad value throws a ConfigError naming the option, an unknown key throws
 * naming the option it most resembles. Defaults: the concurrency limit of
 * {@link defaultConcurrencyLimit}, no excluded routes, a peer's deadline clamped to 5 min
 * (`MAX_INCOMING_TIMEOUT_MS`, as `runWithIncomingDeadline`), the real clock, no telemetry.
 */
import type { Clock } from '../core/clock.js';
import { MAX_INCOMING_TIMEOUT_MS } from '../core/deadline-header.js';
import { ConfigError } from '../core/errors.js';
import { clockOption, objectOption, optionKeys, positiveNumber, rejectUnknownKeys } from '../core/options.js';
import { gradient2 } from '../policies/concurrency-limit/gradient2.js';
import type { ConcurrencyLimit } from '../policies/concurrency-limit/limit.js';
import { type ServerTelemetryPlugin, telemetryPlugins } from './telemetry.js';

/** How a server admits requests: its limit, the routes left alone, the deadline's clamp. */
export interface WeftServerOptions {
  /** The server's name in metrics and on the admin page. Default: `'express'` or `'fastify'`. */
  name?: string;
  /**
   * How many requests the server runs at once; over it, a request is nacked before its handler
   * runs. A `ConcurrencyLimit` (`fixedLimit(n)` and the adaptive ones of `weft/policies`), or
   * `false` for no limit. Default: see docs/server.md, "Adaptive concurrency".
   */
  limit?: ConcurrencyLimit | false;
  /**
   * Requests left alone (no deadline, no limit, never nacked, not counted): health checks,
   * metrics. A string is an exact path (`/healthz`, without the query) or, in Fastify, a route's
   * template (`/users/:id`); a RegExp is tested on the path.
   */
  exclude?: ReadonlyArray<string | RegExp>;
  /** Clamp on a caller's `weft-timeout-ms`, in ms. Default 300 000 (5 min). */
  maxIncomingTimeoutMs?: number;
  /** The clock deadlines and durations are measured on. Default: the real clock. */
  clock?: Clock;
  /** Telemetry attached to this server: `prometheusServerMetrics(...)` of `weft/prometheus`, or several. */
  telemetry?: ServerTelemetryPlugin | readonly ServerTelemetryPlugin[];
}

/** The keys of {@link WeftServerOptions}; any other key throws a ConfigError. */
export const SERVER_OPTION_KEYS = optionKeys<WeftServerOptions>({
  name: true,
  limit: true,
  exclude: true,
  maxIncomingTimeoutMs: true,
  clock: true,
  telemetry: true,
});

/**
 * The limit a server gets without a `limit` option, made fresh for each server (an adaptive
 * limit keeps state).
 */
export function defaultConcurrencyLimit(): ConcurrencyLimit {
  // Netflix's recommended server setup: a windowed Gradient2 (docs/server.md, Adaptive concurrency).
  return gradient2();
}

/** The options after their check. */
export interface ServerConfig {
  readonly name: string;
  readonly limit: ConcurrencyLimit | undefined;
  readonly exclude: ReadonlyArray<string | RegExp>;
  readonly maxIncomingTimeoutMs: number;
  readonly clock: Clock;
  readonly telemetry: readonly ServerTelemetryPlugin[];
}

/**
 * Check `options` (with `known` as the accepted keys, when an adapter accepts more) and fill in
 * the defaults; `defaultName` names the server when `name` is absent.
 */
export function checkServerOptions(
  options: unknown,
  defaultName: string,
  known: ReadonlySet<string> = SERVER_OPTION_KEYS,
): ServerConfig {
  const o = objectOption<WeftServerOptions>('options', options);
  rejectUnknownKeys('', o, known);
  return {
    name: nameOption(o.name, defaultName),
    limit: limitOption(o.limit),
    exclude: excludeOption(o.exclude),
    maxIncomingTimeoutMs: positiveNumber(
      'maxIncomingTimeoutMs',
      o.maxIncomingTimeoutMs,
      MAX_INCOMING_TIMEOUT_MS,
    ),
    clock: clockOption('clock', o.clock),
    telemetry: telemetryPlugins(o.telemetry),
  };
}

function nameOption(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError('name', value, 'expected a non-empty string');
  }
  return value;
}

function limitOption(value: unknown): ConcurrencyLimit | undefined {
  if (value === false) return undefined;
  if (value === undefined) return defaultConcurrencyLimit();
  const limit = value as Partial<ConcurrencyLimit> | null;
  if (
    limit === null ||
    typeof limit !== 'object' ||
    typeof limit.name !== 'string' ||
    typeof limit.update !== 'function' ||
    typeof limit.limit !== 'number' ||
    !Number.isInteger(limit.limit) ||
    limit.limit < 1
  ) {
    throw new ConfigError(
      'limit',
      value,
      'expected a ConcurrencyLimit (fixedLimit(n), gradient2(), ...: name, limit ≥ 1, update) or false',
    );
  }
  return limit as ConcurrencyLimit;
}

function excludeOption(value: unknown): ReadonlyArray<string | RegExp> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new ConfigError('exclude', value, 'expected an array of paths (strings) and RegExps');
  }
  value.forEach((entry: unknown, i) => {
    if (entry instanceof RegExp) return;
    if (typeof entry !== 'string' || !entry.startsWith('/')) {
      throw new ConfigError(`exclude[${i}]`, entry, 'expected a path starting with / or a RegExp');
    }
  });
  return [...(value as Array<string | RegExp>)];
}
