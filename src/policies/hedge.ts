/**
 * Hedge filter (backup requests): when an idempotent attempt has not answered within the hedge
 * delay, send a copy to another endpoint and take whichever succeeds first; the other is
 * cancelled. Tail latency drops at a bounded cost, and each hedge also takes a token from the
 * client's retry budget, so hedges cannot pile onto an outage ("The Tail at Scale", Dean &
 * Barroso; Finagle's BackupRequestFilter). It sits below retry (it works inside one try; a failed
 * pair is retried as a whole) and above the attempt filter (each copy is an attempt of its own).
 *
 * The delay, from the first copies' latencies ({@link hedgeDelay}): at most `maxExtraLoad` of
 * calls may hedge, so never sooner than the (1 − maxExtraLoad)-quantile (Finagle derives its
 * percentile from the extra load it may spend); and when the distribution has a tail (a jump of
 * 3× or more between neighbouring latencies above that quantile), the delay sits before the jump,
 * at the quantile that lets twice the tail's share hedge: the backups go to the tail, not into it.
 * A first copy that a backup beat is recorded as Infinity (slower than anything measured), so the
 * tail that hedging cut stays in the window. The rate is also capped: backups draw from a budget
 * of their own, `maxExtraLoad` of calls over 10 s plus 10/s (Finagle's BackupRequestFilter keeps
 * such a RetryBudget, percentCanRetry = maxExtraLoad), so a stall that pushes every call in flight
 * past the delay cannot hedge them all; and from the client's retry budget. Defaults:
 * maxExtraLoad 1%, at least 1 ms, no hedging until 100 latencies are known (weft's choice). Only idempotent calls with an in-memory
 * (replayable) body are hedged.
 */

import { Cancellation } from '../core/cancellation.js';
import { isFailure, type ResponseClass } from '../core/classification.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { CallContext } from '../core/context.js';
import { WeftError } from '../core/errors.js';
import { promiseToEndAttempts } from '../core/frame-elision.js';
import { integerAtLeast, numberInRange, objectOption, optionKeys, positiveNumber } from '../core/options.js';
import type { ProtocolAdapter } from '../core/protocol.js';
import type { Filter, Next } from '../core/service.js';
import { LatencyWindow, quantileOf, rankOf } from './latency-window.js';
import { RetryBudget } from './retry-budget.js';

/** Settings of hedging (the client's `hedge` option): how many calls may hedge, and from when. */
export interface HedgeOptions {
  /**
   * Share of calls that may send a backup, 0.0001 to 0.5. Default 0.01: never sooner than the
   * p99; set it above the share of calls in the tail you want cut (0.02 to 0.05 for a 1% tail).
   */
  maxExtraLoad?: number;
  /** Never hedge sooner than this, in ms. Default 1 (Finagle's minSendBackupAfterMs). */
  minDelayMs?: number;
  /** Latencies needed before hedging starts. Default 100. */
  minSamples?: number;
}

/** The keys of {@link HedgeOptions}; any other key in `hedge` throws a ConfigError. */
export const HEDGE_OPTION_KEYS = optionKeys<HedgeOptions>({
  maxExtraLoad: true,
  minDelayMs: true,
  minSamples: true,
});

/**
 * Hedging's defaults: at most 1% of calls send a backup (so a backup goes out past the p99), never
 * sooner than 1 ms (Finagle's `minSendBackupAfterMs`), and none until 100 latencies are known
 * (weft's choice).
 */
export const HEDGE_DEFAULTS = { maxExtraLoad: 0.01, minDelayMs: 1, minSamples: 100 } as const;

/** The reason a hedge's losing copy is cancelled with. */
export class HedgeLostError extends WeftError {
  constructor() {
    super('WEFT_HEDGE_LOST', 'cancelled: the other copy of this hedged call answered first');
  }
}

export interface HedgeFilterParams<Req, Res> {
  readonly clock: Clock;
  readonly adapter: ProtocolAdapter<Req, Res>;
  readonly budget: RetryBudget;
  readonly options: HedgeOptions | undefined;
}

/** Counters for dashboards and tests. */
export interface HedgeStats {
  /** Backups sent. */
  sent: number;
  /** Calls a backup answered first. */
  won: number;
  /** The current hedge delay in ms (Infinity while too few latencies are known). */
  delayMs(): number;
}

