/**
 * One client of the `overhead` scenario, alone in a process of its own: raw undici Pool, or a
 * contender. A service uses one HTTP client, and two clients sharing a process share undici's
 * call sites and V8's type feedback on them, so each would be timed partly on code shaped by the
 * other: raw Pool's and weft's response handlers, say, make undici's handler calls polymorphic
 * for both. The scenario keeps two such processes warm and runs their rounds back to back, in
 * alternating order (../scenarios/overhead.ts).
 *
 * Argument: JSON {@link OverheadWorkerArgs}. Protocol over IPC: the worker warms up and sends
 * an {@link OverheadReady}; each `{ round: true }` runs `requests` closed-loop calls and answers
 * with an {@link OverheadSample}; `{ close: true }` closes the client and exits.
 */
import { Registry } from 'prom-client';
import { type ContenderName, DEFAULT_SETTINGS, makeContender, weftOptions, weftSend } from '../contenders.js';
import { closedLoop, type Send } from '../load.js';
import { weft, weftOpenTelemetry, weftPrometheus } from '../weft.js';

export interface OverheadWorkerArgs {
  /** A contender, or `weft-telemetry`: weft with metrics and tracing (no SDK), in `overhead` only. */
  contender: ContenderName | 'weft-telemetry';
  address: string;
  requests: number;
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

const args = JSON.parse(process.argv[2] ?? '{}') as OverheadWorkerArgs;
const settings = { ...DEFAULT_SETTINGS, connections: args.concurrency };

function telemetryClient(): { send: Send; close(): Promise<void> } {
  const client = weft.createHttpClient({
    endpoints: [args.address],
    ...weftOptions(settings),
    telemetry: [
      weftPrometheus.prometheusMetrics({ registry: new Registry() }),
      weftOpenTelemetry.openTelemetryTracing(),
    ],
  });
  return { send: weftSend(client), close: () => client.close() };
}

const client =
  args.contender === 'weft-telemetry'
    ? telemetryClient()
    : makeContender(args.contender, [args.address], settings);
/**
 * Answer the parent. Once the channel is closed (the parent closed it, or died: a test that timed
 * out) there is nobody to answer, and `process.send` would throw ERR_IPC_CHANNEL_CLOSED: stop.
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
