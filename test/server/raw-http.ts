/**
 * Plain node:http requests for the server half's tests: full control of the headers and of the
 * connection (a keep-alive agent with one socket), and a request the test can abort.
 */
import { type Agent, type ClientRequest, type IncomingHttpHeaders, request } from 'node:http';

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: unknown;
}

export interface RawRequest {
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Record<string, string>;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly agent?: Agent;
}

/** Send one request to 127.0.0.1:`port`; `started` gets the ClientRequest (to abort it). */
export function send(
  port: number,
  r: RawRequest,
  started?: (req: ClientRequest) => void,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const payload = r.body === undefined ? undefined : JSON.stringify(r.body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: r.method ?? 'GET',
        path: r.path,
        agent: r.agent,
        headers: {
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...r.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    started?.(req);
    req.end(payload);
  });
}
