/**
 * A benchmark gRPC backend replica in its own process, the gRPC twin of ./backend-process.ts: a
 * grpc-js server on 127.0.0.1 serving the test service (test/fixtures/grpc/echo.proto), whose
 * unary methods echo the request. Started by ./backends.ts (`startBackendProcess(..., 'grpc')`);
 * reports its port on stdout as one JSON line, and takes the same IPC messages as the HTTP
 * replica (./backend-protocol.ts).
 *
 * Its {@link Behaviour}: added latency, fixed or with a heavy tail; a share of calls answered with
 * `grpcStatus` (UNAVAILABLE by default), trailers-only; `hang` (never answers; the calls held are
 * answered UNAVAILABLE when the mode changes); `refuse` (the server shuts down, so connecting is
 * refused, and a new one takes the same port when the mode changes back). `reset` has no gRPC
 * counterpart here and is refused. It counts every call it sees, by status code name.
 */
import * as grpc from '@grpc/grpc-js';
import { EchoClient, type EchoReply, type EchoRequest } from '../support/grpc-servers.js';
import type { BackendMessage, BackendReply, Behaviour } from './backend-protocol.js';

type Unary = grpc.handleUnaryCall<EchoRequest, EchoReply>;
type Callback = grpc.sendUnaryData<EchoReply>;

let behaviour: Behaviour = JSON.parse(process.argv[2] ?? '{}');
if (behaviour.mode === 'reset') throw new Error("a gRPC replica has no 'reset' mode");
let seen = 0;
const statuses: Record<string, number> = {};
/** Calls held by `hang`, answered when the mode changes or the process ends. */
const hung = new Set<Callback>();

function latency(): number {
  const tail = behaviour.tail;
  if (tail !== undefined && Math.random() < tail.p) return tail.ms;
  return behaviour.latencyMs ?? 0;
}

function count(code: grpc.status): void {
  const name = grpc.status[code];
  statuses[name] = (statuses[name] ?? 0) + 1;
}

function answer(request: EchoRequest, callback: Callback): void {
  const errorRate = behaviour.errorRate ?? 0;
  if (errorRate > 0 && Math.random() < errorRate) {
    const code = behaviour.grpcStatus ?? grpc.status.UNAVAILABLE;
    count(code);
    callback({ code, details: `replica answers ${grpc.status[code]}` });
    return;
  }
  count(grpc.status.OK);
  callback(null, { message: request.message, server: '' });
}

const unary: Unary = (call, callback) => {
  seen++;
  if (behaviour.mode === 'hang') {
    hung.add(callback);
    call.on('cancelled', () => hung.delete(callback));
    return;
  }
  const ms = latency();
  if (ms > 0) setTimeout(answer, ms, call.request, callback);
  else answer(call.request, callback);
};

function release(): void {
  for (const callback of hung) callback({ code: grpc.status.UNAVAILABLE, details: 'released from hang' });
  hung.clear();
}

let port = 0;
let server: grpc.Server | undefined;

async function listen(): Promise<void> {
  const next = new grpc.Server();
  next.addService(EchoClient.service, { unary, idempotentUnary: unary });
  port = await new Promise<number>((resolve, reject) =>
    next.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  server = next;
}

function stopListening(): void {
  // Connections close at once, so a client sees the replica go away, as when its process dies.
  server?.forceShutdown();
  server = undefined;
}

async function apply(next: Behaviour): Promise<void> {
  if (next.mode === 'reset') throw new Error("a gRPC replica has no 'reset' mode");
  behaviour = next;
  if (next.mode !== 'hang') release();
  if (next.mode === 'refuse') stopListening();
  else if (server === undefined) await listen();
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
  release();
  stopListening();
  process.exit(0);
}
process.on('disconnect', exit);
process.on('SIGTERM', exit);

// Take a port first; a replica that starts refusing then gives it up until its behaviour changes.
listen()
  .then(() => (behaviour.mode === 'refuse' ? stopListening() : undefined))
  .then(() => process.stdout.write(`${JSON.stringify({ port })}\n`));
