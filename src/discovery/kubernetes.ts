/**
 * The Kubernetes resolver: a Service's EndpointSlices (discovery.k8s.io/v1, label
 * `kubernetes.io/service-name`), read the way client-go's reflector reads them: list, then watch
 * from the list's resourceVersion with `allowWatchBookmarks=true` (KEP-956); bookmarks move the
 * resourceVersion on; 410 Gone (an HTTP status or an `ERROR` event with code 410, "too old resource
 * version") → list again, never a resume. Every change publishes the full set, folded from all
 * slices (./kubernetes-slices.ts). With no ready endpoint, the Service itself decides: it exists →
 * `negative` (authoritative: calls fail fast); 404 → `negative` (does not exist). Any API error
 * → `failed` (the client keeps the last set, stale) and a retry after ReconnectBackoff (500 ms →
 * 30 s, full jitter). Defaults: watch timeoutSeconds drawn in [300, 600) s (client-go's reflector:
 * minWatchTimeout 5 min × (1 + rand)); request timeout 10 s; addressType IPv4 (as dnsResolver's
 * family 4).
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { ListenerSet, reportHookError } from '../core/events.js';
import {
  booleanOption,
  clockOption,
  integerAtLeast,
  objectOption,
  oneOf,
  optionKeys,
} from '../core/options.js';
import { KubernetesApiClient, KubernetesApiError, statusError } from './kubernetes-client.js';
import {
  type KubernetesConnection,
  type KubernetesInClusterOptions,
  loadKubernetesConnection,
} from './kubernetes-config.js';
import { endpointsFromSlices, type SliceSelection } from './kubernetes-slices.js';
import { ReconnectBackoff, type ReconnectBackoffOptions } from './reconnect-backoff.js';
import type { EndpointSetListener, EndpointSetState, Resolver } from './resolver.js';

export { KubernetesApiError } from './kubernetes-client.js';
export type { KubernetesInClusterOptions } from './kubernetes-config.js';

/** Shortest server-side watch timeout (s); each watch draws from [this, 2 × this). */
export const DEFAULT_KUBERNETES_WATCH_TIMEOUT_SECONDS = 300;
/** Silence after which a list or Service request is abandoned (ms). */
export const DEFAULT_KUBERNETES_REQUEST_TIMEOUT_MS = 10_000;
/** How long past its timeoutSeconds a silent watch is kept before it is presumed dead (ms). */
const WATCH_SILENCE_MARGIN_MS = 30_000;
/** A watch the server ends sooner than this, with nothing in it, is followed by a backoff (ms). */
const QUICK_WATCH_END_MS = 1_000;
/** Page size of the list (the API server's default is unbounded; client-go pages by 500). */
const LIST_PAGE_SIZE = 500;

/** Options of {@link kubernetesResolver}. */
export interface KubernetesResolverOptions {
  /** The Service's name (a DNS-1035 label). */
  readonly service: string;
  /** Its namespace; default the configuration's (kubeconfig context, or the pod's), else `default`. */
  readonly namespace?: string;
  /**
   * The port: a Service port **name** (`'http'`), matched against the slices' `ports[].name`, or
   * a **number**, matched against `ports[].port`: the pods' port (the Service's targetPort).
   */
  readonly port: string | number;
  /** Which slices: `'IPv4'` (default), `'IPv6'` or `'any'` (both; a dual-stack pod counts twice). */
  readonly addressType?: 'IPv4' | 'IPv6' | 'any';
  /** When no endpoint is ready, use those that are serving but terminating; default false. */
  readonly terminatingFallback?: boolean;
  /** Path of a kubeconfig file (YAML or JSON). Default: see docs/discovery.md. */
  readonly kubeconfig?: string;
  /** The kubeconfig context; default its current-context. */
  readonly context?: string;
  /** Use the pod's service account: `true`, or the paths and host to use instead of the defaults. */
  readonly inCluster?: boolean | KubernetesInClusterOptions;
  /** Shortest server-side watch timeout in seconds; default 300 (each watch: [t, 2t)). */
  readonly watchTimeoutSeconds?: number;
  /** Silence after which a list or Service request is abandoned; default 10 000 ms. */
  readonly requestTimeoutMs?: number;
  /** Backoff after a failure; default 500 ms doubling to 30 s, full jitter. */
  readonly reconnect?: ReconnectBackoffOptions;
  /** Clock for the backoff timers; default the real clock. */
  readonly clock?: Clock;
}

