/**
 * createHttpClient: the HTTP facade over the stack client (src/client/stack-client.ts). It
 * validates the options once (the shared ones and the transport's), gives the stack client the
 * HTTP protocol (./protocol/client-protocol.ts: the adapter, an undici dispatcher per endpoint, a
 * Pool unless `dispatcherFactory` says otherwise), and offers three ways in that all run through
 * the same stack: `request()` (undici's request shape), `fetch()` (WHATWG fetch) and `dispatcher`
 * (an undici Dispatcher). Defaults: docs/http-client.md.
 */
import { type Dispatcher, type RequestInit, type Response, fetch as undiciFetch } from 'undici';
import type { ClientView, EndpointStats } from '../client/client-view.js';
import { resolveCallOptions, resolveClientOptions } from '../client/options.js';
import { createStackClient, type StackClient } from '../client/stack-client.js';
import type { Cancellation } from '../core/cancellation.js';
import { ClientClosedError, ConfigError } from '../core/errors.js';
import type { EndpointSetSnapshot } from '../discovery/endpoint-set.js';
import type { AdaptiveThrottleStats } from '../policies/adaptive-throttle.js';
import type { CircuitBreakerHandle } from '../policies/circuit-breaker.js';
import type { HedgeStats } from '../policies/hedge.js';
import type { RetryBudget } from '../policies/retry-budget.js';
import { checkHttpClientOptions, HTTP_CLIENT_DEFAULTS, type HttpClientOptions } from './client-options.js';
import { WeftDispatcher } from './dispatch/dispatcher.js';
import { httpProtocol } from './protocol/client-protocol.js';
import type { HttpRequest, HttpResponse } from './protocol/request.js';
import {
  fetchCallOptions,
  type HttpCallOptions,
  type HttpRequestOptions,
  requestFromOptions,
} from './protocol/request-options.js';
import { resolveTransportOptions } from './transport/options.js';

/** What `endpoints()` returns, for code that reads HTTP clients (the admin page). */
export type { EndpointStats };

/** A weft HTTP client. Create with {@link createHttpClient}. */
export interface HttpClient extends ClientView {
  /** undici's request shape; resolves at the response headers with a streaming body. */
  request(options: HttpRequestOptions): Promise<HttpResponse>;
  /** WHATWG fetch through the stack. A path (`/users`) or any URL: only its path and query are used. */
  fetch(input: string | URL, init?: RequestInit & HttpCallOptions): Promise<Response>;
  /** The client as an undici Dispatcher, for `fetch(url, { dispatcher })` and `setGlobalDispatcher`. */
  readonly dispatcher: Dispatcher;
}

/** Create an HTTP client. Every option is validated here; a bad one throws {@link ConfigError}. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  return new WeftHttpClient(options);
}

class WeftHttpClient implements HttpClient {
  readonly name: string;
  readonly dispatcher: Dispatcher;
  readonly retryBudget: RetryBudget;
  readonly hedgeStats: HedgeStats | undefined;
  readonly circuitBreaker: CircuitBreakerHandle | undefined;
  readonly roles: readonly string[];
  readonly #client: StackClient<HttpRequest, HttpResponse>;
  readonly #origin: string;
  readonly #placeholderOrigin: string | undefined;

  constructor(options: HttpClientOptions) {
    const o = checkHttpClientOptions(options);
    const transport = resolveTransportOptions(o);
    const shared = resolveClientOptions(o, {
      name: transport.authority,
      replayBufferBytes: HTTP_CLIENT_DEFAULTS.replayBufferBytes,
    });
    const client = createStackClient(httpProtocol(transport, shared.retry?.replayBufferBytes), shared);
    this.#client = client;
    this.name = client.name;
    this.retryBudget = client.retryBudget;
    this.hedgeStats = client.hedgeStats;
    this.circuitBreaker = client.circuitBreaker;
    this.roles = client.roles;
    this.#origin = `${transport.scheme}://${transport.authority ?? 'weft.invalid'}`;
    this.#placeholderOrigin = transport.authority === undefined ? this.#origin : undefined;
    this.dispatcher = new WeftDispatcher(this, () => this.close(), this.#placeholderOrigin);
  }

  get strategy(): string {
    return this.#client.strategy;
  }

  request(options: HttpRequestOptions): Promise<HttpResponse> {
    const client = this.#client;
    if (client.closed) return Promise.reject(new ClientClosedError({ destination: client.name }));
    let req: HttpRequest;
    let call: HttpCallOptions | undefined;
    try {
      req = requestFromOptions(options);
      call = resolveCallOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return client.call(req, call, options.signal, undefined);
  }

  /** @internal Used by the dispatcher: `call` was validated by `resolveCallOptions`. */
  callFromDispatch(
    req: HttpRequest,
    cancellation: Cancellation,
    call?: HttpCallOptions,
  ): Promise<HttpResponse> {
    return this.#client.call(req, call, undefined, cancellation);
  }

  fetch(input: string | URL, init?: RequestInit & HttpCallOptions): Promise<Response> {
    let url: URL;
    let call: HttpCallOptions | undefined;
    try {
      url = toUrl(input, this.#origin);
      call = init === undefined ? undefined : fetchCallOptions(init);
    } catch (error) {
      return Promise.reject(error);
    }
    if (call === undefined) return undiciFetch(url, { ...init, dispatcher: this.dispatcher });
    const target = {
      callFromDispatch: (req: HttpRequest, cancellation: Cancellation) =>
        this.callFromDispatch(req, cancellation, call),
    };
    return undiciFetch(url, {
      ...init,
      dispatcher: new WeftDispatcher(target, () => Promise.resolve(), this.#placeholderOrigin),
    });
  }

  throttleStats(): AdaptiveThrottleStats | undefined {
    return this.#client.throttleStats();
  }

  endpoints(): EndpointStats[] {
    return this.#client.endpoints();
  }

  discovery(): EndpointSetSnapshot {
    return this.#client.discovery();
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}

function toUrl(input: string | URL, origin: string): URL {
  let url: URL;
  if (input instanceof URL) url = input;
  else if (typeof input !== 'string') {
    throw new ConfigError('fetch input', input, 'expected a path or a URL string');
  } else {
    try {
      url = input.startsWith('/') ? new URL(input, origin) : new URL(input);
    } catch {
      throw new ConfigError('fetch input', input, 'expected a path starting with "/" or an absolute URL');
    }
  }
  // fetch would refuse it with a TypeError that repeats the URL, credentials included.
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      'fetch input',
      url.href,
      'a URL with credentials cannot be fetched; send them in an authorization header',
    );
  }
  return url;
}
