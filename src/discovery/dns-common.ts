/**
 * What the DNS resolvers (./dns.ts for A/AAAA, ./dns-srv.ts for SRV) share: the query and
 * refresh defaults, the lookup error, which node:dns codes mean "absent", the validation of the
 * name-server list and of the refresh bounds, the TTL clamp and the node:dns Resolver they query
 * with. Defaults: refresh clamp(TTL, 1 s, 30 s) and queries of 2 s × 2 tries; dns.ts's header says
 * where each comes from.
 */
import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';
import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { clockOption, integerAtLeast, positiveNumber } from '../core/options.js';

/** Shortest refresh interval, and the first retry delay after a failure (ms). */
export const DEFAULT_MIN_REFRESH_MS = 1_000;
/** Longest refresh interval, and the cap of the retry backoff (ms). */
export const DEFAULT_MAX_REFRESH_MS = 30_000;
/** Per-try query timeout given to the node:dns Resolver (ms). */
export const DEFAULT_DNS_TIMEOUT_MS = 2_000;
/** Tries per name server given to the node:dns Resolver. */
export const DEFAULT_DNS_TRIES = 2;

/** A DNS lookup that failed for a reason other than "no such name / no such records". */
export class DnsLookupError extends Error {
  /** The node:dns error code, e.g. `ETIMEOUT`, `ECONNREFUSED`, `ESERVFAIL`. */
  readonly code: string;
  readonly hostname: string;
  /** 4 for the A query, 6 for the AAAA query. */
  readonly family: 4 | 6;

  constructor(hostname: string, family: 4 | 6, code: string, cause: unknown) {
    super(`DNS ${family === 4 ? 'A' : 'AAAA'} lookup of ${hostname} failed: ${code}`, { cause });
    this.name = 'DnsLookupError';
    this.code = code;
    this.hostname = hostname;
    this.family = family;
  }
}

/** The error codes that mean "the name or its records do not exist": a negative answer. */
export const ABSENT_CODES: Readonly<Record<string, string>> = {
  ENOTFOUND: 'NXDOMAIN (no such name)',
  ENODATA: 'NODATA (the name has no records of this type)',
};

/** The options every DNS resolver takes besides the name: servers, refresh bounds, query limits, clock. */
export interface DnsQueryConfig {
  readonly servers: readonly string[] | undefined;
  readonly minRefreshMs: number;
  readonly maxRefreshMs: number;
  readonly timeoutMs: number;
  readonly tries: number;
  readonly clock: Clock;
}

/**
 * Validate the shared options of `raw`, naming them `<prefix>.minRefreshMs` and so on, in this
 * order: minRefreshMs, maxRefreshMs, timeoutMs, tries, clock, servers.
 */
export function validateDnsQueryOptions(
  prefix: string,
  raw: {
    readonly servers?: unknown;
    readonly minRefreshMs?: unknown;
    readonly maxRefreshMs?: unknown;
    readonly timeoutMs?: unknown;
    readonly tries?: unknown;
    readonly clock?: unknown;
  },
): DnsQueryConfig {
  const minRefreshMs = positiveNumber(`${prefix}.minRefreshMs`, raw.minRefreshMs, DEFAULT_MIN_REFRESH_MS);
  const maxRefreshMs = positiveNumber(
    `${prefix}.maxRefreshMs`,
    raw.maxRefreshMs,
    Math.max(DEFAULT_MAX_REFRESH_MS, minRefreshMs),
  );
  if (maxRefreshMs < minRefreshMs) {
    throw new ConfigError(
      `${prefix}.maxRefreshMs`,
      maxRefreshMs,
      `expected a number >= ${prefix}.minRefreshMs (${minRefreshMs})`,
    );
  }
  const timeoutMs = integerAtLeast(`${prefix}.timeoutMs`, raw.timeoutMs, 1, DEFAULT_DNS_TIMEOUT_MS);
  const tries = integerAtLeast(`${prefix}.tries`, raw.tries, 1, DEFAULT_DNS_TRIES);
  const clock = clockOption(`${prefix}.clock`, raw.clock);
  return {
    servers: validateServers(`${prefix}.servers`, raw.servers),
    minRefreshMs,
    maxRefreshMs,
    timeoutMs,
    tries,
    clock,
  };
}

/** clamp(TTL seconds × 1000, minRefreshMs, maxRefreshMs); a missing or negative TTL gives maxRefreshMs. */
export function ttlRefreshDelay(ttlSeconds: number, minRefreshMs: number, maxRefreshMs: number): number {
  const ttlMs = Number.isFinite(ttlSeconds) && ttlSeconds >= 0 ? ttlSeconds * 1000 : maxRefreshMs;
  return Math.min(maxRefreshMs, Math.max(minRefreshMs, ttlMs));
}

/** A node:dns promises Resolver with the configured per-try timeout, tries and name servers. */
export function createNodeDnsResolver(config: DnsQueryConfig): InstanceType<typeof dnsPromises.Resolver> {
  const resolver = new dnsPromises.Resolver({ timeout: config.timeoutMs, tries: config.tries });
  if (config.servers !== undefined) resolver.setServers([...config.servers]);
  return resolver;
}

function validateServers(option: string, servers: unknown): readonly string[] | undefined {
  if (servers === undefined) return undefined;
  if (!Array.isArray(servers) || servers.length === 0) {
    throw new ConfigError(option, servers, 'expected a non-empty array of "ip", "ip:port" or "[ipv6]:port"');
  }
  servers.forEach((server: unknown, i) => {
    if (!isServerAddress(server)) {
      throw new ConfigError(`${option}[${i}]`, server, 'expected "ip", "ip:port" or "[ipv6]:port"');
    }
  });
  return Object.freeze([...(servers as string[])]);
}

function isServerAddress(server: unknown): boolean {
  if (typeof server !== 'string') return false;
  if (isIP(server) !== 0) return true;
  const match = /^(?:\[([^\]]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(server);
  if (match === null) return false;
  const port = Number(match[3]);
  const validHost = match[1] !== undefined ? isIP(match[1]) === 6 : isIP(match[2] ?? '') === 4;
  return validHost && port >= 1 && port <= 65535;
}
