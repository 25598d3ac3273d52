/**
 * The Consul resolver: the passing instances of one service, from the health API
 * (`/v1/health/service/<name>?passing=true`) read with blocking queries: `index` from the last
 * `X-Consul-Index`, `wait` 60 s (consul-template's `block_query_wait`; Consul's own default is 5 min,
 * its limit 10 min), a request limit of wait × 17/16 (Consul adds up to wait/16) + 5 s. Consul's
 * "Implementation Details" for blocking queries: an index that goes backwards, or is 0, resets to
 * 0 (a fresh, non-blocking read); the loop is rate-limited to one query per 100 ms (consul-template
 * rate-limits its calls the same way). The catalog (`/v1/catalog/service/<name>`) decides whether
 * the name exists: unknown → `negative`. After a failure the next read is a fresh one, so the
 * recovery shows at once. A known service with no passing instance → `bound([])`
 * by default, so the client keeps the last set, stale (advisory: a broken health check or agent is
 * more common than every instance dying at once); `nonePassing: 'negative'` makes it fail fast, as
 * Linkerd 1's consul namer does (empty → Neg). Errors → `failed`, retried after ReconnectBackoff.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { ListenerSet, reportHookError } from '../core/events.js';
import { clockOption, integerInRange, objectOption, oneOf, optionKeys } from '../core/options.js';
import { ConsulApiClient, ConsulApiError, type ConsulResponse } from './consul-client.js';
import { createEndpoint, type Endpoint } from './endpoint.js';
import { isValidHost } from './hostname.js';
import { ReconnectBackoff, type ReconnectBackoffOptions } from './reconnect-backoff.js';
import type { EndpointSetListener, EndpointSetState, Resolver } from './resolver.js';

export { ConsulApiError } from './consul-client.js';

/** The local agent's HTTP address (Consul's default `addresses.http` and port 8500). */
export const DEFAULT_CONSUL_ADDRESS = 'http://127.0.0.1:8500';
/** A blocking query's `wait` (s): consul-template's default `block_query_wait`. */
export const DEFAULT_CONSUL_WAIT_SECONDS = 60;
/** Consul's limit on `wait` (s). */
export const MAX_CONSUL_WAIT_SECONDS = 600;
/** Time limit of the non-blocking catalog query (ms). */
export const DEFAULT_CONSUL_REQUEST_TIMEOUT_MS = 10_000;
/** Shortest time between two health queries (ms). */
export const DEFAULT_CONSUL_MIN_INTERVAL_MS = 100;
/** Added to wait × 17/16 to make a blocking query's time limit (ms). */
const BLOCKING_MARGIN_MS = 5_000;

/** Options of {@link consulResolver}. */
export interface ConsulResolverOptions {
  /** The service name, as registered. */
  readonly service: string;
  /** Consul's HTTP address; default `http://127.0.0.1:8500` (the local agent). */
  readonly address?: string;
  /** The datacenter to ask (`dc`); default the agent's own. */
  readonly datacenter?: string;
  /** Only instances with this tag (`tag`). */
  readonly tag?: string;
  /** ACL token, sent as `X-Consul-Token`. */
  readonly token?: string;
  /** PEM CA bundle for an https address; default the system's CAs. */
  readonly ca?: string;
  /** A Service.Meta key (then Node.Meta) whose value is the endpoint's zone; default none. */
  readonly zoneMetaKey?: string;
  /** What a known service with no passing instance publishes; default `'keep-last'` (`bound([])`). */
  readonly nonePassing?: 'keep-last' | 'negative';
  /** A blocking query's `wait` in seconds, 1 to 600; default 60. */
  readonly waitSeconds?: number;
  /** Time limit of the catalog query; default 10 000 ms. */
  readonly requestTimeoutMs?: number;
  /** Shortest time between two health queries; default 100 ms. */
  readonly minIntervalMs?: number;
  /** Backoff after a failure; default 500 ms doubling to 30 s, full jitter. */
  readonly reconnect?: ReconnectBackoffOptions;
  /** Clock for the backoff and rate-limit timers; default the real clock. */
  readonly clock?: Clock;
}