export function hedgeFilter<Req, Res>(
  params: HedgeFilterParams<Req, Res>,
): { filter: Filter<Req, Res, CallContext>; stats: HedgeStats } {
  const o = objectOption<HedgeOptions>('hedge', params.options, HEDGE_OPTION_KEYS);
  const maxExtraLoad = numberInRange(
    'hedge.maxExtraLoad',
    o.maxExtraLoad,
    0.0001,
    0.5,
    HEDGE_DEFAULTS.maxExtraLoad,
  );
  const minDelayMs = positiveNumber('hedge.minDelayMs', o.minDelayMs, HEDGE_DEFAULTS.minDelayMs);
  const minSamples = integerAtLeast('hedge.minSamples', o.minSamples, 1, HEDGE_DEFAULTS.minSamples);
  const latencies = new LatencyWindow(1_000);
  const { clock } = params;
  // Finagle's BackupRequestFilter: a budget of the filter's own, percentCanRetry = maxExtraLoad.
  const backups = new RetryBudget(clock, { percentCanRetry: maxExtraLoad });
  const delayOf = (sorted: Float64Array) => Math.max(minDelayMs, hedgeDelay(sorted, maxExtraLoad));
  const stats: HedgeStats = {
    sent: 0,
    won: 0,
    delayMs: () => (latencies.count < minSamples ? Number.POSITIVE_INFINITY : latencies.derived(delayOf)),
  };
  const filter: Filter<Req, Res, CallContext> = (req, ctx, next) => {
    // Without a retry layer above, nothing else counts this call into the shared budget.
    if (!ctx.budgetDeposited) {
      params.budget.deposit();
      ctx.budgetDeposited = true;
    }
    backups.deposit();
    // Two copies in flight at once need a body in memory: a stream can be read only once at a time.
    const delay =
      ctx.idempotent && params.adapter.hasInMemoryBody(req) ? stats.delayMs() : Number.POSITIVE_INFINITY;
    if (delay === Number.POSITIVE_INFINITY || delay >= ctx.deadline - clock.now()) {
      return timed(req, ctx, next, clock, latencies);
    }
    return hedged(req, ctx, next, params, backups, stats, latencies, delay);
  };
  return { filter, stats };
}

/** A jump between neighbouring latencies at least this steep starts a tail (weft's choice). */
export const KNEE_RATIO = 3;

/**
 * The hedge delay from the first copies' latencies in ascending order (`Infinity` for a first copy
 * a backup beat), for calls of which at most `maxExtraLoad` may hedge:
 *
 *   floor  = the (1 − maxExtraLoad)-quantile: sooner, more calls would hedge than the budget allows
 *            (Finagle's BackupRequestFilter: the percentile from the extra load);
 *   knee   = the steepest jump, of at least KNEE_RATIO×, between neighbours at or above the floor;
 *            the samples above it are the tail, `tail` their share;
 *   delay  = the (1 − min(maxExtraLoad, 2·tail))-quantile when there is a knee (backups for the tail
 *            and as many calls again from the top of the body, so that the delay is not the body's
 *            noisy maximum), else the floor.
 *
 * The delay is never sooner than the floor, and never inside a tail smaller than the budget. A tail
 * larger than the budget cannot be cut within it: the delay is then the floor, inside the tail.
 * When more than `maxExtraLoad` of the window are first copies that lost to backups (Infinity),
 * the floor is the largest latency measured: backups then go to the calls slower than anything
 * the window saw, and the backup budget caps how many.
 */
export function hedgeDelay(sorted: Float64Array, maxExtraLoad: number): number {
  const n = sorted.length;
  const first = rankOf(n, 1 - maxExtraLoad);
  let knee = -1;
  let steepest = 0;
  for (let i = first; i < n - 1; i++) {
    const low = sorted[i]!;
    const high = sorted[i + 1]!;
    const ratio = low > 0 ? high / low : high > 0 ? Number.POSITIVE_INFINITY : 1;
    if (ratio >= KNEE_RATIO && ratio > steepest) {
      steepest = ratio;
      knee = i;
    }
  }
  const delay = knee < 0 ? sorted[first]! : quantileOf(sorted, 1 - Math.min(maxExtraLoad, 2 * tail(n, knee)));
  return delay < Number.POSITIVE_INFINITY ? delay : largestFinite(sorted);
}

/** The share of `n` sorted latencies above index `knee`. */
function tail(n: number, knee: number): number {
  return (n - 1 - knee) / n;
}

