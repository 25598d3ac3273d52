// The load generator: a fixed number of concurrent loops calling one weft client until the
// duration or the request cap runs out, counting per backend (from the response header) what was
// sent, what failed and how long each call took. A 503 counts as an error: weft has no retries yet.
import type { HttpClient } from '../../src/index.js';
import { BACKEND_HEADER } from './backends.js';
import { LatencyRecorder } from './latency.js';

export interface LoadOptions {
  /** How long to run, in ms. */
  readonly durationMs: number;
  /** Concurrent request loops. */
  readonly concurrency: number;
  /** Stop after this many requests even if time is left. */
  readonly maxRequests: number;
  /** Called about every `tickMs` while the load runs (default 1 000 ms). */
  readonly onTick?: (progress: LoadProgress) => void;
  readonly tickMs?: number;
}

/** What one backend got from one client. */
export interface EndpointTally {
  /** Responses it sent back (any status). */
  requests: number;
  /** Responses that were not 2xx (the flaky backend's 503s). */
  errors: number;
}

/** Counts so far, for the live table and the summary. */
export interface LoadProgress {
  readonly elapsedMs: number;
  /** Responses per backend label. */
  readonly tallies: ReadonlyMap<string, EndpointTally>;
  /** Calls that failed without a response (weft or transport errors), by error code. */
  readonly failures: ReadonlyMap<string, number>;
  readonly completed: number;
}

export interface LoadResult extends LoadProgress {
  readonly latency: LatencyRecorder;
}

/** Run the load against `client`; resolves when every loop has finished its last call. */
export async function runLoad(client: HttpClient, options: LoadOptions): Promise<LoadResult> {
  const tallies = new Map<string, EndpointTally>();
  const failures = new Map<string, number>();
  const latency = new LatencyRecorder();
  const startedAt = performance.now();
  const endAt = startedAt + options.durationMs;
  let issued = 0;
  let completed = 0;
  const progress = (): LoadProgress => ({
    elapsedMs: performance.now() - startedAt,
    tallies,
    failures,
    completed,
  });

  const loop = async (): Promise<void> => {
    while (performance.now() < endAt && issued < options.maxRequests) {
      issued++;
      const start = performance.now();
      try {
        const res = await client.request({ path: '/work' });
        await res.body.text();
        const label = String(res.headers[BACKEND_HEADER] ?? 'unknown');
        const tally = tallies.get(label) ?? { requests: 0, errors: 0 };
        tally.requests++;
        if (res.statusCode < 200 || res.statusCode > 299) tally.errors++;
        tallies.set(label, tally);
      } catch (error) {
        const code = String((error as { code?: unknown }).code ?? (error as Error).name ?? 'Error');
        failures.set(code, (failures.get(code) ?? 0) + 1);
      }
      latency.record(performance.now() - start);
      completed++;
    }
  };

  const ticker =
    options.onTick === undefined
      ? undefined
      : setInterval(() => options.onTick?.(progress()), options.tickMs ?? 1_000);
  try {
    await Promise.all(Array.from({ length: options.concurrency }, loop));
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
  }
  return { ...progress(), latency };
}
