/**
 * createHttpClient: the HTTP entry point. It assembles discovery, the balancer, the endpoint
 * stacks over undici Pools and the call stack, validates every option at construction, and offers
 * three ways in that all run through the same stack: `request()` (undici's request shape),
 * `fetch()` (WHATWG fetch) and `dispatcher` (an undici Dispatcher). Defaults: docs/http-client.md.
 */
import { type Dispatcher, type RequestInit, type Response, fetch as undiciFetch } from 'undici';
import { Balancer } from '../balance/balancer.js';
import { type BalancerStrategy, p2cPeakEwma } from '../balance/strategies.js';
import { defaultClientStack } from '../client/default-stack.js';
import { buildEndpoint, defaultEndpointStack, type EndpointLayer } from '../client/endpoint-stack.js';
import type { Cancellation } from '../core/cancellation.js';
import { type Clock, realClock } from '../core/clock.js';
import { CallContext } from '../core/context.js';
import { ClientClosedError, ConfigError } from '../core/errors.js';
import {
  booleanOption,
  functionOption,
  integerAtLeast,
  objectOption,
  oneOf,
  positiveNumber,
} from '../core/options.js';
import { composeFilters, type Filter, type Next } from '../core/service.js';
import type { Stack } from '../core/stack.js';
import { DiscoveredEndpoints, type EndpointSetSnapshot } from '../discovery/endpoint-set.js';
import type { Resolver } from '../discovery/resolver.js';
import { type StaticTarget, staticResolver } from '../discovery/static.js';
import { DEFAULT_TOTAL_TIMEOUT_MS } from '../policies/deadline.js';
import { WeftDispatcher } from './dispatcher.js';
import { httpAdapter } from './protocol.js';
import {
  copyHeaders,
  type HeadersInput,
  type HttpBody,
  type HttpRequest,
  type HttpResponse,
} from './request.js';
import { type TlsOptions, type TransportSettings, UndiciEndpoint } from './transport.js';

/** Defaults of {@link createHttpClient}; docs/http-client.md gives the source of each. */
export const HTTP_CLIENT_DEFAULTS = {
  scheme: 'http',
  timeoutMs: DEFAULT_TOTAL_TIMEOUT_MS,
  attemptTimeoutMs: Number.POSITIVE_INFINITY,
  connections: 64,
  pipelining: 1,
  keepAliveTimeoutMs: 4_000,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 300_000,
  bodyTimeoutMs: 300_000,
  http2: false,
  inheritAmbientDeadline: true,
  propagateDeadline: true,
} as const;

/** Options of {@link createHttpClient}. Exactly one of `endpoints` and `resolver` is required. */
export interface HttpClientOptions {
  /** Name of the destination, for errors and telemetry. Default: the resolver's description. */
  name?: string;
  /** A static list: `'host:port'`, `'http://host:port'`, `{ host, port, weight }`. */
  endpoints?: readonly StaticTarget[];
  /** A resolver (e.g. `dnsResolver(...)`), instead of `endpoints`. The client closes it. */
  resolver?: Resolver;
  /** `http` or `https`. Default `http`. */
  scheme?: 'http' | 'https';
  /** Host header and TLS server name (e.g. `api.internal`). Default: each endpoint's address. */
  authority?: string;
  /** Balancing strategy. Default `p2cPeakEwma()`. */
  balancer?: BalancerStrategy;
  /** Total time for a call, in ms, until response headers; `Infinity` for none. Default 15 000. */
  timeoutMs?: number;
  /** Time for one attempt, in ms; `Infinity` for none. Default none. */
  attemptTimeoutMs?: number;
  /** Connections per endpoint. Default 64. */
  connections?: number;
  /** Requests pipelined per HTTP/1.1 connection. Default 1 (undici). */
  pipelining?: number;
  /** Idle keep-alive time of a connection, in ms. Default 4 000 (undici). */
  keepAliveTimeoutMs?: number;
  /** TCP (and TLS) connect timeout, in ms. Default 10 000 (undici). */
  connectTimeoutMs?: number;
  /** Time to wait for response headers on a connection, in ms. Default 300 000 (undici). */
  headersTimeoutMs?: number;
  /** Longest pause between body chunks, in ms. Default 300 000 (undici). */
  bodyTimeoutMs?: number;
  /** Negotiate HTTP/2 by ALPN on `https`. Default false (set explicitly; undici 8 defaults to true). */
  http2?: boolean;
  /** TLS and mTLS settings for `https`. */
  tls?: TlsOptions;
  /** Inherit the deadline of the incoming request being served. Default true. */
  inheritAmbientDeadline?: boolean;
  /** Send the remaining time as `weft-timeout-ms`. Default true. */
  propagateDeadline?: boolean;
  /** Edit the call stack (insert, replace, remove roles). */
  stack?: (stack: Stack<Filter<HttpRequest, HttpResponse>>) => Stack<Filter<HttpRequest, HttpResponse>>;
  /** Edit the per-endpoint stack. */
  endpointStack?: (
    stack: Stack<EndpointLayer<HttpRequest, HttpResponse>>,
  ) => Stack<EndpointLayer<HttpRequest, HttpResponse>>;
  /** Clock for timers and timestamps (tests pass a VirtualClock). Default: the real clock. */
  clock?: Clock;
}

