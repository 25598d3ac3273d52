/**
 * A benchmark backend replica in its own process, so the client's CPU is measured apart from the
 * servers'. Started by ./backends.ts; listens on 127.0.0.1 (port 0, then the same port after a
 * `refuse` phase) and reports its port on stdout as one JSON line.
 *
 * Its behaviour (argv[2], JSON, and changeable at run time over IPC) is a {@link Behaviour}:
 * added latency, fixed or with a heavy tail; a share of responses answered with an error
 * status; or a mode in which every request hangs, has its connection reset, or is refused
 * because nothing listens. It counts every request it sees, so a scenario can tell the load the
 * servers received from the calls the client made.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Replica, runReplica } from './replica-process.js';

const replica = new Replica();
const body = 'ok';
/** Responses held by `hang`, released (with a reset) when the mode changes or the process ends. */
const hung = new Set<ServerResponse>();

function answer(res: ServerResponse): void {
  const status = replica.fails() ? (replica.behaviour.errorStatus ?? 503) : 200;
  replica.count(status);
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  replica.seen++;
  const mode = replica.behaviour.mode ?? 'serve';
  if (mode === 'reset') {
    req.socket.destroy();
    return;
  }
  if (mode === 'hang') {
    hung.add(res);
    res.on('close', () => hung.delete(res));
    return;
  }
  req.resume();
  req.on('end', () => {
    const ms = replica.latencyMs();
    if (ms > 0) setTimeout(answer, ms, res);
    else answer(res);
  });
});
server.keepAliveTimeout = 60_000;

runReplica(replica, {
  listen: (port) =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    }),
  stopListening: () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  releaseHung() {
    for (const res of hung) res.socket?.destroy();
    hung.clear();
  },
});
