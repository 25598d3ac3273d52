/**
 * The HTTP transport: the bottom of every endpoint stack, one undici dispatcher per endpoint,
 * made once when the endpoint joins by the client's `dispatcherFactory` (undici Agent's `factory`
 * shape; default: a `Pool` with keep-alive connections, TLS and mTLS through `connect`, HTTP/2
 * only when asked for). Each attempt is dispatched with an {@link AttemptHandler}, which resolves
 * at the response headers with a streaming body, notes whether the request was written
 * (`ctx.requestWritten`, which decides what may be sent again after a failure) and aborts when the
 * call is cancelled. The endpoint owns its dispatcher: closing it closes the dispatcher, letting
 * in-flight requests finish, so an endpoint that leaves discovery never fails a request already
 * sent to it.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { type Dispatcher, Pool } from 'undici';
import type { CallContext } from '../../core/context.js';
import { ConfigError } from '../../core/errors.js';
import { optionKeys } from '../../core/options.js';
import type { Service, ServiceStatus } from '../../core/service.js';
import type { Endpoint } from '../../discovery/endpoint.js';
import type { HttpRequest, HttpResponse } from '../protocol/request.js';
import { AttemptHandler } from './attempt-handler.js';

/**
 * TLS options for `https` endpoints, a subset of node:tls connect options: the five below, which
 * weft checks, and the node:tls options picked here, which go to `tls.connect` as they are.
 */
export interface TlsOptions
  extends Pick<
    ConnectionOptions,
    | 'ciphers'
    | 'minVersion'
    | 'maxVersion'
    | 'pfx'
    | 'passphrase'
    | 'ecdhCurve'
    | 'sigalgs'
    | 'crl'
    | 'checkServerIdentity'
    | 'secureOptions'
  > {
  /** Trusted CA certificates (PEM). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate for mTLS (PEM). */
  cert?: string | Buffer;
  /** Client private key for mTLS (PEM). */
  key?: string | Buffer;
  /** SNI name and the name the certificate must match; default: the client's authority. */
  servername?: string;
  /** Default true. */
  rejectUnauthorized?: boolean;
}

/**
 * Makes the dispatcher of one endpoint, in undici Agent's `factory` shape: `origin` is
 * `http://host:port` (or `https://`), `options` what weft would give its own `Pool`
 * (`connections`, `pipelining`, `keepAliveTimeout`, `headersTimeout`, `bodyTimeout`, `allowH2`,
 * `connect` with the TLS settings). Called once per endpoint, when it joins. weft owns what it
 * returns and closes it when the endpoint leaves discovery or the client closes.
 */
export type DispatcherFactory = (origin: string, options: Pool.Options) => Dispatcher;

/** The default {@link DispatcherFactory}: an undici `Pool` per endpoint. */
export const defaultDispatcherFactory: DispatcherFactory = (origin, options) => new Pool(origin, options);

/** The keys of {@link TlsOptions}; any other key in `tls` throws a ConfigError. */
export const TLS_OPTION_KEYS = optionKeys<TlsOptions>({
  ca: true,
  cert: true,
  key: true,
  servername: true,
  rejectUnauthorized: true,
  ciphers: true,
  minVersion: true,
  maxVersion: true,
  pfx: true,
  passphrase: true,
  ecdhCurve: true,
  sigalgs: true,
  crl: true,
  checkServerIdentity: true,
  secureOptions: true,
});

/** Resolved transport settings for every endpoint of one client. */
export interface TransportSettings {
  readonly scheme: 'http' | 'https';
  readonly connections: number;
  readonly pipelining: number;
  readonly keepAliveTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly allowH2: boolean;
  readonly tls: TlsOptions | undefined;
  /** Host header and SNI name; undefined: the endpoint address. */
  readonly authority: string | undefined;
  /** Makes each endpoint's dispatcher. */
  readonly dispatcherFactory: DispatcherFactory;
}

export class UndiciEndpoint implements Service<HttpRequest, HttpResponse> {
  readonly #dispatcher: Dispatcher;
  readonly #origin: string;
  readonly #authority: string | undefined;
  #closed = false;

  constructor(endpoint: Endpoint, settings: TransportSettings) {
    const origin = `${settings.scheme}://${endpoint.address}`;
    const connect =
      settings.scheme === 'https'
        ? {
            timeout: settings.connectTimeoutMs,
            ...settings.tls,
            // SNI carries names only: with neither a servername nor an authority, an IP endpoint sends none.
            servername:
              settings.tls?.servername ?? hostOf(settings.authority) ?? nameOrUndefined(endpoint.host),
          }
        : { timeout: settings.connectTimeoutMs };
    this.#dispatcher = checkDispatcher(
      settings.dispatcherFactory(origin, {
        connections: settings.connections,
        pipelining: settings.pipelining,
        keepAliveTimeout: settings.keepAliveTimeoutMs,
        headersTimeout: settings.headersTimeoutMs,
        bodyTimeout: settings.bodyTimeoutMs,
        allowH2: settings.allowH2,
        connect,
      }),
      origin,
    );
    this.#origin = origin;
    this.#authority = settings.authority;
  }

  get status(): ServiceStatus {
    return this.#closed ? 'closed' : 'open';
  }

  /** Send one attempt, noting on `ctx` whether the request was written (for classification). */
  call(req: HttpRequest, ctx: CallContext): Promise<HttpResponse> {
    const headers = req.headers;
    if (this.#authority !== undefined && headers.host === undefined) headers.host = this.#authority;
    ctx.requestWritten = false;
    const { promise, resolve, reject } = Promise.withResolvers<HttpResponse>();
    const body = req.body;
    const handler = new AttemptHandler(ctx, req.method, body, resolve, reject);
    try {
      this.#dispatcher.dispatch(
        {
          method: req.method,
          path: req.path,
          headers,
          body: body as string | null | undefined,
          headersTimeout: req.headersTimeout,
          bodyTimeout: req.bodyTimeout,
          origin: this.#origin,
        } as Dispatcher.DispatchOptions,
        handler,
      );
    } catch (error) {
      // undici's own dispatchers report through the handler; a MockPool throws (no interceptor
      // matched). Either way the attempt fails through its promise, never out of call().
      handler.onResponseError(null, error as Error);
    }
    return promise;
  }

  /** Stop taking requests; closes the dispatcher, which lets in-flight requests finish. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#dispatcher.close();
  }
}

/** What `dispatcherFactory` returned, if it can carry requests and be closed; else a ConfigError. */
function checkDispatcher(dispatcher: unknown, origin: string): Dispatcher {
  const d = dispatcher as Partial<Dispatcher> | null;
  if (
    d === null ||
    (typeof d !== 'object' && typeof d !== 'function') ||
    typeof d.dispatch !== 'function' ||
    typeof d.close !== 'function' ||
    typeof d.destroy !== 'function'
  ) {
    throw new ConfigError(
      'dispatcherFactory',
      dispatcher,
      `it returned this for ${origin}; expected an undici Dispatcher with dispatch(), close() and destroy(), such as a Pool or a MockPool`,
    );
  }
  return d as Dispatcher;
}

function hostOf(authority: string | undefined): string | undefined {
  if (authority === undefined) return undefined;
  if (authority.startsWith('[')) return authority.slice(1, authority.indexOf(']'));
  const colon = authority.lastIndexOf(':');
  return colon > 0 ? authority.slice(0, colon) : authority;
}

function nameOrUndefined(host: string): string | undefined {
  return isIP(host) === 0 ? host : undefined;
}