/** Per-call options, on top of undici's request shape. */
export interface HttpCallOptions {
  /** Total time for this call, in ms (overrides the client's). */
  timeoutMs?: number;
  /** Time for one attempt, in ms (overrides the client's). */
  attemptTimeoutMs?: number;
}

/** Options of {@link HttpClient.request}: undici's request shape plus weft's per-call options. */
export interface HttpRequestOptions extends HttpCallOptions {
  /** Path and query, starting with `/`. */
  path: string;
  /** Default `GET`. */
  method?: string;
  headers?: HeadersInput;
  body?: HttpBody;
  /** Query parameters appended to the path. */
  query?: Record<string, string | number | boolean>;
  signal?: AbortSignal;
  /** undici's headers timeout for this request, in ms. */
  headersTimeout?: number;
  /** undici's body timeout for this request, in ms. */
  bodyTimeout?: number;
}

/** Live state of one endpoint, for dashboards and the demo. */
export interface EndpointStats {
  readonly address: string;
  readonly status: 'open' | 'busy' | 'closed';
  readonly pending: number;
  /**
   * The load metric's cost now, read without disturbing it. Its unit is the strategy's: Peak EWMA
   * gives estimate × (pending + 1) in ms; round robin and least loaded give the pending count.
   */
  readonly cost: number;
  readonly weight: number;
}

/** A weft HTTP client. Create with {@link createHttpClient}. */
export interface HttpClient {
  readonly name: string;
  /** undici's request shape; resolves at the response headers with a streaming body. */
  request(options: HttpRequestOptions): Promise<HttpResponse>;
  /** WHATWG fetch through the stack. A path (`/users`) or any URL: only its path and query are used. */
  fetch(input: string | URL, init?: RequestInit & HttpCallOptions): Promise<Response>;
  /** The client as an undici Dispatcher, for `fetch(url, { dispatcher })` and `setGlobalDispatcher`. */
  readonly dispatcher: Dispatcher;
  /** The roles of the call stack, outermost first. */
  readonly roles: readonly string[];
  /** Name of the balancing strategy. */
  readonly strategy: string;
  /** Live state of every endpoint. */
  endpoints(): EndpointStats[];
  /** The discovery state: kind, staleness, last error. */
  discovery(): EndpointSetSnapshot;
  /** Stop taking calls; resolves when in-flight calls have finished and every socket and timer is gone. */
  close(): Promise<void>;
}

