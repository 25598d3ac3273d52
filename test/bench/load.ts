/**
 * Load generators. A `Send` makes one call and resolves with the HTTP status it ended with, or
 * rejects when the call failed.
 *
 * - {@link openLoop}: calls start on a fixed schedule (rate × duration), whatever the previous
 *   ones are doing, and each latency runs from the call's scheduled start, not from when the
 *   generator got round to it. A slow response therefore cannot hold back the calls behind it
 *   and hide its own effect (coordinated omission, Gil Tene's term).
 * - {@link closedLoop}: C workers, each starting its next call when the previous one ends: the
 *   most calls a contender can make, for raw throughput and CPU per call.
 */

export type Send = () => Promise<number>;

/** A call succeeded when it ended with a status below 400. */
const succeeded = (status: number) => status < 400;

export interface ClosedLoopResult {
  readonly rps: number;
  /** Client CPU (user + system) per call, in µs. */
  readonly cpuUsPerCall: number;
  readonly failed: number;
}

export async function closedLoop(send: Send, calls: number, concurrency: number): Promise<ClosedLoopResult> {
  let started = 0;
  let failed = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (started < calls) {
      started++;
      try {
        if (!succeeded(await send())) failed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rps: (calls / elapsed) * 1000, cpuUsPerCall: (cpu.user + cpu.system) / calls, failed };
}

export interface OpenLoopOptions {
  /** Calls started per second. */
  readonly rate: number;
  readonly durationMs: number;
  /** Width of the timeline's buckets, in ms (by scheduled start). Default 250. */
  readonly bucketMs?: number;
}

export interface OpenLoopResult {
  readonly calls: number;
  readonly ok: number;
  readonly failed: number;
  /** Latency of every successful call, in ms, from its scheduled start. */
  readonly latenciesMs: number[];
  /** Calls by scheduled start: `[bucket start ms, ok, failed]`. */
  readonly timeline: Array<[number, number, number]>;
  /** How late, at worst, the generator started a call after its scheduled time, in ms. */
  readonly maxStartLagMs: number;
}

export function openLoop(send: Send, options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { rate, durationMs } = options;
  const bucketMs = options.bucketMs ?? 250;
  const interval = 1_000 / rate;
  const total = Math.max(1, Math.floor((durationMs / 1_000) * rate));
  const latenciesMs: number[] = [];
  const timeline: Array<[number, number, number]> = Array.from(
    { length: Math.ceil(durationMs / bucketMs) + 1 },
    (_, i) => [i * bucketMs, 0, 0],
  );
  let launched = 0;
  let settled = 0;
  let ok = 0;
  let failed = 0;
  let maxStartLagMs = 0;
  const t0 = performance.now();

  return new Promise((resolve) => {
    const record = (index: number, scheduled: number, success: boolean) => {
      // By the call's index, not `scheduled - t0`: that difference can land a hair below a
      // bucket boundary in floating point and put the call in the bucket before.
      const bucket = timeline[Math.min(timeline.length - 1, Math.floor((index * interval) / bucketMs))]!;
      if (success) {
        ok++;
        bucket[1]++;
        latenciesMs.push(performance.now() - scheduled);
      } else {
        failed++;
        bucket[2]++;
      }
      settled++;
      if (settled === total) resolve({ calls: total, ok, failed, latenciesMs, timeline, maxStartLagMs });
    };
    const launch = (index: number, scheduled: number) => {
      send().then(
        (status) => record(index, scheduled, succeeded(status)),
        () => record(index, scheduled, false),
      );
    };
    const tick = () => {
      const now = performance.now();
      while (launched < total) {
        const scheduled = t0 + launched * interval;
        if (scheduled > now) break;
        if (now - scheduled > maxStartLagMs) maxStartLagMs = now - scheduled;
        launch(launched, scheduled);
        launched++;
      }
      if (launched < total) setTimeout(tick, Math.max(0, t0 + launched * interval - performance.now()));
    };
    tick();
  });
}
