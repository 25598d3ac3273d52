/**
 * The DNS resolver: A and/or AAAA records of one name (node:dns), re-resolved on an interval of
 * clamp(min TTL, 1 s, 30 s): the TTL is respected as Envoy's `respect_dns_ttl` does, within
 * bounds that are weft's own choice (linkerd2-proxy and Envoy expose such bounds as knobs). After
 * a failure or negative answer: 1 s doubling to 30 s (the shape of Envoy's
 * dns_failure_refresh_rate; the values are weft's). Family 4 by default. Queries: 2 s × 2 tries (resolv.conf's
 * `attempts:2` with a shorter timeout than its 5 s; Node's own default is 4 tries).
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { ConfigError, errorCode } from '../core/errors.js';
import { ListenerSet, reportHookError } from '../core/events.js';
import { objectOption, optionKeys } from '../core/options.js';
import {
  ABSENT_CODES,
  createNodeDnsResolver,
  DnsLookupError,
  type DnsQueryConfig,
  ttlRefreshDelay,
  validateDnsQueryOptions,
} from './dns-common.js';
import { createEndpoint, type Endpoint } from './endpoint.js';
import { validateHostname } from './hostname.js';
import type { EndpointSetListener, EndpointSetState, Resolver } from './resolver.js';

export {
  DEFAULT_DNS_TIMEOUT_MS,
  DEFAULT_DNS_TRIES,
  DEFAULT_MAX_REFRESH_MS,
  DEFAULT_MIN_REFRESH_MS,
  DnsLookupError,
} from './dns-common.js';
export { isValidHostname, validateHostname } from './hostname.js';

/** Options of {@link dnsResolver}. */
export interface DnsResolverOptions {
  /** The DNS name to resolve, e.g. `api.internal`. IP literals are refused. */
  readonly hostname: string;
  /** The port every resolved address is given (A/AAAA records carry none). */
  readonly port: number;
  /** Which records: `4` (A, default), `6` (AAAA) or `'any'` (both, merged, IPv4 first). */
  readonly family?: 4 | 6 | 'any';
  /** Name servers as `ip`, `ip:port` or `[ipv6]:port` (node:dns `Resolver.setServers`); default: the system's. */
  readonly servers?: readonly string[];
  /** Lower bound of the refresh interval and first retry delay after a failure; default 1000 ms. */
  readonly minRefreshMs?: number;
  /** Upper bound of the refresh interval and of the retry backoff; default max(30000 ms, minRefreshMs). */
  readonly maxRefreshMs?: number;
  /** Per-try query timeout of the node:dns Resolver; default 2000 ms. */
  readonly timeoutMs?: number;
  /** Tries per name server of the node:dns Resolver; default 2. */
  readonly tries?: number;
  /** Clock for the refresh timers; default the real clock. */
  readonly clock?: Clock;
}

/** The keys of {@link DnsResolverOptions}; any other key throws a ConfigError naming `dns.key`. */
export const DNS_RESOLVER_OPTION_KEYS = optionKeys<DnsResolverOptions>({
  hostname: true,
  port: true,
  family: true,
  servers: true,
  minRefreshMs: true,
  maxRefreshMs: true,
  timeoutMs: true,
  tries: true,
  clock: true,
});

/**
 * How the resolver asks DNS. For tests only (deterministic TTLs on a virtual clock); the default
 * wraps node:dns `promises.Resolver`. Not part of the package's public API.
 * @internal
 */
export interface DnsLookup {
  /** The records of `hostname` with their TTL in seconds; rejects with a node:dns error (`code`). */
  resolve(family: 4 | 6, hostname: string): Promise<readonly { address: string; ttl: number }[]>;
  /** Cancel outstanding queries. */
  cancel(): void;
}

/**
 * A resolver for the A/AAAA records of `options.hostname`, each address paired with
 * `options.port`. The first subscriber starts resolution; it then repeats until `close()`:
 *
 * - an answer with records → `bound`; next lookup after clamp(min TTL, minRefreshMs, maxRefreshMs);
 * - NXDOMAIN, or NODATA (the name exists without records of the family asked) → `negative`: for
 *   a client both mean "nothing to send to". With `family: 'any'`, negative only when neither
 *   family has records; if one family answers and the other fails, the answer is published;
 * - any other error (timeout, refused, SERVFAIL, ...) → `failed` with a {@link DnsLookupError};
 * - after `negative` or `failed`, retry after minRefreshMs, doubling per consecutive miss, capped
 *   at maxRefreshMs (no jitter: each resolver's schedule starts at its own first subscribe).
 *
 * Options are validated up front; errors name them, e.g. `dns.port`.
 */
export function dnsResolver(options: DnsResolverOptions): Resolver {
  return createDnsResolver(options);
}

/**
 * {@link dnsResolver} with the DNS lookup replaced. For tests only; not exported from the
 * package index.
 * @internal
 */
export function createDnsResolver(options: DnsResolverOptions, lookup?: DnsLookup): Resolver {
  const config = validateDnsOptions(options);
  return new DnsNameResolver(config, lookup ?? nodeLookup(config));
}

interface DnsConfig extends DnsQueryConfig {
  readonly hostname: string;
  readonly port: number;
  readonly families: readonly (4 | 6)[];
}

