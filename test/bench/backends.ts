/**
 * Starts benchmark backend replicas (HTTP, ./backend-process.ts, or gRPC,
 * ./grpc-backend-process.ts) as child processes on loopback, changes their behaviour at
 * run time, reads how many requests each has seen, and stops them. Each child is killed when the
 * benchmark ends, even on failure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { BackendMessage, BackendReply, Behaviour } from './backend-protocol.js';
import { track } from './child-processes.js';

export type { Behaviour } from './backend-protocol.js';

export interface BackendProcess {
  readonly port: number;
  /** `127.0.0.1:port`. */
  readonly address: string;
  /** Change what the replica does; resolves once it does it (a `refuse` replica has stopped listening). */
  configure(behaviour: Behaviour): Promise<void>;
  /** Requests seen since the last reset, and by status; `reset` zeroes the counts. */
  stats(reset?: boolean): Promise<{ seen: number; statuses: Record<string, number> }>;
  stop(): Promise<void>;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** What a replica serves: HTTP (node:http) or gRPC (a grpc-js server of the test service). */
export type BackendProtocol = 'http' | 'grpc';

const scripts: Record<BackendProtocol, string> = {
  http: fileURLToPath(new URL('./backend-process.ts', import.meta.url)),
  grpc: fileURLToPath(new URL('./grpc-backend-process.ts', import.meta.url)),
};
const STARTUP_MS = 20_000;
const REPLY_MS = 10_000;

/** Start one replica; resolves when it has a port. */
export async function startBackendProcess(
  behaviour: Behaviour = {},
  protocol: BackendProtocol = 'http',
): Promise<BackendProcess> {
  const child: ChildProcess = track(
    spawn(process.execPath, ['--import', 'tsx', scripts[protocol], JSON.stringify(behaviour)], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('backend process did not start within 20 s'));
    }, STARTUP_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve((JSON.parse(buffered.slice(0, newline)) as { port: number }).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`backend process exited with ${code}`));
    });
  });

  let nextId = 0;
  const waiting = new Map<number, (reply: BackendReply) => void>();
  child.on('message', (reply: BackendReply) => {
    const resolve = waiting.get(reply.id);
    waiting.delete(reply.id);
    resolve?.(reply);
  });
  const ask = (message: WithoutId<BackendMessage>): Promise<BackendReply> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`backend ${port} did not answer ${message.type} within 10 s`));
      }, REPLY_MS);
      waiting.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      // A send to a process that is gone fails here, not as an 'error' event nobody handles.
      child.send({ ...message, id } as BackendMessage, (error) => {
        if (!error) return;
        clearTimeout(timer);
        waiting.delete(id);
        reject(error);
      });
    });

  return {
    port,
    address: `127.0.0.1:${port}`,
    async configure(next) {
      const reply = await ask({ type: 'configure', behaviour: next });
      if (reply.type === 'error') throw new Error(`backend ${port}: ${reply.message}`);
    },
    async stats(reset = false) {
      const reply = await ask({ type: 'stats', reset });
      if (reply.type !== 'stats') throw new Error(`backend ${port}: unexpected reply ${reply.type}`);
      return { seen: reply.seen, statuses: reply.statuses };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** A set of replicas started together. */
export interface Replicas {
  readonly all: readonly BackendProcess[];
  readonly addresses: readonly string[];
  /** Requests the replicas saw since the last reset, summed. */
  seen(reset?: boolean): Promise<number>;
  stop(): Promise<void>;
}

export async function startReplicas(
  behaviours: readonly Behaviour[],
  protocol: BackendProtocol = 'http',
): Promise<Replicas> {
  const started = await Promise.allSettled(behaviours.map((b) => startBackendProcess(b, protocol)));
  const all = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(all.map((b) => b.stop()));
    throw (failed as PromiseRejectedResult).reason;
  }
  return {
    all,
    addresses: all.map((b) => b.address),
    async seen(reset = false) {
      const counts = await Promise.all(all.map((b) => b.stats(reset)));
      return counts.reduce((sum, c) => sum + c.seen, 0);
    },
    async stop() {
      await Promise.all(all.map((b) => b.stop()));
    },
  };
}
