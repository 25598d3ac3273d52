/**
 * What the scenarios share: replicas and contenders that are always stopped, workers in
 * processes of their own, latency summaries.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Behaviour, type Replicas, startReplicas } from '../backends.js';
import {
  type Contender,
  type ContenderName,
  type ContenderSettings,
  DEFAULT_SETTINGS,
  makeContender,
} from '../contenders.js';
import { percentile, round } from '../stats.js';

/** Run `body` with replicas started from `behaviours`; they are stopped however it ends. */
export async function withReplicas<T>(
  behaviours: readonly Behaviour[],
  body: (replicas: Replicas) => Promise<T>,
): Promise<T> {
  const replicas = await startReplicas(behaviours);
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
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(script), JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
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
