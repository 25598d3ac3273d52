/**
 * The etcd resolver: the instances of one service, read from the keys under a prefix in etcd
 * (one key per instance, one JSON value each; ./etcd-values.ts has the layouts), over etcd's JSON
 * gateway (./etcd-gateway.ts), listed and then watched (./etcd-watch.ts). Defaults: request
 * timeout 5 s (etcdctl's `--command-timeout`); each list+watch cycle ends after 60 s and starts
 * over with a fresh list, weft's bound on how long a silently dead connection can hide changes
 * (Kubernetes' reflector ends its watches after 5–10 min for the same reason; etcd's own client
 * has gRPC keepalive pings, which the gateway lacks); reconnects 500 ms doubling to 30 s with full
 * jitter (./reconnect-backoff.ts).
 */
import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { clockOption, objectOption, optionKeys, positiveNumber } from '../core/options.js';
import { type EtcdGateway, fetchGateway } from './etcd-gateway.js';
import { type EtcdResolver, EtcdWatchResolver } from './etcd-watch.js';
import { ReconnectBackoff, type ReconnectBackoffOptions } from './reconnect-backoff.js';

export { type EtcdOperation, EtcdRequestError } from './etcd-gateway.js';
export type { EtcdResolver, EtcdSkippedKey } from './etcd-watch.js';

/** Timeout of a list request, and of the wait for a watch's first answer (ms): etcdctl's `--command-timeout`. */
export const DEFAULT_ETCD_REQUEST_TIMEOUT_MS = 5_000;
/** How long one list+watch cycle lasts before it starts over with a fresh list (ms); weft's choice. */
export const DEFAULT_ETCD_WATCH_TIMEOUT_MS = 60_000;

/** Options of {@link etcdResolver}. */
export interface EtcdResolverOptions {
  /**
   * etcd client URLs, e.g. `['http://10.0.0.5:2379', 'http://10.0.0.6:2379']`. The resolver asks
   * the first; after a failure it moves on to the next, round the list.
   */
  readonly endpoints: readonly string[];
  /**
   * The service's key prefix, ending in `/`, e.g. `services/orders/`. Every key under it is one
   * instance; the instance's id after the prefix is the writer's choice.
   */
  readonly prefix: string;
  /** Timeout of a list request and of the wait for a watch to open; default 5000 ms. */
  readonly requestTimeoutMs?: number;
  /** Length of one list+watch cycle, after which the resolver lists again; default 60 000 ms. */
  readonly watchTimeoutMs?: number;
  /** The backoff between failed attempts; default 500 ms doubling to 30 s, full jitter. */
  readonly reconnect?: ReconnectBackoffOptions;
  /** Clock for the backoff and cycle timers; default the real clock. */
  readonly clock?: Clock;
}

/** The keys of {@link EtcdResolverOptions}; any other key throws a ConfigError naming `etcd.key`. */
export const ETCD_RESOLVER_OPTION_KEYS = optionKeys<EtcdResolverOptions>({
  endpoints: true,
  prefix: true,
  requestTimeoutMs: true,
  watchTimeoutMs: true,
  reconnect: true,
  clock: true,
});

const RECONNECT_OPTION_KEYS = optionKeys<ReconnectBackoffOptions>({
  baseMs: true,
  maxMs: true,
  random: true,
});

/**
 * A resolver for the instances registered in etcd under `options.prefix`. The first subscriber
 * starts it; until `close()` it repeats a cycle: list the prefix (`bound`, possibly empty), then
 * watch from the list's revision + 1 and publish the set after each change.
 *
 * - A compaction that removed the history the watch needs cancels the watch: the resolver lists
 *   again (never resumes: etcd-io/etcd#8668, #18089).
 * - A refused connection, an error status, a broken or ended stream → `failed` (the client keeps
 *   its last set, stale), then a new cycle against the next endpoint after the reconnect backoff.
 *   Every new cycle starts with a list, so changes made meanwhile are never missed.
 * - Never `negative`: etcd cannot say that a service does not exist; no keys is `bound([])`.
 * - A value that is not an endpoint skips its key (see {@link EtcdResolver.skippedKeys}); the
 *   other keys are published.
 *
 * Options are validated up front; errors name them, e.g. `etcd.prefix`.
 */
export function etcdResolver(options: EtcdResolverOptions): EtcdResolver {
  return createEtcdResolver(options);
}

/**
 * {@link etcdResolver} with the gateway client replaced. For tests only; not exported from the
 * package entry.
 * @internal
 */
export function createEtcdResolver(options: EtcdResolverOptions, gateway?: EtcdGateway): EtcdResolver {
  const raw = objectOption<EtcdResolverOptions>('etcd', options, ETCD_RESOLVER_OPTION_KEYS);
  const endpoints = validateEndpoints(raw.endpoints);
  const prefix = validatePrefix(raw.prefix);
  const requestTimeoutMs = positiveNumber(
    'etcd.requestTimeoutMs',
    raw.requestTimeoutMs,
    DEFAULT_ETCD_REQUEST_TIMEOUT_MS,
  );
  const watchTimeoutMs = positiveNumber(
    'etcd.watchTimeoutMs',
    raw.watchTimeoutMs,
    DEFAULT_ETCD_WATCH_TIMEOUT_MS,
  );
  const reconnect = objectOption<ReconnectBackoffOptions>(
    'etcd.reconnect',
    raw.reconnect,
    RECONNECT_OPTION_KEYS,
  );
  const backoff = new ReconnectBackoff(reconnect, 'etcd.reconnect');
  const clock = clockOption('etcd.clock', raw.clock);
  return new EtcdWatchResolver(
    { endpoints, prefix, watchTimeoutMs, backoff, clock },
    gateway ?? fetchGateway(requestTimeoutMs),
  );
}

/** Each URL reduced to its origin (`http://host:port`); errors name `etcd.endpoints[i]`. */
function validateEndpoints(raw: unknown): readonly string[] {
  const expected = 'expected a non-empty array of etcd client URLs such as "http://127.0.0.1:2379"';
  if (!Array.isArray(raw) || raw.length === 0) throw new ConfigError('etcd.endpoints', raw, expected);
  return Object.freeze(
    raw.map((value: unknown, i) => {
      const option = `etcd.endpoints[${i}]`;
      let url: URL;
      try {
        url = new URL(String(value));
      } catch {
        throw new ConfigError(option, value, 'expected an http(s) URL such as "http://127.0.0.1:2379"');
      }
      if (typeof value !== 'string' || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        throw new ConfigError(option, value, 'expected an http: or https: URL');
      }
      if (url.username !== '' || url.password !== '') {
        throw new ConfigError(
          option,
          value,
          'credentials in the URL are not supported (etcd auth is not implemented)',
        );
      }
      if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
        throw new ConfigError(option, value, 'expected a scheme, host and port only (no path or query)');
      }
      return url.origin;
    }),
  );
}

function validatePrefix(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length < 2 || !raw.endsWith('/')) {
    throw new ConfigError(
      'etcd.prefix',
      raw,
      'expected a key prefix ending in "/", e.g. "services/orders/" (without the "/", "services/orders" would also match "services/orders-v2/...")',
    );
  }
  return raw;
}
