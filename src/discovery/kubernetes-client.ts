/**
 * The Kubernetes resolver's HTTP client: GET a JSON object, or hold a watch open and hand over
 * each JSON line of its stream (the API's watch encoding: one `{"type","object"}` per line), with
 * bearer-token or client-certificate auth and TLS verified against the configured CA. It uses
 * node:https rather than undici: undici is the http/ layer's transport and the dependency rules
 * (.dependency-cruiser.cjs) keep it out of discovery/, and node:https takes the CA, certificate and
 * key directly. Connections are kept alive. Request timeout: 10 s of silence (weft's choice; the
 * API server answers a list from its watch cache); a watch may be silent until its own
 * `timeoutSeconds` plus 30 s, after which it is presumed dead (half-open TCP) and cut.
 */
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { KubernetesConnection } from './kubernetes-config.js';

/** Longest watch line accepted (bytes): a guard against a stream that never sends a newline. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * The API server answered with an error status (HTTP, or a watch `ERROR` event's Status), or a
 * request to it failed. `status` is the HTTP status or the Status `code` (410 for an expired
 * resourceVersion); `reason` the Status `reason` (`NotFound`, `Expired`, `Forbidden`...).
 */
export class KubernetesApiError extends Error {
  readonly status: number | undefined;
  readonly reason: string | undefined;
  /** The request path, without the server. */
  readonly path: string;

  constructor(
    path: string,
    status: number | undefined,
    reason: string | undefined,
    message: string,
    cause?: unknown,
  ) {
    super(
      `Kubernetes API ${path}: ${status === undefined ? '' : `${status} `}${reason ? `${reason}: ` : ''}${message}`,
      cause === undefined ? undefined : { cause },
    );
    this.name = 'KubernetesApiError';
    this.status = status;
    this.reason = reason;
    this.path = path;
  }
}

/** The answer to a GET: status and parsed body (undefined if it was not JSON). */
export interface KubernetesResponse {
  readonly status: number;
  readonly body: unknown;
}

/** A client for one API server; {@link close} aborts what is in flight. */
export class KubernetesApiClient {
  readonly #connection: KubernetesConnection;
  readonly #agent: HttpAgent;
  readonly #requestTimeoutMs: number;
  readonly #inFlight = new Set<ClientRequest>();
  #closed = false;

  constructor(connection: KubernetesConnection, requestTimeoutMs: number) {
    this.#connection = connection;
    this.#requestTimeoutMs = requestTimeoutMs;
    const tls = connection.server.protocol === 'https:';
    this.#agent = tls
      ? new HttpsAgent({
          keepAlive: true,
          ...(connection.ca === undefined ? {} : { ca: connection.ca }),
          ...(connection.cert === undefined ? {} : { cert: connection.cert }),
          ...(connection.key === undefined ? {} : { key: connection.key }),
          rejectUnauthorized: !connection.insecureSkipTlsVerify,
          ...(connection.tlsServerName === undefined ? {} : { servername: connection.tlsServerName }),
        })
      : new HttpAgent({ keepAlive: true });
  }

  /** GET `path` and parse the JSON body; rejects only when no answer arrived. */
  async get(path: string): Promise<KubernetesResponse> {
    const res = await this.#open(path, this.#requestTimeoutMs);
    const text = await readBody(res, path);
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.statusCode ?? 0, body };
  }

  /**
   * Open a watch on `path`: `onOpen` once the server accepted it (200), then `onLine` with each
   * parsed line. Resolves when the server ends the stream; rejects with a {@link KubernetesApiError}
   * for an error status (the Status body's reason and message), with the socket's error when the
   * stream breaks or a line is not JSON, and with what `onLine` throws (the stream is then cut).
   */
  async watch(
    path: string,
    silentLimitMs: number,
    onOpen: () => void,
    onLine: (line: unknown) => void,
  ): Promise<void> {
    const res = await this.#open(path, silentLimitMs);
    const status = res.statusCode ?? 0;
    if (status !== 200) throw statusError(path, status, await readBody(res, path));
    onOpen();
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      let failed = false;
      const fail = (error: Error) => {
        if (failed) return;
        failed = true;
        res.destroy();
        reject(error);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let newline = buffered.indexOf('\n');
        while (newline !== -1 && !failed) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if (line === '') continue;
          let parsed: unknown;
          try {
            parsed = JSON.parse(line);
          } catch (error) {
            fail(new KubernetesApiError(path, undefined, undefined, 'a watch line is not JSON', error));
            return;
          }
          try {
            onLine(parsed);
          } catch (error) {
            fail(error instanceof Error ? error : new Error(String(error)));
            return;
          }
        }
        if (buffered.length > MAX_LINE_BYTES) {
          fail(
            new KubernetesApiError(
              path,
              undefined,
              undefined,
              `a watch line exceeds ${MAX_LINE_BYTES} bytes`,
            ),
          );
        }
      });
      res.on('error', fail);
      res.on('aborted', () =>
        fail(new KubernetesApiError(path, undefined, undefined, 'the watch stream was cut')),
      );
      res.on('end', () => {
        if (failed) return;
        if (!res.complete)
          fail(new KubernetesApiError(path, undefined, undefined, 'the watch stream was cut'));
        else resolve();
      });
    });
  }

  /** Abort every request in flight and drop idle connections. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const req of this.#inFlight) req.destroy(new Error('the Kubernetes resolver was closed'));
    this.#inFlight.clear();
    this.#agent.destroy();
  }

  async #open(path: string, silentLimitMs: number): Promise<IncomingMessage> {
    if (this.#closed) throw new Error('the Kubernetes resolver was closed');
    const token = await this.#connection.token();
    // A server URL with a path (an API proxy, e.g. Rancher's) keeps it: the API path goes under it.
    const base = this.#connection.server;
    const url = new URL(`${base.pathname.replace(/\/$/, '')}${path}`, base);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, {
        method: 'GET',
        agent: this.#agent,
        headers: {
          accept: 'application/json',
          'user-agent': 'weft-kubernetes-resolver',
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
      });
      this.#inFlight.add(req);
      req.on('close', () => this.#inFlight.delete(req));
      req.setTimeout(silentLimitMs, () => {
        req.destroy(
          new KubernetesApiError(
            path,
            undefined,
            undefined,
            `no data for ${silentLimitMs} ms; connection presumed dead`,
          ),
        );
      });
      req.on('response', resolve);
      req.on('error', (error) =>
        reject(
          error instanceof KubernetesApiError
            ? error
            : new KubernetesApiError(path, undefined, undefined, error.message, error),
        ),
      );
      req.end();
    });
  }
}

function readBody(res: IncomingMessage, path: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', (error) =>
      reject(new KubernetesApiError(path, res.statusCode, undefined, error.message, error)),
    );
    res.on('aborted', () =>
      reject(new KubernetesApiError(path, res.statusCode, undefined, 'the response was cut')),
    );
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** A KubernetesApiError from an error status and its body (a `Status` object when the server sent one). */
export function statusError(path: string, status: number, body: unknown): KubernetesApiError {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
  }
  const object = (parsed ?? {}) as { reason?: unknown; message?: unknown };
  const reason = typeof object.reason === 'string' ? object.reason : undefined;
  const message =
    typeof object.message === 'string'
      ? object.message
      : typeof body === 'string' && body !== ''
        ? body.slice(0, 200)
        : 'error';
  return new KubernetesApiError(path, status, reason, message);
}
