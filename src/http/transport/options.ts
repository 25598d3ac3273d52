/**
 * The HTTP client's own options: scheme and authority, the undici pool of each endpoint (its
 * connections, pipelining and timeouts), HTTP/2, TLS and the dispatcher factory. Their types,
 * defaults (undici's, except where noted; docs/http-client.md) and their validation into the
 * settings every endpoint's transport is built from (./transport.ts). The options every protocol
 * shares are src/client/options.ts.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../../core/errors.js';
import {
  booleanOption,
  functionOption,
  integerAtLeast,
  objectOption,
  oneOf,
  optionKeys,
  positiveNumber,
} from '../../core/options.js';
import {
  type DispatcherFactory,
  defaultDispatcherFactory,
  TLS_OPTION_KEYS,
  type TlsOptions,
  type TransportSettings,
} from './transport.js';

/** Defaults of {@link HttpTransportOptions}; docs/http-client.md gives the source of each. */
export const HTTP_TRANSPORT_DEFAULTS = {
  scheme: 'http',
  connections: 64,
  pipelining: 1,
  keepAliveTimeoutMs: 4_000,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 300_000,
  bodyTimeoutMs: 300_000,
  http2: false,
} as const;

/** How an HTTP client reaches its endpoints. */
export interface HttpTransportOptions {
  /** `http` or `https`. Default `http`. */
  scheme?: 'http' | 'https';
  /** Host header and TLS server name (e.g. `api.internal`). Default: each endpoint's address. */
  authority?: string;
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
  /**
   * Makes each endpoint's undici dispatcher, in undici Agent's `factory` shape: called once per
   * endpoint with its origin and the Pool options weft would use. weft closes what it returns
   * when the endpoint leaves or the client closes. In tests, `mockAgentFactory(mockAgent)` from
   * `weft/testing` sends weft's requests to an undici MockAgent (docs/testing.md).
   * Default: `(origin, options) => new Pool(origin, options)`.
   */
  dispatcherFactory?: DispatcherFactory;
}

/** The keys of {@link HttpTransportOptions}; the HTTP client accepts these and the shared ones. */
export const HTTP_TRANSPORT_OPTION_KEYS = optionKeys<HttpTransportOptions>({
  scheme: true,
  authority: true,
  connections: true,
  pipelining: true,
  keepAliveTimeoutMs: true,
  connectTimeoutMs: true,
  headersTimeoutMs: true,
  bodyTimeoutMs: true,
  http2: true,
  tls: true,
  dispatcherFactory: true,
});

/** `authority`, validated: host or host:port, or undefined. */
function authorityOption(value: unknown): string | undefined {
  if (value !== undefined && (typeof value !== 'string' || !/^[^\s/?#@]+$/.test(value))) {
    throw new ConfigError('authority', value, 'expected host or host:port');
  }
  return value;
}

/**
 * Validate the transport options in `o` (`endpoints` too, for the scheme its URLs name) and fill
 * in their defaults; throws ConfigError naming the first bad option.
 */
export function resolveTransportOptions(
  o: HttpTransportOptions & { readonly endpoints?: unknown },
): TransportSettings {
  const d = HTTP_TRANSPORT_DEFAULTS;
  const authority = authorityOption(o.authority);
  const targetScheme = schemeOfTargets(o.endpoints);
  const scheme = oneOf('scheme', o.scheme, ['http', 'https'] as const, targetScheme ?? d.scheme);
  if (targetScheme !== undefined && targetScheme !== scheme) {
    throw new ConfigError('scheme', scheme, `the endpoints are ${targetScheme}:// URLs`);
  }
  const allowH2 = booleanOption('http2', o.http2, d.http2);
  if (allowH2 && scheme !== 'https') {
    throw new ConfigError('http2', o.http2, 'HTTP/2 is negotiated by ALPN over TLS: it needs scheme "https"');
  }
  if (o.tls !== undefined && scheme !== 'https')
    throw new ConfigError('tls', o.tls, 'tls options need scheme "https"');
  return {
    scheme,
    connections: integerAtLeast('connections', o.connections, 1, d.connections),
    pipelining: integerAtLeast('pipelining', o.pipelining, 1, d.pipelining),
    keepAliveTimeoutMs: positiveNumber('keepAliveTimeoutMs', o.keepAliveTimeoutMs, d.keepAliveTimeoutMs),
    connectTimeoutMs: positiveNumber('connectTimeoutMs', o.connectTimeoutMs, d.connectTimeoutMs),
    headersTimeoutMs: positiveNumber('headersTimeoutMs', o.headersTimeoutMs, d.headersTimeoutMs),
    bodyTimeoutMs: positiveNumber('bodyTimeoutMs', o.bodyTimeoutMs, d.bodyTimeoutMs),
    allowH2,
    tls: o.tls === undefined ? undefined : checkTls(o.tls),
    authority,
    dispatcherFactory: functionOption('dispatcherFactory', o.dispatcherFactory, defaultDispatcherFactory),
  };
}

/** The scheme that URL targets name (`https://...`), if any; mixed schemes are an error. */
function schemeOfTargets(targets: unknown): 'http' | 'https' | undefined {
  if (!Array.isArray(targets)) return undefined;
  let found: 'http' | 'https' | undefined;
  targets.forEach((target, i) => {
    if (typeof target !== 'string') return;
    const match = /^(https?):\/\//i.exec(target);
    if (match === null) return;
    const scheme = match[1]!.toLowerCase() as 'http' | 'https';
    if (found !== undefined && found !== scheme) {
      throw new ConfigError(
        `endpoints[${i}]`,
        target,
        `all URL endpoints must share one scheme; an earlier one is ${found}`,
      );
    }
    found = scheme;
  });
  return found;
}

function checkTls(value: unknown): TlsOptions {
  const tls = objectOption<TlsOptions>('tls', value, TLS_OPTION_KEYS);
  const pem = (v: unknown) => typeof v === 'string' || Buffer.isBuffer(v);
  if (tls.ca !== undefined && !(pem(tls.ca) || (Array.isArray(tls.ca) && tls.ca.every(pem)))) {
    throw new ConfigError('tls.ca', tls.ca, 'expected PEM text or a Buffer, or an array of them');
  }
  if (tls.cert !== undefined && !pem(tls.cert))
    throw new ConfigError('tls.cert', tls.cert, 'expected PEM text or a Buffer');
  if (tls.key !== undefined && !pem(tls.key))
    throw new ConfigError('tls.key', tls.key, 'expected PEM text or a Buffer');
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new ConfigError(
      tls.cert === undefined ? 'tls.cert' : 'tls.key',
      undefined,
      'mTLS needs both cert and key',
    );
  }
  if (
    tls.servername !== undefined &&
    (typeof tls.servername !== 'string' || tls.servername.length === 0 || isIP(tls.servername) !== 0)
  ) {
    throw new ConfigError(
      'tls.servername',
      tls.servername,
      'expected a DNS name (SNI does not carry IP addresses)',
    );
  }
  booleanOption('tls.rejectUnauthorized', tls.rejectUnauthorized, true);
  return tls as TlsOptions;
}
