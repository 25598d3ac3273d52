/**
 * Misbehaving backends for the chaos suite, on loopback: each records what it actually received,
 * so tests can assert what the server saw, not what the client believes it sent.
 */
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Socket,
  type Server as TcpServer,
} from 'node:net';
import { type Backend, type Handler, startBackend } from './http-servers.js';

/** A port with nothing listening on it (connection refused). */
export async function refusedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Reads the whole request body, then resets the connection without answering. */
export function readBodyThenReset(): Handler {
  return (req) => {
    req.socket.resetAndDestroy();
  };
}

/** Accepts the request and never answers. */
export function hang(): Handler {
  return () => {};
}

/** Answers 503 while `failing()` says so, else 200. */
export function failingWhile(failing: () => boolean): Handler {
  return (_req, res) => {
    res.statusCode = failing() ? 503 : 200;
    res.end(res.statusCode === 503 ? 'unavailable' : 'ok');
  };
}

/** A raw TCP server that accepts connections and closes each at once (a reset before any answer). */
export async function startResetter(): Promise<{
  port: number;
  connections: number;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const server: TcpServer = createTcpServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.resetAndDestroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export type { Backend };
export { startBackend };