/** The keys of {@link ConsulResolverOptions}. */
export const CONSUL_RESOLVER_OPTION_KEYS = optionKeys<ConsulResolverOptions>({
  service: true,
  address: true,
  datacenter: true,
  tag: true,
  token: true,
  ca: true,
  zoneMetaKey: true,
  nonePassing: true,
  waitSeconds: true,
  requestTimeoutMs: true,
  minIntervalMs: true,
  reconnect: true,
  clock: true,
});

interface ConsulConfig {
  readonly service: string;
  readonly address: URL;
  readonly datacenter: string | undefined;
  readonly tag: string | undefined;
  readonly token: string | undefined;
  readonly ca: string | undefined;
  readonly zoneMetaKey: string | undefined;
  readonly nonePassing: 'keep-last' | 'negative';
  readonly waitSeconds: number;
  readonly requestTimeoutMs: number;
  readonly minIntervalMs: number;
  readonly reconnect: ReconnectBackoffOptions | undefined;
  readonly clock: Clock;
}

/**
 * A resolver for the passing instances of a Consul service:
 *
 * - passing instances → `bound` (address: Service.Address, else Node.Address; weight:
 *   Service.Weights.Passing; tags, meta and node in metadata; zone from `zoneMetaKey`);
 * - the catalog does not know the service → `negative`;
 * - the service is known and no instance passes → `bound([])` (the client keeps the last set,
 *   stale), or `negative` with `nonePassing: 'negative'`;
 * - an error (connection, timeout, 403, 5xx, no X-Consul-Index, a body that is not a list) →
 *   `failed` with a {@link ConsulApiError}; then a retry after a jittered backoff.
 */
export function consulResolver(options: ConsulResolverOptions): Resolver {
  return new ConsulHealthResolver(validateConsulOptions(options));
}

class ConsulHealthResolver implements Resolver {
  readonly description: string;
  readonly #config: ConsulConfig;
  readonly #client: ConsulApiClient;
  readonly #backoff: ReconnectBackoff;
  readonly #listeners: ListenerSet<EndpointSetState>;
  #state: EndpointSetState = { kind: 'pending' };
  /** The index for the next health query; 0 = a fresh, non-blocking read. */
  #index = 0;
  #wake: (() => void) | undefined;
  #sleepTimer: TimerHandle | undefined;
  #started = false;
  #closed = false;

  constructor(config: ConsulConfig) {
    this.#config = config;
    this.#client = new ConsulApiClient({ address: config.address, token: config.token, ca: config.ca });
    this.#backoff = new ReconnectBackoff(config.reconnect, 'consul.reconnect');
    this.description = `consul:${config.service}${config.datacenter === undefined ? '' : `@${config.datacenter}`}`;
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
      void this.#run();
    }
    return remove;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    if (this.#sleepTimer !== undefined) this.#config.clock.clearTimeout(this.#sleepTimer);
    this.#wake?.();
    this.#client.close();
  }

  async #run(): Promise<void> {
    const { clock, minIntervalMs } = this.#config;
    while (!this.#closed) {
      const started = clock.now();
      try {
        const state = await this.#queryOnce();
        if (this.#closed) return;
        this.#backoff.reset();
        this.#publish(state);
        const elapsed = clock.now() - started;
        if (elapsed < minIntervalMs) await this.#sleep(minIntervalMs - elapsed);
      } catch (error) {
        if (this.#closed) return;
        this.#publish({ kind: 'failed', error: error instanceof Error ? error : new Error(String(error)) });
        // The next query is a fresh read: a blocking one would hide the recovery until a change or its wait.
        this.#index = 0;
        await this.#sleep(this.#backoff.next());
      }
    }
  }

  /** One health query (blocking when an index is known), then the catalog when nothing passes. */
  async #queryOnce(): Promise<EndpointSetState> {
    const { service, waitSeconds } = this.#config;
    const name = encodeURIComponent(service);
    const blocking = this.#index > 0 ? `&index=${this.#index}&wait=${waitSeconds}s` : '';
    const path = `/v1/health/service/${name}?passing=true${this.#scope()}${blocking}`;
    const timeoutMs = Math.ceil((waitSeconds * 1000 * 17) / 16) + BLOCKING_MARGIN_MS;
    const res = await this.#client.get(path, timeoutMs);
    const rows = checkList(path, res);
    if (res.index === undefined) {
      throw new ConsulApiError(
        path,
        res.status,
        'no X-Consul-Index header: the address does not answer blocking queries',
      );
    }
    // Consul's rules: an index that goes backwards, or 0, starts over from a fresh read.
    this.#index = res.index < this.#index || res.index <= 0 ? 0 : res.index;
    const endpoints = this.#endpointsOf(rows);
    if (endpoints.length > 0) return { kind: 'bound', endpoints };
    return this.#whenNonePasses();
  }

