// The load generator: a fixed number of concurrent loops calling one weft client until the
// duration or the request cap runs out. It counts what the caller sees: calls, final statuses
// (a call is a success only when its final status is 200, whatever weft did underneath), calls
// that failed without a response, and how long each call took. Every request is tagged with the
// run's name (RUN_HEADER) so the backends can count the attempts that reached them.
import type { HttpClient } from '../../src/index.js';
import { RUN_HEADER } from './backends.js';
import { LatencyRecorder } from './latency.js';

export interface LoadOptions {
  /** Name of this run, sent as RUN_HEADER so the backends count its attempts apart. */
  readonly run: string;
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

/** Counts so far, for the live table and the summary: the caller's view. */
export interface LoadProgress {
  readonly elapsedMs: number;
  /** Calls finished, with or without a response. */
  readonly completed: number;
  /** Calls whose final response was 200. */
  readonly ok: number;
  /** Calls whose final response was not 200, by status. */
  readonly statuses: ReadonlyMap<number, number>;
  /** Calls that failed without a response (weft or transport errors), by error code. */
  readonly failures: ReadonlyMap<string, number>;
}

export interface LoadResult extends LoadProgress {
  readonly latency: LatencyRecorder;
}

/** Run the load against `client`; resolves when every loop has finished its last call. */
export async function runLoad(client: HttpClient, options: LoadOptions): Promise<LoadResult> {
  const statuses = new Map<number, number>();
  const failures = new Map<string, number>();
  const latency = new LatencyRecorder();
  const headers = { [RUN_HEADER]: options.run };
  const startedAt = performance.now();
  const endAt = startedAt + options.durationMs;
  let issued = 0;
  let completed = 0;
  let ok = 0;
  const progress = (): LoadProgress => ({
    elapsedMs: performance.now() - startedAt,
    completed,
    ok,
    statuses,
    failures,
  });

  const loop = async (): Promise<void> => {
    while (performance.now() < endAt && issued < options.maxRequests) {
      issued++;
      const start = performance.now();
      try {
        const res = await client.request({ path: '/work', headers });
        await res.body.text();
        if (res.statusCode === 200) ok++;
        else statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
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
