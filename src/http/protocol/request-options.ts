/**
 * What one HTTP call takes: `client.request(options)` (undici's request shape) and the `init` of
 * `client.fetch()` (WHATWG RequestInit), each plus the per-call options every client shares
 * (src/client/options.ts). Every key is checked; the request is built here, validated, into the
 * weft-owned {@link HttpRequest} that travels down the stack.
 */
import type { RequestInit } from 'undici';
import { CALL_OPTION_KEYS, type CallOptions, resolveCallOptions } from '../../client/options.js';
import { ConfigError } from '../../core/errors.js';
import { optionKeys, positiveNumber, rejectUnknownKeys } from '../../core/options.js';
import {
  copyHeaders,
  type HeadersInput,
  type HttpBody,
  type HttpRequest,
  type HttpResponse,
} from './request.js';

/** Per-call options, on top of undici's request shape. */
export type HttpCallOptions = CallOptions<HttpRequest, HttpResponse>;

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

/** The keys `client.request()` takes: weft's request shape and the per-call options. Others throw. */
export const REQUEST_OPTION_KEYS: ReadonlySet<string> = new Set([
  ...optionKeys<Omit<HttpRequestOptions, keyof HttpCallOptions>>({
    path: true,
    method: true,
    headers: true,
    body: true,
    query: true,
    signal: true,
    headersTimeout: true,
    bodyTimeout: true,
  }),
  ...CALL_OPTION_KEYS,
]);

/**
 * The keys `client.fetch()` takes in `init`: the WHATWG `RequestInit` (undici's type, plus
 * `priority`, which the Fetch standard has and undici's type lacks) and the per-call options.
 * Others throw. `dispatcher` is allowed as a RequestInit key, but the client's own replaces it.
 */
export const FETCH_INIT_KEYS: ReadonlySet<string> = new Set([
  ...optionKeys<RequestInit & { priority?: unknown }>({
    method: true,
    headers: true,
    body: true,
    referrer: true,
    referrerPolicy: true,
    mode: true,
    credentials: true,
    cache: true,
    redirect: true,
    integrity: true,
    keepalive: true,
    signal: true,
    duplex: true,
    priority: true,
    window: true,
    dispatcher: true,
  }),
  ...CALL_OPTION_KEYS,
]);

const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Methods that skip the token check (a Set lookup is cheaper than the regex on every call). */
const COMMON_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/**
 * The weft per-call options in a `client.fetch()` init, validated, every key of `init` checked
 * against {@link FETCH_INIT_KEYS}; `undefined` when there are none (see `resolveCallOptions`).
 */
export function fetchCallOptions(init: RequestInit & HttpCallOptions): HttpCallOptions | undefined {
  if (init === undefined || init === null) return undefined;
  if (typeof init !== 'object') throw new ConfigError('fetch init', init, 'expected an object');
  rejectUnknownKeys('fetch', init, FETCH_INIT_KEYS);
  return resolveCallOptions(init);
}

/** The weft request for `client.request(options)`, validated, every key checked against {@link REQUEST_OPTION_KEYS}. */
export function requestFromOptions(options: HttpRequestOptions): HttpRequest {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('request', options, 'expected { path, method?, headers?, body? }');
  }
  rejectUnknownKeys('request', options, REQUEST_OPTION_KEYS);
  let path = options.path;
  if (typeof path !== 'string' || path.charCodeAt(0) !== 47 /* / */) {
    throw new ConfigError('request.path', path, 'expected a path starting with "/"');
  }
  const method = options.method ?? 'GET';
  if (!COMMON_METHODS.has(method) && (typeof method !== 'string' || !METHOD_TOKEN.test(method))) {
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
    headersTimeout:
      options.headersTimeout === undefined
        ? undefined
        : positiveNumber('request.headersTimeout', options.headersTimeout, 0),
    bodyTimeout:
      options.bodyTimeout === undefined
        ? undefined
        : positiveNumber('request.bodyTimeout', options.bodyTimeout, 0),
  };
}