  /** Nothing passes: does the catalog know the service? */
  async #whenNonePasses(): Promise<EndpointSetState> {
    const { service, requestTimeoutMs, nonePassing } = this.#config;
    const scope = this.#scope();
    const path = `/v1/catalog/service/${encodeURIComponent(service)}${scope === '' ? '' : `?${scope.slice(1)}`}`;
    const rows = checkList(path, await this.#client.get(path, requestTimeoutMs));
    const where = this.#config.datacenter === undefined ? '' : ` in datacenter ${this.#config.datacenter}`;
    if (rows.length === 0) {
      return {
        kind: 'negative',
        reason: `Consul's catalog has no service "${service}"${this.#config.tag === undefined ? '' : ` with tag "${this.#config.tag}"`}${where}`,
      };
    }
    if (nonePassing === 'negative') {
      return {
        kind: 'negative',
        reason: `service "${service}"${where} is registered (${rows.length} instances) but none passes its health checks`,
      };
    }
    return { kind: 'bound', endpoints: [] };
  }

  #scope(): string {
    const { datacenter, tag } = this.#config;
    return (
      (datacenter === undefined ? '' : `&dc=${encodeURIComponent(datacenter)}`) +
      (tag === undefined ? '' : `&tag=${encodeURIComponent(tag)}`)
    );
  }

  #endpointsOf(rows: readonly unknown[]): Endpoint[] {
    const endpoints: Endpoint[] = [];
    for (const row of rows) {
      const endpoint = toEndpoint(row, this.#config.zoneMetaKey);
      if (endpoint !== undefined) endpoints.push(endpoint);
    }
    return endpoints;
  }

  #publish(state: EndpointSetState): void {
    if (this.#closed) return;
    this.#state = state;
    this.#listeners.emit(state);
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.#wake = undefined;
        this.#sleepTimer = undefined;
        resolve();
      };
      this.#wake = wake;
      const timer = this.#config.clock.setTimeout(wake, ms);
      timer.unref?.();
      this.#sleepTimer = timer;
    });
  }
}