/** The largest finite latency of a sorted window (Infinity when there is none). */
function largestFinite(sorted: Float64Array): number {
  for (let i = sorted.length - 1; i >= 0; i--) if (sorted[i]! < Number.POSITIVE_INFINITY) return sorted[i]!;
  return Number.POSITIVE_INFINITY;
}

/** One attempt, its latency recorded when it succeeds. */
async function timed<Req, Res>(
  req: Req,
  ctx: CallContext,
  next: Next<Req, Res, CallContext>,
  clock: Clock,
  latencies: LatencyWindow,
): Promise<Res> {
  const started = clock.now();
  let res: Res;
  promiseToEndAttempts(ctx); // this frame ends the attempt: the balancer needs no frame of its own
  try {
    res = await next(req, ctx);
  } catch (error) {
    throw ctx.endAttempt(error, true);
  }
  // Classification happens when the attempt is reported; whoever awaits first reports it.
  ctx.endAttempt(res, false);
  const verdict = ctx.classification as ResponseClass | undefined;
  if (verdict === undefined || verdict.kind === 'success') latencies.record(clock.now() - started);
  return res;
}

interface Copy<Res> {
  readonly ctx: CallContext;
  done: boolean;
  failed: boolean;
  response: Res | undefined;
  error: unknown;
}

function hedged<Req, Res>(
  req: Req,
  ctx: CallContext,
  next: Next<Req, Res, CallContext>,
  params: HedgeFilterParams<Req, Res>,
  backups: RetryBudget,
  stats: HedgeStats,
  latencies: LatencyWindow,
  delay: number,
): Promise<Res> {
  const { clock, adapter, budget } = params;
  const callStarted = clock.now();
  return new Promise<Res>((resolve, reject) => {
    const copies: Copy<Res>[] = [];
    let settled = false;
    let timer: TimerHandle | undefined;

    const finish = (winner: Copy<Res>) => {
      settled = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      for (const copy of copies) {
        if (copy === winner) continue;
        if (!copy.done) copy.ctx.cancellation?.abort(new HedgeLostError());
        else if (!copy.failed) adapter.discard(copy.response as Res);
      }
      if (winner !== copies[0]) stats.won++;
      ctx.classification = winner.ctx.classification;
      ctx.endpoint = winner.ctx.endpoint;
      ctx.attempt = Math.max(...copies.map((c) => c.ctx.attempt));
      if (winner.failed) reject(winner.error);
      else resolve(winner.response as Res);
    };

    const start = () => {
      const copy: Copy<Res> = {
        ctx: ctx.fork(new Cancellation()),
        done: false,
        failed: false,
        response: undefined,
        error: undefined,
      };
      // Number the copies one after the other, as attempts of the same call.
      copy.ctx.attempt = ctx.attempt + copies.length;
      if (copies.length > 0) {
        copy.ctx.attemptReason = 'hedge';
      }
      copies.push(copy);
      promiseToEndAttempts(copy.ctx);
      next(req, copy.ctx).then(
        (response) => {
          copy.ctx.endAttempt(response, false);
          copy.done = true;
          copy.response = response;
          const verdict = copy.ctx.classification as ResponseClass | undefined;
          const ok = verdict === undefined || !isFailure(verdict);
          if (settled) {
            adapter.discard(response);
            return;
          }
          if (ok) {
            // The first copy's latency: its own when it won; when a backup beat it, only that it
            // was slower than the backup's whole time, recorded as Infinity so that the tail hedging
            // cut stays in the window (the backup's own, shorter time would pull the delay down and
            // send ever more backups; the caller's would hide the tail from the knee).
            latencies.record(copy === copies[0] ? clock.now() - callStarted : Number.POSITIVE_INFINITY);
            finish(copy);
          } else if (copies.every((c) => c.done)) finish(copy);
        },
        (error: unknown) => {
          copy.done = true;
          copy.failed = true;
          copy.error = copy.ctx.endAttempt(error, true);
          if (!settled && copies.every((c) => c.done)) finish(copy);
        },
      );
    };

    start();
    timer = clock.setTimeout(() => {
      timer = undefined;
      if (settled || copies[0]!.done) return;
      if (ctx.cancelledReason() !== undefined || !backups.tryWithdraw() || !budget.tryWithdraw()) return;
      stats.sent++;
      start();
    }, delay);
  });
}
