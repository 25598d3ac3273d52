/**
 * What the scenarios share: replicas and contenders that are always stopped, workers in
 * processes of their own, latency summaries.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type BackendProtocol, type Behaviour, type Replicas, startReplicas } from '../backends.js';
import { track } from '../child-processes.js';
import {
  type Contender,
  type ContenderName,
  type ContenderSettings,
  DEFAULT_SETTINGS,
  makeContender,
} from '../contenders.js';
import type { Send } from '../load.js';
import { percentile, round } from '../stats.js';

/** What a scenario needs of a contender, whatever its protocol: a call, and closing it. */
export interface ClosableContender {
  readonly send: Send;
  close(): Promise<void>;
}

/** Run `body` with replicas started from `behaviours` (HTTP by default); they are stopped however it ends. */
export async function withReplicas<T>(
  behaviours: readonly Behaviour[],
  body: (replicas: Replicas) => Promise<T>,
  protocol: BackendProtocol = 'http',
): Promise<T> {
  const replicas = await startReplicas(behaviours, protocol);
  try {
    return await body(replicas);
  } finally {
    await replicas.stop();
  }
}

/** Run `body` with a fresh contender over `addresses`; it is closed however it ends. */
export async function withContender<T>(
  name: ContenderName,
  addresses: readonly string[],
  body: (contender: Contender) => Promise<T>,
  settings: ContenderSettings = DEFAULT_SETTINGS,
): Promise<T> {
  const contender = makeContender(name, addresses, settings);
  try {
    return await body(contender);
  } finally {
    await contender.close();
  }
}

export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly samples: number;
}

/** p50, p99, p99.9 and max of `latencies` (ms), rounded to 0.01 ms. */
export function summarize(latencies: readonly number[]): LatencySummary {
  return {
    p50: round(percentile(latencies, 50), 2),
    p99: round(percentile(latencies, 99), 2),
    p999: round(percentile(latencies, 99.9), 2),
    max: round(percentile(latencies, 100), 2),
    samples: latencies.length,
  };
}

/** A ratio as a percentage with `digits` decimals. */
export function percent(part: number, whole: number, digits = 2): number {
  return whole === 0 ? 0 : round((100 * part) / whole, digits);
}

/** Let connections settle between phases (and timers of the previous phase fire). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Run `script` (a worker under ../workers) in a fresh Node process with `args` as its JSON
 * argument, and resolve with the JSON of the last line it prints.
 */
export function runWorker<T>(script: URL, args: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, ['--import', 'tsx', fileURLToPath(script), JSON.stringify(args)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${fileURLToPath(script)} exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
    });
  });
}

/** A long-lived worker process answering one IPC message with one reply (see {@link startWorker}). */
export interface LiveWorker<Message, Reply> {
  /** The first message the worker sent, which said it was ready. */
  readonly ready: Reply;
  /** The worker's process id. */
  readonly pid: number;
  /** Send `message`; resolves with the worker's next reply. One at a time. */
  ask(message: Message): Promise<Reply>;
  /** Send `closing` and wait for the process to exit. */
  close(closing: Message): Promise<void>;
}

/**
 * Start `script` (a worker under ../workers) in a process of its own with `args` as its JSON
 * argument, and resolve once it has sent its first message (it is ready). The worker stays up,
 * warm, between questions; it must exit when sent the closing message.
 */
export function startWorker<Message, Reply>(script: URL, args: unknown): Promise<LiveWorker<Message, Reply>> {
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', fileURLToPath(script), JSON.stringify(args)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  let waiting: { resolve(reply: Reply): void; reject(error: Error): void } | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const fail = (error: Error) => {
    const w = waiting;
    waiting = undefined;
    w?.reject(error);
  };
  child.on('error', fail);
  child.once('exit', (code) => fail(new Error(`${fileURLToPath(script)} exited with ${code}`)));
  child.on('message', (reply: Reply) => {
    const w = waiting;
    waiting = undefined;
    w?.resolve(reply);
  });
  const next = () =>
    new Promise<Reply>((resolve, reject) => {
      waiting = { resolve, reject };
    });
  const worker: Omit<LiveWorker<Message, Reply>, 'ready' | 'pid'> = {
    ask(message) {
      if (!child.connected) return Promise.reject(new Error(`${fileURLToPath(script)} is gone`));
      const reply = next();
      child.send(message as object, (error) => {
        if (error) fail(error);
      });
      return reply;
    },
    async close(closing) {
      if (child.connected) child.send(closing as object, (error) => error && child.kill());
      await exited;
    },
  };
  return next().then(
    (ready) => ({ ...worker, ready, pid: child.pid! }),
    (error: unknown) => {
      child.kill();
      throw error;
    },
  );
}
