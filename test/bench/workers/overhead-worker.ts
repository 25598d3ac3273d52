/**
 * One client of the `overhead` scenario, alone in a process of its own: raw undici Pool, or a
 * contender. A service uses one HTTP client, and two clients sharing a process share undici's
 * call sites and V8's type feedback on them, so each would be timed partly on code shaped by the
 * other: raw Pool's and weft's response handlers, say, make undici's handler calls polymorphic
 * for both. The scenario keeps two such processes warm and runs their rounds back to back, in
 * alternating order (../scenarios/overhead.ts).
 *
 * Argument: JSON {@link OverheadWorkerArgs}. Protocol over IPC: the worker warms up and sends
 * `{ ready: true }`; each `{ round: true }` runs `requests` closed-loop calls and answers with a
 * {@link OverheadSample}; `{ close: true }` closes the client and exits.
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
}

export interface OverheadSample {
  rps: number;
  /** Client CPU (user + system) per call, in µs. */
  cpu: number;
  failed: number;
}

export type OverheadMessage = { round: true } | { close: true };
export type OverheadReply = { ready: true } | OverheadSample;

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
const reply = (r: OverheadReply) => process.send?.(r);

// Warm up until V8 has optimized the hot path (about 20 000 calls here; fewer left weft partly
// unoptimized in the first rounds), capped at the size of a round for the harness's tests.
await closedLoop(client.send, Math.min(20_000, args.requests * 4), args.concurrency);
process.on('message', (message: OverheadMessage) => {
  if ('close' in message) {
    void client.close().finally(() => process.disconnect());
    return;
  }
  void closedLoop(client.send, args.requests, args.concurrency).then((result) =>
    reply({ rps: result.rps, cpu: result.cpuUsPerCall, failed: result.failed }),
  );
});
reply({ ready: true });
