/**
 * Loopback HTTP backends for tests: real node:http servers on 127.0.0.1 with a handler of the
 * test's choosing, a log of what each server saw, and one call that closes them all.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface Backend {
  readonly server: Server;
  readonly port: number;
  readonly address: string;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => unknown;

/** Start one backend on a loopback `host` (port 0 = any free port). */
export async function startBackend(handler: Handler, port = 0, host = '127.0.0.1'): Promise<Backend> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      void Promise.resolve(handler(req, res, body)).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    address: `${host}:${actual}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reply 200 with `text` after `delayMs`. */
export function replyAfter(delayMs: number, text = 'ok'): Handler {
  return (_req, res) => {
    const send = () => {
      res.setHeader('content-type', 'text/plain');
      res.end(text);
    };
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  };
}

/** Keeps every backend a test starts and closes them all. */
export class Backends {
  readonly #all: Backend[] = [];

  async start(handler: Handler): Promise<Backend> {
    const backend = await startBackend(handler);
    this.#all.push(backend);
    return backend;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#all.splice(0).map((b) => b.close()));
  }
}
