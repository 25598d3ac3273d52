/**
 * A benchmark gRPC backend replica in its own process, the gRPC twin of ./backend-process.ts: a
 * grpc-js server on 127.0.0.1 serving the test service (test/fixtures/grpc/echo.proto), whose
 * unary methods echo the request. Started by ./backends.ts (`startBackendProcess(..., 'grpc')`);
 * reports its port on stdout as one JSON line, and takes the same IPC messages as the HTTP
 * replica (./backend-protocol.ts); ./replica-process.ts does what the two share.
 *
 * Its {@link Behaviour}: added latency, fixed or with a heavy tail; a share of calls answered with
 * `grpcStatus` (UNAVAILABLE by default), trailers-only; `hang` (never answers; the calls held are
 * answered UNAVAILABLE when the mode changes); `refuse` (the server shuts down, so connecting is
 * refused, and a new one takes the same port when the mode changes back). `reset` has no gRPC
 * counterpart here and is refused. It counts every call it sees, by status code name.
 */
import * as grpc from '@grpc/grpc-js';
import { EchoClient, type EchoReply, type EchoRequest } from '../support/grpc-servers.js';
import { Replica, runReplica } from './replica-process.js';

type Unary = grpc.handleUnaryCall<EchoRequest, EchoReply>;
type Callback = grpc.sendUnaryData<EchoReply>;

const replica = new Replica();
/** Calls held by `hang`, answered when the mode changes or the process ends. */
const hung = new Set<Callback>();

/** Count one answer by its status code's name. */
function count(code: grpc.status): void {
  replica.count(grpc.status[code]);
}

function answer(request: EchoRequest, callback: Callback): void {
  if (replica.fails()) {
    const code = replica.behaviour.grpcStatus ?? grpc.status.UNAVAILABLE;
    count(code);
    callback({ code, details: `replica answers ${grpc.status[code]}` });
    return;
  }
  count(grpc.status.OK);
  callback(null, { message: request.message, server: '' });
}

const unary: Unary = (call, callback) => {
  replica.seen++;
  if (replica.behaviour.mode === 'hang') {
    hung.add(callback);
    call.on('cancelled', () => hung.delete(callback));
    return;
  }
  const ms = replica.latencyMs();
  if (ms > 0) setTimeout(answer, ms, call.request, callback);
  else answer(call.request, callback);
};

let server: grpc.Server | undefined;

runReplica(replica, {
  async listen(port) {
    const next = new grpc.Server();
    next.addService(EchoClient.service, { unary, idempotentUnary: unary });
    const bound = await new Promise<number>((resolve, reject) =>
      next.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, taken) =>
        error ? reject(error) : resolve(taken),
      ),
    );
    server = next;
    return bound;
  },
  async stopListening() {
    // Connections close at once, so a client sees the replica go away, as when its process dies.
    server?.forceShutdown();
    server = undefined;
  },
  releaseHung() {
    for (const callback of hung) callback({ code: grpc.status.UNAVAILABLE, details: 'released from hang' });
    hung.clear();
  },
  check(behaviour) {
    if (behaviour.mode === 'reset') throw new Error("a gRPC replica has no 'reset' mode");
  },
});
