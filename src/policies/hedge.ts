/**
 * Hedge filter (backup requests): when an idempotent attempt has not answered within the hedge
 * delay, send a copy to another endpoint and take whichever succeeds first; the other is
 * cancelled. Tail latency drops at a bounded cost, and each hedge also takes a token from the
 * client's retry budget, so hedges cannot pile onto an outage ("The Tail at Scale", Dean &
 * Barroso; Finagle's BackupRequestFilter). It sits below retry (it works inside one try; a failed
 * pair is retried as a whole) and above the attempt filter (each copy is an attempt of its own).
 *
 * The delay ({@link hedgeDelay}): the latency that all but `maxExtraLoad / 2` of calls beat, so
 * steady hedging spends half the budget and leaves half for bursts (Finagle derives its
 * percentile from the extra load it may spend; "The Tail at Scale" hedged past the p95); it fires
 * before the tail when `maxExtraLoad / 2` is above the tail's share (maxExtraLoad 0.03 to 0.05 for
 * a 1% tail). It is taken per block of 500 latencies and the upper quartile of the last nine
 * blocks is used (./block-quantile.ts), so a stall that delays every call in flight at once
 * cannot lift it into the tail; and a backup whose timer ran late (the client was stalled) waits
 * the delay once more.
 * The rate is also capped: backups draw from a budget
 * of their own, `maxExtraLoad` of calls over 10 s plus 10/s (Finagle's BackupRequestFilter keeps
 * such a RetryBudget, percentCanRetry = maxExtraLoad), so a stall that pushes every call in flight
 * past the delay cannot hedge them all; and from the client's retry budget. Defaults:
 * maxExtraLoad 1%, at least 1 ms, no hedging until 100 latencies are known (weft's choice). Only idempotent calls with an in-memory
 * (replayable) body are hedged.
 */

import { Cancellation } from '../core/cancellation.js';
import { isFailure, type ResponseClass } from '../core/classification.js';
import { type Clock, realClock, type TimerHandle } from '../core/clock.js';
import type { CallContext } from '../core/context.js';
import { WeftError } from '../core/errors.js';
import { promiseToEndAttempts } from '../core/frame-elision.js';
import { integerAtLeast, numberInRange, objectOption, optionKeys, positiveNumber } from '../core/options.js';
import type { ProtocolAdapter } from '../core/protocol.js';
import type { Filter, Next } from '../core/service.js';
import { BlockQuantile } from './block-quantile.js';
import { quantileOf } from './latency-window.js';
import { RetryBudget } from './retry-budget.js';