/** Create an HTTP client. Every option is validated here; a bad one throws {@link ConfigError}. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  return new WeftHttpClient(options);
}

class WeftHttpClient implements HttpClient {
  readonly name: string;
  readonly dispatcher: Dispatcher;
  readonly roles: readonly string[];
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #attemptTimeoutMs: number;
  readonly #discovery: DiscoveredEndpoints;
  readonly #balancer: Balancer<HttpRequest, HttpResponse>;
  readonly #call: Next<HttpRequest, HttpResponse>;
  readonly #origin: string;
  #closing: Promise<void> | undefined;

  constructor(options: HttpClientOptions) {
    const o = objectOption<HttpClientOptions>('options', options);
    if (options === undefined)
      throw new ConfigError('options', options, 'expected { endpoints } or { resolver }');
    const clock = o.clock ?? realClock;
    if (typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function') {
      throw new ConfigError('clock', clock, 'expected a Clock');
    }
    const resolver = pickResolver(o);
    if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length === 0)) {
      throw new ConfigError('name', o.name, 'expected a non-empty string');
    }
    if (o.authority !== undefined && (typeof o.authority !== 'string' || !/^[^\s/?#@]+$/.test(o.authority))) {
      throw new ConfigError('authority', o.authority, 'expected host or host:port');
    }
    const strategy = o.balancer ?? p2cPeakEwma();
    if (typeof strategy?.createPicker !== 'function' || typeof strategy.createLoad !== 'function') {
      throw new ConfigError(
        'balancer',
        strategy,
        'expected a strategy such as p2cPeakEwma() or roundRobin()',
      );
    }
    const d = HTTP_CLIENT_DEFAULTS;
    const settings: TransportSettings = {
      scheme: oneOf('scheme', o.scheme, ['http', 'https'] as const, d.scheme),
      connections: integerAtLeast('connections', o.connections, 1, d.connections),
      pipelining: integerAtLeast('pipelining', o.pipelining, 1, d.pipelining),
      keepAliveTimeoutMs: positiveNumber('keepAliveTimeoutMs', o.keepAliveTimeoutMs, d.keepAliveTimeoutMs),
      connectTimeoutMs: positiveNumber('connectTimeoutMs', o.connectTimeoutMs, d.connectTimeoutMs),
      headersTimeoutMs: positiveNumber('headersTimeoutMs', o.headersTimeoutMs, d.headersTimeoutMs),
      bodyTimeoutMs: positiveNumber('bodyTimeoutMs', o.bodyTimeoutMs, d.bodyTimeoutMs),
      allowH2: booleanOption('http2', o.http2, d.http2),
      tls: o.tls === undefined ? undefined : (objectOption<TlsOptions>('tls', o.tls) as TlsOptions),
      authority: o.authority,
    };
    if (settings.tls !== undefined && settings.scheme !== 'https') {
      throw new ConfigError('tls', o.tls, 'tls options need scheme "https"');
    }
    this.#timeoutMs = positiveNumber('timeoutMs', o.timeoutMs, d.timeoutMs, true);
    this.#attemptTimeoutMs = positiveNumber('attemptTimeoutMs', o.attemptTimeoutMs, d.attemptTimeoutMs, true);
    const inheritAmbientDeadline = booleanOption(
      'inheritAmbientDeadline',
      o.inheritAmbientDeadline,
      d.inheritAmbientDeadline,
    );
    const propagateDeadline = booleanOption('propagateDeadline', o.propagateDeadline, d.propagateDeadline);
    const editStack = functionOption('stack', o.stack, identity);
    const editEndpointStack = functionOption('endpointStack', o.endpointStack, identity);

    const stack = editStack(
      defaultClientStack<HttpRequest, HttpResponse>({
        clock,
        adapter: httpAdapter,
        inheritAmbientDeadline,
        propagateDeadline,
      }),
    );
    const endpointStack = editEndpointStack(defaultEndpointStack<HttpRequest, HttpResponse>());
    if (typeof stack?.layers !== 'function')
      throw new ConfigError('stack', stack, 'the stack editor must return a Stack');
    if (typeof endpointStack?.layers !== 'function') {
      throw new ConfigError('endpointStack', endpointStack, 'the stack editor must return a Stack');
    }

    this.#clock = clock;
    this.name = o.name ?? o.authority ?? resolver.description;
    this.#origin = `${settings.scheme}://${o.authority ?? 'weft.invalid'}`;
    this.#discovery = new DiscoveredEndpoints(resolver, clock);
    this.#balancer = new Balancer<HttpRequest, HttpResponse>({
      destination: this.name,
      endpoints: this.#discovery,
      strategy,
      clock,
      makeEndpoint: (endpoint) =>
        buildEndpoint(endpointStack, new UndiciEndpoint(endpoint, settings), endpoint),
    });
    const balancer = this.#balancer;
    this.#call = composeFilters(stack.layers(), (req, ctx) => balancer.call(req, ctx));
    this.roles = stack.roles();
    this.dispatcher = new WeftDispatcher(this, () => this.close());
  }

  get strategy(): string {
    return this.#balancer.strategyName;
  }

  request(options: HttpRequestOptions): Promise<HttpResponse> {
    if (this.#closing !== undefined) return Promise.reject(new ClientClosedError({ destination: this.name }));
    let req: HttpRequest;
    let ctx: CallContext;
    try {
      req = requestFromOptions(options);
      ctx = new CallContext(this.name, options.signal);
      ctx.budgetMs = callTimeout('timeoutMs', options.timeoutMs, this.#timeoutMs);
      ctx.attemptTimeoutMs = callTimeout(
        'attemptTimeoutMs',
        options.attemptTimeoutMs,
        this.#attemptTimeoutMs,
      );
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#call(req, ctx);
  }

  /** @internal Used by the dispatcher. */
  callFromDispatch(
    req: HttpRequest,
    cancellation: Cancellation,
    overrides?: HttpCallOptions,
  ): Promise<HttpResponse> {
    if (this.#closing !== undefined) return Promise.reject(new ClientClosedError({ destination: this.name }));
    const ctx = new CallContext(this.name, undefined, cancellation);
    ctx.budgetMs = overrides?.timeoutMs ?? this.#timeoutMs;
    ctx.attemptTimeoutMs = overrides?.attemptTimeoutMs ?? this.#attemptTimeoutMs;
    return this.#call(req, ctx);
  }

  fetch(input: string | URL, init?: RequestInit & HttpCallOptions): Promise<Response> {
    let url: URL;
    try {
      url = toUrl(input, this.#origin);
    } catch (error) {
      return Promise.reject(error);
    }
    if (init?.timeoutMs === undefined && init?.attemptTimeoutMs === undefined) {
      return undiciFetch(url, { ...init, dispatcher: this.dispatcher });
    }
    let overrides: HttpCallOptions;
    try {
      overrides = {
        timeoutMs: callTimeout('timeoutMs', init.timeoutMs, this.#timeoutMs),
        attemptTimeoutMs: callTimeout('attemptTimeoutMs', init.attemptTimeoutMs, this.#attemptTimeoutMs),
      };
    } catch (error) {
      return Promise.reject(error);
    }
    const target = {
      callFromDispatch: (req: HttpRequest, cancellation: Cancellation) =>
        this.callFromDispatch(req, cancellation, overrides),
    };
    return undiciFetch(url, { ...init, dispatcher: new WeftDispatcher(target, () => Promise.resolve()) });
  }

  endpoints(): EndpointStats[] {
    const now = this.#clock.now();
    return this.#balancer.nodes.map((node) => ({
      address: node.address,
      status: node.service.status,
      pending: node.load.pending,
      cost: node.load.peek(now),
      weight: node.endpoint.weight,
    }));
  }

  discovery(): EndpointSetSnapshot {
    return this.#discovery.current;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#balancer.close();
      this.#discovery.close();
    })();
    return this.#closing;
  }
}

