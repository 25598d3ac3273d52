/**
 * The concurrency limiter: admits a request while fewer than the limit are in flight, and
 * rejects it at once otherwise (Netflix concurrency-limits' `SimpleLimiter`: an adjustable
 * semaphore, no queue). Each admitted request holds a permit and ends it exactly once:
 *
 *   success   it ran and answered (any status the handler chose): a latency sample
 *   dropped   its deadline passed or its caller went away: a sample marked as a loss
 *   ignore    it failed before a meaningful latency (the handler threw): no sample
 *
 * as the library's servlet filter and gRPC interceptor map them. Ending a permit twice does
 * nothing. Counting is synchronous and allocates one permit per admitted request; weft's server
 * half, which runs on every request, uses the permit-free pair `tryEnter`/`release` instead and
 * keeps the permit's state (start time, in-flight count) in its own request object.
 */
import type { Clock } from '../../core/clock.js';
import type { ConcurrencyLimit } from './limit.js';

/** An admitted request's hold on the limiter. */
export interface LimiterPermit {
  /** It ran and answered. */
  success(): void;
  /** It failed before a meaningful latency: release, learn nothing. */
  ignore(): void;
  /** Its deadline passed, or its caller went away. */
  dropped(): void;
}

/**
 * Admits requests up to a {@link ConcurrencyLimit} and feeds it what they measured: an
 * adjustable semaphore with no queue (Netflix's `SimpleLimiter`). `tryAcquire()` gives a permit
 * or undefined (reject the request at once); end each permit with `success`, `dropped` or `ignore`.
 */
export class ConcurrencyLimiter {
  readonly #limit: ConcurrencyLimit;
  readonly #clock: Clock;
  #inflight = 0;

  constructor(limit: ConcurrencyLimit, clock: Clock) {
    this.#limit = limit;
    this.#clock = clock;
  }

  /** Requests in flight now. */
  get inflight(): number {
    return this.#inflight;
  }

  /** The limit now. */
  get limit(): number {
    return this.#limit.limit;
  }

  /** The algorithm's name. */
  get algorithm(): string {
    return this.#limit.name;
  }

  /** A permit, or undefined when the limit is reached (reject the request). */
  tryAcquire(): LimiterPermit | undefined {
    if (this.#inflight >= this.#limit.limit) return undefined;
    this.#inflight++;
    return new Permit(this, this.#clock.now(), this.#inflight);
  }

  /**
   * @internal Admit one request without a permit: the in-flight count with it (≥ 1), or 0 when the
   * limit is reached. The caller ends it exactly once with {@link release}, passing that count.
   */
  tryEnter(): number {
    if (this.#inflight >= this.#limit.limit) return 0;
    return ++this.#inflight;
  }

  /** @internal A permit ended; `rttMs` is undefined for `ignore`. */
  release(startMs: number, inflight: number, rttMs: number | undefined, dropped: boolean): void {
    this.#inflight--;
    if (rttMs !== undefined) this.#limit.update({ startMs, rttMs, inflight, dropped });
  }

  /** @internal */
  now(): number {
    return this.#clock.now();
  }
}

class Permit implements LimiterPermit {
  #done = false;
  constructor(
    readonly limiter: ConcurrencyLimiter,
    readonly startMs: number,
    readonly inflight: number,
  ) {}

  success(): void {
    this.#end(false, false);
  }

  dropped(): void {
    this.#end(true, false);
  }

  ignore(): void {
    this.#end(false, true);
  }

  #end(dropped: boolean, ignored: boolean): void {
    if (this.#done) return;
    this.#done = true;
    const limiter = this.limiter;
    limiter.release(this.startMs, this.inflight, ignored ? undefined : limiter.now() - this.startMs, dropped);
  }
}