/** Settings of hedging (the client's `hedge` option): how many calls may hedge, and from when. */
export interface HedgeOptions {
  /**
   * Share of calls that may send a backup, 0.0001 to 0.5. Default 0.01: backups past the p99.5;
   * set it above twice the share of calls in the tail you want cut (0.03 to 0.05 for a 1% tail).
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
 * Hedging's defaults: at most 1% of calls send a backup (a backup goes out past the p99.5), never
 * sooner than 1 ms (Finagle's `minSendBackupAfterMs`), and none until 100 latencies are known
 * (weft's choice).
 */
export const HEDGE_DEFAULTS = { maxExtraLoad: 0.01, minDelayMs: 1, minSamples: 100 } as const;

/** A hedge timer that fires less than this early is taken as on time (float rounding), in ms. */
const EARLY_SLACK_MS = 0.05;

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
  /**
   * Backups due (the first copy outlived the delay) but not sent because a budget was empty (the
   * filter's own or the client's retry budget): calls left in the tail.
   */
  refused: number;
  /**
   * Backups put off once because their timer ran late by more than half the delay (the client
   * itself was stalled): the first copy gets the delay again from then.
   */
  rearmed: number;
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
  const { clock } = params;
  // Finagle's BackupRequestFilter: a budget of the filter's own, percentCanRetry = maxExtraLoad.
  const backups = new RetryBudget(clock, { percentCanRetry: maxExtraLoad });
  // Each block of latencies gives its quantile; the delay is their median (./block-quantile.ts).
  const latencies = new BlockQuantile((sorted) => Math.max(minDelayMs, hedgeDelay(sorted, maxExtraLoad)));
  const stats: HedgeStats = {
    sent: 0,
    won: 0,
    refused: 0,
    rearmed: 0,
    delayMs: () => (latencies.count < minSamples ? Number.POSITIVE_INFINITY : latencies.value),
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

/**
 * The hedge delay from the window's latencies in ascending order, for calls of which at most
 * `maxExtraLoad` may hedge: their (1 − maxExtraLoad / 2)-quantile, nearest rank. Finagle's
 * BackupRequestFilter derives its percentile from the extra load it may spend, at
 * 1 − maxExtraLoad; weft aims at half of it, so that hedging in steady state spends half of the
 * backup budget (maxExtraLoad of calls) and the other half is left for bursts, when a stall pushes
 * every call in flight past the delay at once. Aimed at the whole budget, one burst empties it
 * for the rest of its 10 s window and the truly slow calls that follow get no backup (measured in
 * `heavy-tail` at 2 000/s: with maxExtraLoad 0.04 at the p96, a third of due backups were refused
 * and half of the slow calls stayed slow; at the p98, none was refused). "The Tail at Scale" sent
 * backups past the p95 for 5% extra load, the same order. The rule fires before a tail whose
 * share is below maxExtraLoad / 2 (maxExtraLoad ≥ 0.03 for a 1% tail) and inside one that is not.
 * The window holds the latency each caller saw, so a hedged call counts at its backup's answer, not
 * at its first copy's: that value is above the delay either way, so ranks, and the quantile, are
 * the same as with the first copies' own latencies.
 */
export function hedgeDelay(sorted: Float64Array, maxExtraLoad: number): number {
  return quantileOf(sorted, 1 - maxExtraLoad / 2);
}

/** One attempt, its latency recorded when it succeeds. */
async function timed<Req, Res>(
  req: Req,
  ctx: CallContext,
  next: Next<Req, Res, CallContext>,
  clock: Clock,
  latencies: BlockQuantile,
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
  latencies: BlockQuantile,
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
            // The latency the caller saw, from the first copy's start: recording the winning copy's
            // own (shorter) time would pull the delay down and send ever more backups.
            latencies.record(clock.now() - callStarted);
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
    const backup = () => {
      if (settled || copies[0]!.done || ctx.cancelledReason() !== undefined) return;
      if (!backups.tryWithdraw() || !budget.tryWithdraw()) {
        stats.refused++;
        return;
      }
      stats.sent++;
      start();
    };
    let rearmed = false;
    const due = () => {
      timer = undefined;
      // Node's timers count from the loop's cached time, taken before this turn's work, so one
      // can fire up to a turn early: wait out the rest. (At a 3.8 ms delay in a quiet
      // `heavy-tail` run, early timers made 9% of calls due a backup, not 2%, and the budget ran
      // dry.)
      const elapsed = clock.now() - callStarted;
      if (elapsed < delay - EARLY_SLACK_MS) {
        timer = clock.setTimeout(due, delay - elapsed);
        return;
      }
      // The timer ran late by more than half the delay: the client itself was stalled (GC, a busy
      // loop, the process descheduled), so every call in flight is late at once and most first
      // copies are about to answer. Give the first copy the delay again, once, from now: a
      // backup per call in flight would empty the budget the tail needs (measured in
      // `heavy-tail`: a third of due backups refused once the delay no longer rose after stalls).
      if (!rearmed && elapsed > delay * 1.5) {
        rearmed = true;
        stats.rearmed++;
        timer = clock.setTimeout(due, delay);
        return;
      }
      // On Node's loop, timers run before the poll phase: a first copy whose response has arrived
      // in this turn is not done yet. Let the turn's I/O run before deciding (on a busy loop, up
      // to a sixth of calls past a 4 ms delay had in fact answered, and their backups ate the
      // budget that the tail needed). A virtual clock has no such phases.
      if (clock === realClock) setImmediate(backup);
      else backup();
    };
    timer = clock.setTimeout(due, delay);
  });
}