/** The keys of {@link KubernetesResolverOptions}. */
export const KUBERNETES_RESOLVER_OPTION_KEYS = optionKeys<KubernetesResolverOptions>({
  service: true,
  namespace: true,
  port: true,
  addressType: true,
  terminatingFallback: true,
  kubeconfig: true,
  context: true,
  inCluster: true,
  watchTimeoutSeconds: true,
  requestTimeoutMs: true,
  reconnect: true,
  clock: true,
});

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

interface KubernetesConfig {
  readonly service: string;
  readonly namespace: string;
  readonly selection: SliceSelection;
  readonly connection: KubernetesConnection;
  readonly watchTimeoutSeconds: number;
  readonly requestTimeoutMs: number;
  readonly reconnect: ReconnectBackoffOptions | undefined;
  readonly clock: Clock;
}

/**
 * A resolver for the ready endpoints of a Kubernetes Service, from its EndpointSlices:
 *
 * - ready endpoints with the port → `bound` (zone from the endpoint's `zone`; `nodeName`,
 *   `hostname`, `pod` in metadata);
 * - the Service exists with no ready endpoint → `negative`, whose reason says so;
 * - the Service does not exist (404) → `negative`, whose reason says that;
 * - an API error (connection, TLS, 401/403, 5xx, a broken watch) → `failed` with a
 *   {@link KubernetesApiError}; then a retry after a jittered backoff.
 *
 * The configuration (kubeconfig or in-cluster) is read when the resolver is made; options and
 * files are checked then, and errors are ConfigErrors naming the option (`kubernetes.port`).
 */
export function kubernetesResolver(options: KubernetesResolverOptions): Resolver {
  return new KubernetesEndpointSliceResolver(validateKubernetesOptions(options));
}

class KubernetesEndpointSliceResolver implements Resolver {
  readonly description: string;
  readonly #config: KubernetesConfig;
  readonly #client: KubernetesApiClient;
  readonly #backoff: ReconnectBackoff;
  readonly #listeners: ListenerSet<EndpointSetState>;
  readonly #slices = new Map<string, unknown>();
  readonly #slicesPath: string;
  readonly #servicePath: string;
  #state: EndpointSetState = { kind: 'pending' };
  /** The last answer (bound or negative), republished when the source recovers after a failure. */
  #answer: EndpointSetState | undefined;
  #resourceVersion: string | undefined;
  /** 410s in a row without an event in between: the second one waits for the backoff. */
  #goneInARow = 0;
  /** Bumped whenever the set changes, so that a Service check that comes back late is dropped. */
  #generation = 0;
  #recheckTimer: TimerHandle | undefined;
  #wake: (() => void) | undefined;
  #sleepTimer: TimerHandle | undefined;
  #started = false;
  #closed = false;

