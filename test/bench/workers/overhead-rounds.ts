/**
 * The worker side of the closed-loop overhead scenarios (`overhead`, `grpc-overhead`), whatever
 * the client: the IPC protocol a worker speaks with ../scenarios/paired-rounds.ts, and
 * {@link serveOverheadRounds}, which warms a client up to a steady state, says it is ready, then
 * runs one round of closed-loop calls per question until told to close. Each worker
 * (./overhead-worker.ts, ./grpc-overhead-worker.ts) only builds its client.
 */

import { closedLoop } from '../load.js';
import type { ClosableContender } from '../scenarios/common.js';

/** What every overhead worker is given (JSON, argv[2]), besides which client it runs. */
export interface OverheadRoundsArgs {
  address: string;
  /** Calls per round. */
  requests: number;
  /** Calls in flight at once. */
  concurrency: number;
  /** Least time to spend warming up, in ms, besides the least number of calls. */
  warmUpMs: number;
}

export interface OverheadSample {
  rps: number;
  /** Client CPU (user + system) per call, in µs. */
  cpu: number;
  failed: number;
}

export type OverheadMessage = { round: true } | { close: true };
/** Sent once warm: how long the warm-up took (ms) and how many calls it made. */
export interface OverheadReady {
  ready: true;
  warmUpMs: number;
  warmUpCalls: number;
}

export type OverheadReply = OverheadReady | OverheadSample;

/**
 * Warm `client` up, say so to the parent, then answer each `{ round: true }` with one round's
 * {@link OverheadSample}; `{ close: true }` closes the client and lets the process end.
 */
export async function serveOverheadRounds(
  client: ClosableContender,
  args: OverheadRoundsArgs,
): Promise<void> {
  /**
   * Answer the parent. Once the channel is closed (the parent closed it, or died: a test that
   * timed out) there is nobody to answer, and `process.send` would throw ERR_IPC_CHANNEL_CLOSED: stop.
   */
  const reply = (r: OverheadReply) => {
    if (!process.connected) process.exit(0);
    process.send?.(r, undefined, {}, (error) => {
      if (error) process.exit(0);
    });
  };
  // An orphan stops at once rather than finish its warm-up or round for nobody.
  process.on('disconnect', () => process.exit(0));

  // Warm up to a steady state: at least 20 000 calls (capped at four rounds for the harness's
  // tests) and at least `warmUpMs` of calls. Counted calls alone were not enough: CPU per call
  // kept falling for about 1.5 s from the first call, for weft longer than for raw Pool, and
  // timers that first fire a second or more into the run (weft's per-attempt and total timeouts,
  // undici's) are part of the steady state too.
  const leastWarmUpCalls = Math.min(20_000, args.requests * 4);
  const warmUpStart = performance.now();
  let warmUpCalls = 0;
  while (warmUpCalls < leastWarmUpCalls || performance.now() - warmUpStart < args.warmUpMs) {
    await closedLoop(client.send, args.requests, args.concurrency);
    warmUpCalls += args.requests;
  }
  const warmUpMs = performance.now() - warmUpStart;
  process.on('message', (message: OverheadMessage) => {
    if ('close' in message) {
      void client.close().finally(() => process.disconnect());
      return;
    }
    void closedLoop(client.send, args.requests, args.concurrency).then((result) =>
      reply({ rps: result.rps, cpu: result.cpuUsPerCall, failed: result.failed }),
    );
  });
  reply({ ready: true, warmUpMs, warmUpCalls });
}
