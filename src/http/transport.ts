/**
 * The HTTP transport: the bottom of every endpoint stack, one undici `Pool` per endpoint
 * (keep-alive connections, TLS and mTLS through `connect`, HTTP/2 only when asked for). It
 * resolves at the response headers with a streaming body, and classifies each attempt's outcome
 * (ctx.classification) because only it knows whether the request was written when it failed. Closing it lets in-flight requests
 * finish, so an endpoint that leaves discovery never fails a request already sent to it.
 */
import { isIP } from 'node:net';
import { type Dispatcher, Pool } from 'undici';
import { IGNORABLE, type Outcome, type ResponseClass } from '../core/classification.js';
import type { CallContext } from '../core/context.js';
import { WeftError } from '../core/errors.js';
import type { Service, ServiceStatus } from '../core/service.js';
import type { Endpoint } from '../discovery/endpoint.js';
import type { HttpClassifier } from './classifier.js';
import type { HttpRequest, HttpResponse } from './request.js';
import { CONTEXT_KEY, writeTracking } from './write-tracking.js';

/** TLS options for `https` endpoints (node:tls connect options, subset). */
export interface TlsOptions {
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
  /** The client's classifier, falling back to the default: it always answers. */
  readonly classifier: (
    req: HttpRequest,
    outcome: Outcome<HttpResponse>,
    idempotent: boolean,
  ) => ResponseClass;
}

export class UndiciEndpoint implements Service<HttpRequest, HttpResponse> {
  readonly #pool: Pool;
  /** The pool behind the write-tracking interceptor, for requests that are not idempotent. */
  readonly #tracking: Dispatcher;
  readonly #origin: string;
  readonly #authority: string | undefined;
  readonly #classifier: (
    req: HttpRequest,
    outcome: Outcome<HttpResponse>,
    idempotent: boolean,
  ) => ResponseClass;
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
    this.#pool = new Pool(origin, {
      connections: settings.connections,
      pipelining: settings.pipelining,
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      headersTimeout: settings.headersTimeoutMs,
      bodyTimeout: settings.bodyTimeoutMs,
      allowH2: settings.allowH2,
      connect,
    });
    this.#tracking = this.#pool.compose(writeTracking);
    this.#origin = origin;
    this.#authority = settings.authority;
    this.#classifier = settings.classifier;
  }

  get status(): ServiceStatus {
    return this.#closed ? 'closed' : 'open';
  }

  /** Send one attempt. Its outcome is classified in {@link settled}, which the balancer calls. */
  call(req: HttpRequest, ctx: CallContext): Promise<HttpResponse> {
    const headers = req.headers;
    if (this.#authority !== undefined && headers.host === undefined) headers.host = this.#authority;
    // Whether the request was written decides only what may be sent again when it is NOT
    // idempotent; tracking it costs a handler wrapper per request, so idempotent ones skip it.
    const tracked = !ctx.idempotent;
    ctx.requestWritten = !tracked;
    ctx.request = req;
    return (tracked ? this.#tracking : this.#pool).request({
      method: req.method,
      path: req.path,
      headers,
      body: req.body as string | null,
      // undici takes an EventEmitter-shaped signal too; weft's Cancellation is one (see core/cancellation.ts).
      signal: (ctx.cancellation as unknown as AbortSignal | undefined) ?? ctx.signal ?? null,
      headersTimeout: req.headersTimeout,
      bodyTimeout: req.bodyTimeout,
      origin: this.#origin,
      [CONTEXT_KEY]: tracked ? ctx : undefined,
    } as Dispatcher.RequestOptions) as Promise<HttpResponse>;
  }

  /** Classify the attempt's outcome onto `ctx.classification` (only the transport knows `written`). */
  settled(ctx: CallContext, outcome: unknown, failed: boolean): void {
    const req = ctx.request as HttpRequest;
    if (failed) {
      ctx.classification = this.#classifyError(req, ctx, outcome);
      return;
    }
    const result = { response: outcome as HttpResponse, written: true } as const;
    ctx.classification =
      (ctx.classifier as HttpClassifier | undefined)?.(req, result, ctx.idempotent) ??
      this.#classifier(req, result, ctx.idempotent);
  }

  #classifyError(req: HttpRequest, ctx: CallContext, error: unknown): ResponseClass {
    // The caller's own abort says nothing about this endpoint.
    if (error === ctx.cancelledReason() && !(error instanceof WeftError)) return IGNORABLE;
    const outcome = { error, written: ctx.requestWritten } as const;
    return (
      (ctx.classifier as HttpClassifier | undefined)?.(req, outcome, ctx.idempotent) ??
      this.#classifier(req, outcome, ctx.idempotent)
    );
  }

  /** Stop taking requests; resolves once in-flight requests have finished. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
  }

  /** Close at once, failing in-flight requests. */
  async destroy(): Promise<void> {
    this.#closed = true;
    await this.#pool.destroy();
  }
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
