/**
 * Recovery after a slow replica heals (the slow-replica scenario's last phase): a fresh contender
 * runs at the scenario's rate against four replicas, the first one `slowMs` late, for a warm-up
 * (long enough for weft to put the slow replica on probation); then, under the same open-loop
 * load, the replica heals. Every 100 ms the replicas' request counts are read: the healed
 * replica's share of the requests before the heal, the time from the heal to the end of the first
 * 100 ms bucket in which it gets at least half its fair share (12.5% of four): noticed, and its
 * share 3 to 5 s after the heal. A balancer that stopped sending to the slow replica must notice it
 * healed; one that never avoided it recovers at once.
 */
import type { Replicas } from '../backends.js';
import { openLoop } from '../load.js';
import { round } from '../stats.js';
import type { ClosableContender } from './common.js';
import { pause } from './common.js';

/** What the recovery phase measured. */
export interface RecoveryResult {
  /** The slow replica's share of requests in the second before it healed, %. */
  readonly shareBeforePercent: number;
  /** Its share over the last 2 s of the run, %. */
  readonly shareAfterPercent: number;
  /** From the heal to the end of the first bucket in which its share is ≥ half of fair; undefined if never. */
  readonly recoveryMs: number | undefined;
}

const WARM_UP_MS = 3_000;
const BEFORE_MS = 1_000;
const AFTER_MS = 5_000;
const BUCKET_MS = 100;

export async function measureRecovery(
  replicas: Replicas,
  make: () => ClosableContender,
  options: { rate: number; slowMs: number },
): Promise<RecoveryResult> {
  const healed = replicas.all[0]!;
  await healed.configure({ latencyMs: options.slowMs });
  const contender = make();
  try {
    await openLoop(contender.send, { rate: options.rate, durationMs: WARM_UP_MS });
    const load = openLoop(contender.send, { rate: options.rate, durationMs: BEFORE_MS + AFTER_MS });
    await resetCounts(replicas);
    await pause(BEFORE_MS);
    const before = await counts(replicas);
    await healed.configure({});
    const healedAt = performance.now();
    const buckets: Array<{ at: number; share: number; total: number }> = [];
    while (performance.now() - healedAt < AFTER_MS - BUCKET_MS) {
      await pause(BUCKET_MS);
      const c = await counts(replicas);
      buckets.push({
        at: performance.now() - healedAt,
        share: c.first / Math.max(1, c.total),
        total: c.total,
      });
    }
    await load;
    const fairHalf = 0.5 / replicas.all.length;
    const noticed = buckets.findIndex((b) => b.share >= fairHalf);
    const recoveredFrom = noticed < 0 ? undefined : noticed;
    const lastTwo = buckets.filter((b) => b.at >= AFTER_MS - 2_000);
    const firstAfter = lastTwo.reduce((sum, b) => sum + b.share * b.total, 0);
    const totalAfter = lastTwo.reduce((sum, b) => sum + b.total, 0);
    return {
      shareBeforePercent: round((100 * before.first) / Math.max(1, before.total), 2),
      shareAfterPercent: round((100 * firstAfter) / Math.max(1, totalAfter), 2),
      recoveryMs: recoveredFrom === undefined ? undefined : Math.round(buckets[recoveredFrom]!.at),
    };
  } finally {
    await contender.close();
    await healed.configure({ latencyMs: options.slowMs });
  }
}

async function resetCounts(replicas: Replicas): Promise<void> {
  await Promise.all(replicas.all.map((r) => r.stats(true)));
}

/** Requests each replica saw since the last read (reset), the first one's and all of them. */
async function counts(replicas: Replicas): Promise<{ first: number; total: number }> {
  const seen = await Promise.all(replicas.all.map((r) => r.stats(true)));
  return { first: seen[0]!.seen, total: seen.reduce((sum, s) => sum + s.seen, 0) };
}