function checkList(path: string, res: ConsulResponse): unknown[] {
  if (res.status !== 200) {
    throw new ConsulApiError(path, res.status, res.text.trim().slice(0, 200) || 'error');
  }
  if (!Array.isArray(res.body)) throw new ConsulApiError(path, res.status, 'the answer is not a JSON list');
  return res.body;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** One health row to an endpoint; undefined when it is malformed or a check is not passing. */
function toEndpoint(row: unknown, zoneMetaKey: string | undefined): Endpoint | undefined {
  if (!isObject(row) || !isObject(row.Service)) return undefined;
  const service = row.Service;
  const node = isObject(row.Node) ? row.Node : {};
  // `?passing` filters on the server; a row whose checks say otherwise is left out all the same.
  if (Array.isArray(row.Checks) && row.Checks.some((c) => isObject(c) && c.Status !== 'passing'))
    return undefined;
  const serviceAddress = typeof service.Address === 'string' ? service.Address : '';
  const host = serviceAddress !== '' ? serviceAddress : typeof node.Address === 'string' ? node.Address : '';
  const port = service.Port;
  if (!isValidHost(host) || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    return undefined;
  }
  const weights = isObject(service.Weights) ? service.Weights : {};
  const passing = weights.Passing;
  const weight = typeof passing === 'number' && Number.isFinite(passing) && passing > 0 ? passing : 1;
  const serviceMeta = isObject(service.Meta) ? service.Meta : {};
  const nodeMeta = isObject(node.Meta) ? node.Meta : {};
  const metadata: Record<string, string> = {};
  if (typeof service.ID === 'string') metadata.id = service.ID;
  if (typeof node.Node === 'string') metadata.node = node.Node;
  if (Array.isArray(service.Tags))
    metadata.tags = service.Tags.filter((t) => typeof t === 'string').join(',');
  for (const [key, value] of Object.entries(serviceMeta)) {
    if (typeof value === 'string') metadata[`meta.${key}`] = value;
  }
  let zone: string | undefined;
  if (zoneMetaKey !== undefined) {
    const value = serviceMeta[zoneMetaKey] ?? nodeMeta[zoneMetaKey];
    if (typeof value === 'string' && value !== '') zone = value;
  }
  return createEndpoint(host, port, weight, 'consul', { ...(zone === undefined ? {} : { zone }), metadata });
}

function validateConsulOptions(options: ConsulResolverOptions): ConsulConfig {
  const raw = objectOption<ConsulResolverOptions>('consul', options, CONSUL_RESOLVER_OPTION_KEYS);
  const service = raw.service;
  if (typeof service !== 'string' || service === '' || /[/?#\s]/.test(service)) {
    throw new ConfigError('consul.service', service, 'expected a service name (no "/", "?", "#" or spaces)');
  }
  const addressText = raw.address ?? DEFAULT_CONSUL_ADDRESS;
  let address: URL;
  try {
    address = new URL(String(addressText));
  } catch {
    throw new ConfigError('consul.address', addressText, 'expected an http:// or https:// URL');
  }
  if (
    (address.protocol !== 'http:' && address.protocol !== 'https:') ||
    address.search !== '' ||
    address.hash !== ''
  ) {
    throw new ConfigError('consul.address', addressText, 'expected an http:// or https:// URL without query');
  }
  const optionalText = (key: 'datacenter' | 'tag' | 'token' | 'ca' | 'zoneMetaKey'): string | undefined => {
    const value = raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '') {
      throw new ConfigError(
        `consul.${key}`,
        key === 'token' ? '(redacted)' : value,
        'expected a non-empty string',
      );
    }
    return value;
  };
  const nonePassing = oneOf('consul.nonePassing', raw.nonePassing, ['keep-last', 'negative'], 'keep-last');
  const waitSeconds = integerInRange(
    'consul.waitSeconds',
    raw.waitSeconds,
    1,
    MAX_CONSUL_WAIT_SECONDS,
    DEFAULT_CONSUL_WAIT_SECONDS,
    "Consul's limit is 10 minutes",
  );
  const requestTimeoutMs = integerInRange(
    'consul.requestTimeoutMs',
    raw.requestTimeoutMs,
    1,
    600_000,
    DEFAULT_CONSUL_REQUEST_TIMEOUT_MS,
  );
  const minIntervalMs = integerInRange(
    'consul.minIntervalMs',
    raw.minIntervalMs,
    0,
    60_000,
    DEFAULT_CONSUL_MIN_INTERVAL_MS,
  );
  const reconnect = objectOption<ReconnectBackoffOptions>('consul.reconnect', raw.reconnect);
  new ReconnectBackoff(reconnect, 'consul.reconnect');
  return {
    service,
    address,
    datacenter: optionalText('datacenter'),
    tag: optionalText('tag'),
    token: optionalText('token'),
    ca: optionalText('ca'),
    zoneMetaKey: optionalText('zoneMetaKey'),
    nonePassing,
    waitSeconds,
    requestTimeoutMs,
    minIntervalMs,
    reconnect: raw.reconnect,
    clock: clockOption('consul.clock', raw.clock),
  };
}