class DnsNameResolver implements Resolver {
  readonly description: string;
  readonly #config: DnsConfig;
  readonly #lookup: DnsLookup;
  readonly #listeners: ListenerSet<EndpointSetState>;
  #state: EndpointSetState = { kind: 'pending' };
  #timer: TimerHandle | undefined;
  #started = false;
  #closed = false;
  /** Consecutive answers without records (failed or negative), for the retry backoff. */
  #misses = 0;

  constructor(config: DnsConfig, lookup: DnsLookup) {
    this.#config = config;
    this.#lookup = lookup;
    this.description = `dns:${config.hostname}:${config.port}`;
    this.#listeners = new ListenerSet(this.description);
  }

  subscribe(listener: EndpointSetListener): () => void {
    if (this.#closed) return () => {};
    const remove = this.#listeners.add(listener);
    if (this.#state.kind !== 'pending') {
      try {
        listener(this.#state);
      } catch (error) {
        reportHookError(`a listener of ${this.description}`, error);
      }
    }
    if (!this.#started) {
      this.#started = true;
      void this.#refresh();
    }
    return remove;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#config.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
    this.#lookup.cancel();
  }

  async #refresh(): Promise<void> {
    this.#timer = undefined;
    let state: EndpointSetState;
    let delayMs: number;
    try {
      ({ state, delayMs } = await this.#resolveOnce());
    } catch (error) {
      state = { kind: 'failed', error: error instanceof Error ? error : new Error(String(error)) };
      delayMs = this.#retryDelay();
    }
    if (this.#closed) return;
    this.#state = state;
    this.#listeners.emit(state);
    if (this.#closed) return;
    const timer = this.#config.clock.setTimeout(() => void this.#refresh(), delayMs);
    timer.unref?.();
    this.#timer = timer;
  }

  async #resolveOnce(): Promise<{ state: EndpointSetState; delayMs: number }> {
    const { hostname, port, families } = this.#config;
    const answers = await Promise.allSettled(
      families.map((family) => this.#lookup.resolve(family, hostname)),
    );
    const endpoints: Endpoint[] = [];
    const absent: string[] = [];
    let error: DnsLookupError | undefined;
    let minTtl = Number.POSITIVE_INFINITY;
    answers.forEach((answer, i) => {
      const family = families[i] ?? 4;
      const type = family === 4 ? 'A' : 'AAAA';
      if (answer.status === 'fulfilled') {
        if (answer.value.length === 0) absent.push(`${type}: ${ABSENT_CODES.ENODATA}`);
        for (const record of answer.value) {
          endpoints.push(createEndpoint(record.address, port, 1, 'dns'));
          minTtl = Math.min(minTtl, record.ttl);
        }
        return;
      }
      const code = errorCode(answer.reason) ?? 'EUNKNOWN';
      const meaning = ABSENT_CODES[code];
      if (meaning !== undefined) absent.push(`${type}: ${meaning}`);
      else error ??= new DnsLookupError(hostname, family, code, answer.reason);
    });
    if (endpoints.length > 0) {
      // A family that failed while the other answered is asked again soon, not after the TTL.
      const delayMs = error !== undefined ? this.#retryDelay() : this.#ttlDelay(minTtl);
      return { state: { kind: 'bound', endpoints }, delayMs };
    }
    if (error !== undefined) return { state: { kind: 'failed', error }, delayMs: this.#retryDelay() };
    return {
      state: { kind: 'negative', reason: `${hostname}: ${absent.join('; ')}` },
      delayMs: this.#retryDelay(),
    };
  }

  /** clamp(TTL seconds × 1000, minRefreshMs, maxRefreshMs); resets the miss count. */
  #ttlDelay(ttlSeconds: number): number {
    this.#misses = 0;
    return ttlRefreshDelay(ttlSeconds, this.#config.minRefreshMs, this.#config.maxRefreshMs);
  }

  /** minRefreshMs × 2^(misses-1), capped at maxRefreshMs. */
  #retryDelay(): number {
    this.#misses += 1;
    const { minRefreshMs, maxRefreshMs } = this.#config;
    return Math.min(maxRefreshMs, minRefreshMs * 2 ** Math.min(this.#misses - 1, 30));
  }
}

function nodeLookup(config: DnsConfig): DnsLookup {
  const resolver = createNodeDnsResolver(config);
  return {
    resolve: (family, hostname) =>
      family === 4 ? resolver.resolve4(hostname, { ttl: true }) : resolver.resolve6(hostname, { ttl: true }),
    cancel: () => resolver.cancel(),
  };
}

function validateDnsOptions(options: DnsResolverOptions): DnsConfig {
  const raw = objectOption<DnsResolverOptions>('dns', options, DNS_RESOLVER_OPTION_KEYS);
  const hostname = validateHostname('dns.hostname', raw.hostname);
  const port = raw.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError('dns.port', port, 'expected an integer port from 1 to 65535');
  }
  const family = raw.family ?? 4;
  if (family !== 4 && family !== 6 && family !== 'any') {
    throw new ConfigError('dns.family', family, 'expected 4, 6 or "any"');
  }
  return {
    hostname,
    port,
    families: family === 'any' ? [4, 6] : [family],
    ...validateDnsQueryOptions('dns', raw),
  };
}
