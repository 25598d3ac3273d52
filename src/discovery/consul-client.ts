/**
 * The Consul resolver's HTTP client: one GET that may block (Consul's long poll), answered with
 * its status, its `X-Consul-Index` and its JSON body, the ACL token sent as `X-Consul-Token`. It
 * uses node:http(s) rather than undici: undici is the http/ layer's transport, and the dependency
 * rules (.dependency-cruiser.cjs) keep it out of discovery/. Connections are kept alive, so a
 * blocking query does not cost a handshake. The caller gives each request its time limit (for a
 * blocking query: its `wait` plus what the server may add, see ./consul.ts).
 */
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** Consul answered with an error status, or a request to it failed or timed out. */
export class ConsulApiError extends Error {
  /** The HTTP status, if an answer came. */
  readonly status: number | undefined;
  /** The request path, without the address. */
  readonly path: string;

  constructor(path: string, status: number | undefined, message: string, cause?: unknown) {
    super(
      `Consul ${path}: ${status === undefined ? '' : `${status} `}${message}`,
      cause === undefined ? undefined : { cause },
    );
    this.name = 'ConsulApiError';
    this.status = status;
    this.path = path;
  }
}

/** An answer: status, `X-Consul-Index` (undefined when absent or not a number) and the body. */
export interface ConsulResponse {
  readonly status: number;
  readonly index: number | undefined;
  readonly body: unknown;
  /** The body as text, for error messages. */
  readonly text: string;
}

/** Where Consul is and how to talk to it. */
export interface ConsulConnection {
  readonly address: URL;
  readonly token: string | undefined;
  /** PEM CA bundle for an https address; undefined: the system's CAs. */
  readonly ca: string | undefined;
}

/** A client for one Consul agent or server; {@link close} aborts what is in flight. */
export class ConsulApiClient {
  readonly #connection: ConsulConnection;
  readonly #agent: HttpAgent;
  readonly #inFlight = new Set<ClientRequest>();
  #closed = false;

  constructor(connection: ConsulConnection) {
    this.#connection = connection;
    this.#agent =
      connection.address.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true, ...(connection.ca === undefined ? {} : { ca: connection.ca }) })
        : new HttpAgent({ keepAlive: true });
  }

  /** GET `path`; rejects when no full answer came within `timeoutMs`. */
  get(path: string, timeoutMs: number): Promise<ConsulResponse> {
    if (this.#closed) return Promise.reject(new ConsulApiError(path, undefined, 'the resolver was closed'));
    // An address with a path (Consul behind a proxy) keeps it: the API path goes under it.
    const base = this.#connection.address;
    const url = new URL(`${base.pathname.replace(/\/$/, '')}${path}`, base);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const token = this.#connection.token;
    return new Promise<ConsulResponse>((resolve, reject) => {
      const req = send(url, {
        method: 'GET',
        agent: this.#agent,
        headers: {
          accept: 'application/json',
          'user-agent': 'weft-consul-resolver',
          ...(token === undefined ? {} : { 'x-consul-token': token }),
        },
      });
      this.#inFlight.add(req);
      const fail = (error: unknown) =>
        reject(
          error instanceof ConsulApiError
            ? error
            : new ConsulApiError(path, undefined, (error as Error).message ?? String(error), error),
        );
      const timer = setTimeout(() => {
        req.destroy(new ConsulApiError(path, undefined, `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      req.on('close', () => {
        clearTimeout(timer);
        this.#inFlight.delete(req);
      });
      req.on('error', fail);
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('aborted', () => fail(new ConsulApiError(path, res.statusCode, 'the answer was cut')));
        res.on('end', () => {
          if (!res.complete) return fail(new ConsulApiError(path, res.statusCode, 'the answer was cut'));
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            body = undefined;
          }
          const header = res.headers['x-consul-index'];
          const index = typeof header === 'string' && /^[0-9]+$/.test(header) ? Number(header) : undefined;
          resolve({ status: res.statusCode ?? 0, index, body, text });
        });
      });
      req.end();
    });
  }

  /** Abort every request in flight and drop idle connections. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const req of this.#inFlight)
      req.destroy(new ConsulApiError(req.path, undefined, 'the resolver was closed'));
    this.#inFlight.clear();
    this.#agent.destroy();
  }
}
