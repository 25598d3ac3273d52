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
import type { BackendMessage, BackendReply, Behaviour } from './backend-protocol.js';

let behaviour: Behaviour = JSON.parse(process.argv[2] ?? '{}');
const body = 'ok';
let seen = 0;
const statuses: Record<string, number> = {};
/** Responses held by `hang`, released (with a reset) when the mode changes or the process ends. */
const hung = new Set<ServerResponse>();

function latency(): number {
  const base = behaviour.latencyMs ?? 0;
  const tail = behaviour.tail;
  if (tail !== undefined && Math.random() < tail.p) return tail.ms;
  return base;
}

function answer(res: ServerResponse): void {
  const errorRate = behaviour.errorRate ?? 0;
  const status = errorRate > 0 && Math.random() < errorRate ? (behaviour.errorStatus ?? 503) : 200;
  statuses[status] = (statuses[status] ?? 0) + 1;
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => {
  seen++;
  const mode = behaviour.mode ?? 'serve';
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
    const ms = latency();
    if (ms > 0) setTimeout(answer, ms, res);
    else answer(res);
  });
});
server.keepAliveTimeout = 60_000;

let port = 0;
let listening = false;

function listen(): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      port = (server.address() as AddressInfo).port;
      listening = true;
      resolve();
    });
  });
}

function stopListening(): Promise<void> {
  if (!listening) return Promise.resolve();
  listening = false;
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function apply(next: Behaviour): Promise<void> {
  behaviour = next;
  if ((next.mode ?? 'serve') !== 'hang') {
    for (const res of hung) res.socket?.destroy();
    hung.clear();
  }
  if (next.mode === 'refuse') await stopListening();
  else if (!listening) await listen();
}

process.on('message', (message: BackendMessage) => {
  // Once the parent is gone, `exit` (below) is under way: nobody to answer, and a send would throw.
  const reply = (r: BackendReply) => {
    if (process.connected) process.send?.(r, undefined, {}, () => {});
  };
  switch (message.type) {
    case 'configure':
      apply(message.behaviour).then(
        () => reply({ id: message.id, type: 'ok' }),
        (error: unknown) => reply({ id: message.id, type: 'error', message: String(error) }),
      );
      return;
    case 'stats':
      reply({ id: message.id, type: 'stats', seen, statuses: { ...statuses } });
      if (message.reset) {
        seen = 0;
        for (const key of Object.keys(statuses)) delete statuses[key];
      }
      return;
  }
});

function exit(): void {
  for (const res of hung) res.socket?.destroy();
  stopListening().then(() => process.exit(0));
}
process.on('disconnect', exit);
process.on('SIGTERM', exit);

// Take a port first; a replica that starts refusing then gives it up until its behaviour changes.
listen()
  .then(() => (behaviour.mode === 'refuse' ? stopListening() : undefined))
  .then(() => process.stdout.write(`${JSON.stringify({ port })}\n`));
