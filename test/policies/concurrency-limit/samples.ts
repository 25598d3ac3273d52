/**
 * Helpers for the concurrency-limit tests: a sample from its RTT and in-flight count, and a
 * simulated server on the virtual clock that keeps a limiter full (offered load above the limit)
 * with a latency of the test's choosing, so an algorithm can be watched adapting over time.
 */
import { VirtualClock } from '../../../src/core/virtual-clock.js';
import type { ConcurrencyLimit, LimitSample } from '../../../src/policies/concurrency-limit/limit.js';
import { ConcurrencyLimiter } from '../../../src/policies/concurrency-limit/limiter.js';

/** One finished request: `rttMs`, `inflight` at admission, started at `startMs` (default 0). */
export function sample(rttMs: number, inflight: number, dropped = false, startMs = 0): LimitSample {
  return { startMs, rttMs, inflight, dropped };
}

/**
 * A server whose every request takes `latencyMs` (changeable), under more load than any limit:
 * each round admits as many requests as the limiter allows (at most `maxOffered`), lets
 * `latencyMs` pass on the virtual clock, and ends them all (success, or dropped while `dropping`).
 */
export class SaturatedServer {
  readonly clock = new VirtualClock(0);
  readonly limiter: ConcurrencyLimiter;
  latencyMs = 10;
  dropping = false;

  constructor(
    limit: ConcurrencyLimit,
    readonly maxOffered = 1_000,
  ) {
    this.limiter = new ConcurrencyLimiter(limit, this.clock);
  }

  /** Run rounds for `durationMs` of virtual time; returns the limit at the end. */
  run(durationMs: number): number {
    const until = this.clock.now() + durationMs;
    while (this.clock.now() < until) {
      const permits = [];
      for (let i = 0; i < this.maxOffered; i++) {
        const permit = this.limiter.tryAcquire();
        if (permit === undefined) break;
        permits.push(permit);
      }
      this.clock.advance(this.latencyMs);
      for (const permit of permits) {
        if (this.dropping) permit.dropped();
        else permit.success();
      }
    }
    return this.limiter.limit;
  }
}
