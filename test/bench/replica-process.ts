/**
 * What a benchmark replica process does whatever it serves (./backend-process.ts for HTTP,
 * ./grpc-backend-process.ts for gRPC): it holds its {@link Behaviour} (argv[2], JSON, then changed
 * over IPC), draws each answer's latency and failure from it, counts what it sees, answers the
 * parent's `configure` and `stats` messages (./backend-protocol.ts), stops or resumes listening on
 * its one port as the behaviour says, reports that port on stdout as one JSON line once it has
 * one, and exits when the parent goes away. Each process supplies only its server.
 */
import type { BackendMessage, BackendReply, Behaviour } from './backend-protocol.js';

/** A replica's server, as {@link runReplica} drives it. */
export interface ReplicaServer {
  /** Listen on 127.0.0.1:`port` (0: any free port); resolves with the port taken. */
  listen(port: number): Promise<number>;
  /** Stop listening and drop every connection. */
  stopListening(): Promise<void>;
  /** End the calls `hang` holds (it is over, or the process is ending). */
  releaseHung(): void;
  /** Throws for a behaviour this server cannot act out. */
  check?(behaviour: Behaviour): void;
}

/** The replica's state, which its server's handlers read and count into. */
export class Replica {
  behaviour: Behaviour = JSON.parse(process.argv[2] ?? '{}');
  /** Requests seen since the last reset. */
  seen = 0;
  /** Answers since the last reset, by status (HTTP) or status code name (gRPC). */
  readonly statuses: Record<string, number> = {};

  /** Count one answer with `status`. */
  count(status: string | number): void {
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
  }

  /** This answer's added latency, ms: the tail's with its probability, else the fixed one. */
  latencyMs(): number {
    const tail = this.behaviour.tail;
    if (tail !== undefined && Math.random() < tail.p) return tail.ms;
    return this.behaviour.latencyMs ?? 0;
  }

  /** Whether this answer is one of the failing share (`errorRate`). */
  fails(): boolean {
    const errorRate = this.behaviour.errorRate ?? 0;
    return errorRate > 0 && Math.random() < errorRate;
  }

  resetCounts(): void {
    this.seen = 0;
    for (const key of Object.keys(this.statuses)) delete this.statuses[key];
  }
}

/**
 * Run `server` as the replica `replica` describes: take a port, give it up at once if the replica
 * starts refusing, say the port, then follow the parent's messages until it goes away.
 */
export function runReplica(replica: Replica, server: ReplicaServer): void {
  server.check?.(replica.behaviour);
  let port = 0;
  let listening = false;

  async function listen(): Promise<void> {
    port = await server.listen(port);
    listening = true;
  }

  async function stopListening(): Promise<void> {
    if (!listening) return;
    listening = false;
    await server.stopListening();
  }

  async function apply(next: Behaviour): Promise<void> {
    server.check?.(next);
    replica.behaviour = next;
    if ((next.mode ?? 'serve') !== 'hang') server.releaseHung();
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
        reply({ id: message.id, type: 'stats', seen: replica.seen, statuses: { ...replica.statuses } });
        if (message.reset) replica.resetCounts();
        return;
    }
  });

  function exit(): void {
    server.releaseHung();
    stopListening().then(() => process.exit(0));
  }
  process.on('disconnect', exit);
  process.on('SIGTERM', exit);

  // Take a port first; a replica that starts refusing then gives it up until its behaviour changes.
  listen()
    .then(() => (replica.behaviour.mode === 'refuse' ? stopListening() : undefined))
    .then(() => process.stdout.write(`${JSON.stringify({ port })}\n`));
}