  constructor(config: KubernetesConfig) {
    this.#config = config;
    this.#client = new KubernetesApiClient(config.connection, config.requestTimeoutMs);
    this.#backoff = new ReconnectBackoff(config.reconnect, 'kubernetes.reconnect');
    const { namespace, service } = config;
    this.description = `kubernetes:${namespace}/${service}:${config.selection.port}`;
    this.#listeners = new ListenerSet(this.description);
    const selector = encodeURIComponent(`kubernetes.io/service-name=${service}`);
    this.#slicesPath = `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=${selector}`;
    this.#servicePath = `/api/v1/namespaces/${namespace}/services/${service}`;
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
    if (this.#recheckTimer !== undefined) this.#config.clock.clearTimeout(this.#recheckTimer);
    if (this.#sleepTimer !== undefined) this.#config.clock.clearTimeout(this.#sleepTimer);
    this.#wake?.();
    this.#client.close();
  }

  /** List, then watch, until closed; every failure is published and followed by a backoff. */
  async #run(): Promise<void> {
    while (!this.#closed) {
      try {
        if (this.#resourceVersion === undefined) await this.#list();
        if (this.#readyEndpointsNow().endpoints.length === 0) await this.#checkService(this.#generation);
        const started = this.#config.clock.now();
        const { lines, gone } = await this.#watch();
        if (gone) {
          // The resourceVersion is too old: list again. A 410 right after a list waits first.
          this.#resourceVersion = undefined;
          if (++this.#goneInARow > 1) await this.#sleep(this.#backoff.next());
        } else if (lines === 0 && this.#config.clock.now() - started < QUICK_WATCH_END_MS) {
          await this.#sleep(this.#backoff.next());
        }
      } catch (error) {
        if (this.#closed) return;
        this.#publish({ kind: 'failed', error: error instanceof Error ? error : new Error(String(error)) });
        await this.#sleep(this.#backoff.next());
      }
    }
  }

  async #list(): Promise<void> {
    const slices = new Map<string, unknown>();
    let resourceVersion: string | undefined;
    let token: string | undefined;
    for (let page = 0; page < 10_000; page++) {
      const path =
        `${this.#slicesPath}&limit=${LIST_PAGE_SIZE}` +
        (token === undefined ? '' : `&continue=${encodeURIComponent(token)}`);
      const { status, body } = await this.#client.get(path);
      if (status !== 200) throw statusError(path, status, body);
      const list = body as { metadata?: { resourceVersion?: unknown; continue?: unknown }; items?: unknown };
      if (!Array.isArray(list?.items) || typeof list.metadata?.resourceVersion !== 'string') {
        throw new KubernetesApiError(path, status, undefined, 'the answer is not an EndpointSliceList');
      }
      for (const item of list.items) {
        const name = sliceName(item);
        if (name !== undefined) slices.set(name, item);
      }
      resourceVersion = list.metadata.resourceVersion;
      token =
        typeof list.metadata.continue === 'string' && list.metadata.continue !== ''
          ? list.metadata.continue
          : undefined;
      if (token === undefined) break;
    }
    this.#slices.clear();
    for (const [name, slice] of slices) this.#slices.set(name, slice);
    this.#resourceVersion = resourceVersion;
    this.#backoff.reset();
    this.#generation++;
    const { endpoints } = this.#readyEndpointsNow();
    if (endpoints.length > 0) this.#publish({ kind: 'bound', endpoints });
  }

  /** One watch from the current resourceVersion. */
  async #watch(): Promise<{ lines: number; gone: boolean }> {
    const timeoutSeconds = Math.floor(this.#config.watchTimeoutSeconds * (1 + Math.random()));
    const path =
      `${this.#slicesPath}&watch=true&allowWatchBookmarks=true` +
      `&resourceVersion=${encodeURIComponent(this.#resourceVersion ?? '')}&timeoutSeconds=${timeoutSeconds}`;
    let lines = 0;
    try {
      await this.#client.watch(
        path,
        timeoutSeconds * 1000 + WATCH_SILENCE_MARGIN_MS,
        () => {
          // The source answers again: what was known before the failure holds until events say otherwise.
          if (this.#state.kind === 'failed' && this.#answer !== undefined) this.#publish(this.#answer);
        },
        (line) => {
          lines++;
          this.#apply(path, line);
        },
      );
    } catch (error) {
      if (error instanceof KubernetesApiError && error.status === 410) return { lines, gone: true };
      throw error;
    }
    return { lines, gone: false };
  }

  /** One watch event. Throws for an ERROR event (the watch is then cut). */
  #apply(path: string, line: unknown): void {
    const event = line as { type?: unknown; object?: unknown };
    const object = event?.object as { metadata?: { resourceVersion?: unknown } } | undefined;
    const resourceVersion = object?.metadata?.resourceVersion;
    switch (event?.type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        const name = sliceName(object);
        if (name === undefined) return;
        if (event.type === 'DELETED') this.#slices.delete(name);
        else this.#slices.set(name, object);
        if (typeof resourceVersion === 'string') this.#resourceVersion = resourceVersion;
        this.#goneInARow = 0;
        this.#backoff.reset();
        this.#changed();
        return;
      }
      case 'BOOKMARK':
        if (typeof resourceVersion === 'string') this.#resourceVersion = resourceVersion;
        return;
      case 'ERROR': {
        const status = event.object as { code?: unknown } | undefined;
        const code = typeof status?.code === 'number' ? status.code : 500;
        throw statusError(path, code, event.object);
      }
      default:
        return;
    }
  }

  /** The slices changed during a watch: publish the set, or ask the Service when it is empty. */
  #changed(): void {
    const generation = ++this.#generation;
    if (this.#recheckTimer !== undefined) this.#config.clock.clearTimeout(this.#recheckTimer);
    this.#recheckTimer = undefined;
    const { endpoints } = this.#readyEndpointsNow();
    if (endpoints.length > 0) {
      this.#publish({ kind: 'bound', endpoints });
      return;
    }
    void this.#recheck(generation);
  }

  /** A Service check off the watch; a failure is published and the check retried after a backoff. */
  async #recheck(generation: number): Promise<void> {
    this.#recheckTimer = undefined;
    try {
      await this.#checkService(generation);
    } catch (error) {
      if (this.#closed || generation !== this.#generation) return;
      this.#publish({ kind: 'failed', error: error instanceof Error ? error : new Error(String(error)) });
      const timer = this.#config.clock.setTimeout(() => void this.#recheck(generation), this.#backoff.next());
      timer.unref?.();
      this.#recheckTimer = timer;
    }
  }

  /** No ready endpoint: publish `negative` with the reason the Service gives. Throws on API errors. */
  async #checkService(generation: number): Promise<void> {
    const { status, body } = await this.#client.get(this.#servicePath);
    if (this.#closed || generation !== this.#generation) return;
    const { namespace, service, selection } = this.#config;
    const name = `Service ${namespace}/${service}`;
    if (status === 404) {
      this.#publish({ kind: 'negative', reason: `${name} does not exist (the API server answered 404)` });
      return;
    }
    if (status !== 200) throw statusError(this.#servicePath, status, body);
    const { counts } = this.#readyEndpointsNow();
    const seen =
      counts.slices === 0
        ? 'it has no EndpointSlices'
        : `${counts.slices} EndpointSlices: ${counts.notReady} endpoints not ready, ` +
          `${counts.servingTerminating} terminating, ${counts.skippedSlices} slices without port ` +
          `${selection.port} or of another address type than ${selection.addressType}`;
    this.#publish({
      kind: 'negative',
      reason: `${name} exists but has no ready endpoints for port ${selection.port} (${seen})`,
    });
  }

  #readyEndpointsNow() {
    return endpointsFromSlices(this.#slices.values(), this.#config.selection);
  }

  #publish(state: EndpointSetState): void {
    if (this.#closed) return;
    if (state.kind !== 'failed') this.#answer = state;
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

function sliceName(object: unknown): string | undefined {
  const name = (object as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function validateKubernetesOptions(options: KubernetesResolverOptions): KubernetesConfig {
  const raw = objectOption<KubernetesResolverOptions>('kubernetes', options, KUBERNETES_RESOLVER_OPTION_KEYS);
  const service = raw.service;
  if (typeof service !== 'string' || !DNS_1035_LABEL.test(service)) {
    throw new ConfigError(
      'kubernetes.service',
      service,
      'expected a Service name: a DNS-1035 label (lower-case letters, digits and "-", starting with a letter, 63 at most)',
    );
  }
  const port = raw.port;
  const validPort =
    (typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535) ||
    (typeof port === 'string' && DNS_1123_LABEL.test(port));
  if (!validPort) {
    throw new ConfigError(
      'kubernetes.port',
      port,
      'expected a Service port name (a DNS-1123 label, e.g. "http") or the pods\' port number 1-65535',
    );
  }
  const addressType = oneOf('kubernetes.addressType', raw.addressType, ['IPv4', 'IPv6', 'any'], 'IPv4');
  const terminatingFallback = booleanOption('kubernetes.terminatingFallback', raw.terminatingFallback, false);
  const watchTimeoutSeconds = integerAtLeast(
    'kubernetes.watchTimeoutSeconds',
    raw.watchTimeoutSeconds,
    1,
    DEFAULT_KUBERNETES_WATCH_TIMEOUT_SECONDS,
  );
  const requestTimeoutMs = integerAtLeast(
    'kubernetes.requestTimeoutMs',
    raw.requestTimeoutMs,
    1,
    DEFAULT_KUBERNETES_REQUEST_TIMEOUT_MS,
  );
  const clock = clockOption('kubernetes.clock', raw.clock);
  const reconnect = objectOption<ReconnectBackoffOptions>('kubernetes.reconnect', raw.reconnect);
  // Checked now, so that a bad backoff fails here and not in the first retry.
  new ReconnectBackoff(reconnect, 'kubernetes.reconnect');
  if (raw.context !== undefined && (typeof raw.context !== 'string' || raw.context === '')) {
    throw new ConfigError('kubernetes.context', raw.context, 'expected a context name');
  }
  if (
    raw.inCluster !== undefined &&
    typeof raw.inCluster !== 'boolean' &&
    typeof raw.inCluster !== 'object'
  ) {
    throw new ConfigError(
      'kubernetes.inCluster',
      raw.inCluster,
      'expected true, false or an object of paths',
    );
  }
  if (
    raw.namespace !== undefined &&
    (typeof raw.namespace !== 'string' || !DNS_1123_LABEL.test(raw.namespace))
  ) {
    throw new ConfigError(
      'kubernetes.namespace',
      raw.namespace,
      'expected a namespace name (a DNS-1123 label)',
    );
  }
  const connection = loadKubernetesConnection({
    ...(raw.kubeconfig === undefined ? {} : { kubeconfig: raw.kubeconfig }),
    ...(raw.context === undefined ? {} : { context: raw.context }),
    ...(raw.inCluster === undefined ? {} : { inCluster: raw.inCluster }),
  });
  const namespace = raw.namespace ?? connection.namespace ?? 'default';
  return {
    service,
    namespace,
    selection: { port: port as string | number, addressType, terminatingFallback },
    connection,
    watchTimeoutSeconds,
    requestTimeoutMs,
    reconnect: raw.reconnect,
    clock,
  };
}