function identity<T>(value: T): T {
  return value;
}

function pickResolver(o: Partial<HttpClientOptions>): Resolver {
  if (o.endpoints !== undefined && o.resolver !== undefined) {
    throw new ConfigError('resolver', o.resolver, 'give either endpoints or resolver, not both');
  }
  if (o.resolver !== undefined) {
    const r = o.resolver;
    if (
      r === null ||
      typeof r !== 'object' ||
      typeof r.subscribe !== 'function' ||
      typeof r.close !== 'function'
    ) {
      throw new ConfigError('resolver', r, 'expected a Resolver such as dnsResolver(...)');
    }
    return r;
  }
  if (o.endpoints === undefined)
    throw new ConfigError('endpoints', undefined, 'give endpoints or a resolver');
  if (!Array.isArray(o.endpoints)) throw new ConfigError('endpoints', o.endpoints, 'expected an array');
  return staticResolver(o.endpoints);
}

function callTimeout(option: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : positiveNumber(option, value, fallback, true);
}

function requestFromOptions(options: HttpRequestOptions): HttpRequest {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('request', options, 'expected { path, method?, headers?, body? }');
  }
  let path = options.path;
  if (typeof path !== 'string' || path.charCodeAt(0) !== 47 /* / */) {
    throw new ConfigError('request.path', path, 'expected a path starting with "/"');
  }
  const method = options.method ?? 'GET';
  if (typeof method !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) {
    throw new ConfigError('request.method', method, 'expected an HTTP method token');
  }
  if (options.query !== undefined) {
    const query = new URLSearchParams(options.query as Record<string, string>).toString();
    if (query.length > 0) path += (path.includes('?') ? '&' : '?') + query;
  }
  return {
    method,
    path,
    headers: copyHeaders(options.headers, 'request.headers'),
    body: options.body ?? null,
    headersTimeout: options.headersTimeout,
    bodyTimeout: options.bodyTimeout,
  };
}

function toUrl(input: string | URL, origin: string): URL {
  if (input instanceof URL) return input;
  if (typeof input !== 'string')
    throw new ConfigError('fetch input', input, 'expected a path or a URL string');
  try {
    return input.startsWith('/') ? new URL(input, origin) : new URL(input);
  } catch {
    throw new ConfigError('fetch input', input, 'expected a path starting with "/" or an absolute URL');
  }
}
