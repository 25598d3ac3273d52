/**
 * The options of createHttpClient: the ones every client shares (src/client/options.ts) and the
 * HTTP transport's own (./transport/options.ts), with their defaults in one table and one check
 * for unknown keys against both lists. Validated once, at construction.
 */
import { CLIENT_DEFAULTS, CLIENT_OPTION_KEYS, type ClientOptions } from '../client/options.js';
import { ConfigError } from '../core/errors.js';
import { objectOption, rejectUnknownKeys } from '../core/options.js';
import type { HttpRequest, HttpResponse } from './protocol/request.js';
import {
  HTTP_TRANSPORT_DEFAULTS,
  HTTP_TRANSPORT_OPTION_KEYS,
  type HttpTransportOptions,
} from './transport/options.js';
import { DEFAULT_REPLAY_BUFFER_BYTES } from './transport/replayable-body.js';

/** Defaults of {@link createHttpClient}; docs/http-client.md gives the source of each. */
export const HTTP_CLIENT_DEFAULTS = {
  scheme: HTTP_TRANSPORT_DEFAULTS.scheme,
  timeoutMs: CLIENT_DEFAULTS.timeoutMs,
  attemptTimeoutMs: CLIENT_DEFAULTS.attemptTimeoutMs,
  connections: HTTP_TRANSPORT_DEFAULTS.connections,
  pipelining: HTTP_TRANSPORT_DEFAULTS.pipelining,
  keepAliveTimeoutMs: HTTP_TRANSPORT_DEFAULTS.keepAliveTimeoutMs,
  connectTimeoutMs: HTTP_TRANSPORT_DEFAULTS.connectTimeoutMs,
  headersTimeoutMs: HTTP_TRANSPORT_DEFAULTS.headersTimeoutMs,
  bodyTimeoutMs: HTTP_TRANSPORT_DEFAULTS.bodyTimeoutMs,
  http2: HTTP_TRANSPORT_DEFAULTS.http2,
  inheritAmbientDeadline: CLIENT_DEFAULTS.inheritAmbientDeadline,
  propagateDeadline: CLIENT_DEFAULTS.propagateDeadline,
  maxAttempts: CLIENT_DEFAULTS.maxAttempts,
  backoffInitialMs: CLIENT_DEFAULTS.backoffInitialMs,
  backoffMaxMs: CLIENT_DEFAULTS.backoffMaxMs,
  retryAfterCapMs: CLIENT_DEFAULTS.retryAfterCapMs,
  replayBufferBytes: DEFAULT_REPLAY_BUFFER_BYTES,
} as const;

/** Options of {@link createHttpClient}. Exactly one of `endpoints` and `resolver` is required. */
export interface HttpClientOptions extends ClientOptions<HttpRequest, HttpResponse>, HttpTransportOptions {}

/** The keys of {@link HttpClientOptions}; any other key throws a ConfigError. */
export const HTTP_CLIENT_OPTION_KEYS: ReadonlySet<string> = new Set([
  ...CLIENT_OPTION_KEYS,
  ...HTTP_TRANSPORT_OPTION_KEYS,
]);

/** `options` as an object whose every key createHttpClient knows; throws ConfigError otherwise. */
export function checkHttpClientOptions(options: HttpClientOptions): Partial<HttpClientOptions> {
  if (options === undefined)
    throw new ConfigError('options', options, 'expected { endpoints } or { resolver }');
  const o = objectOption<HttpClientOptions>('options', options);
  rejectUnknownKeys('', o, HTTP_CLIENT_OPTION_KEYS);
  return o;
}
