/**
 * One client of the `overhead` scenario, alone in a process of its own: raw undici Pool, or a
 * contender. A service uses one HTTP client, and two clients sharing a process share undici's
 * call sites and V8's type feedback on them, so each would be timed partly on code shaped by the
 * other: raw Pool's and weft's response handlers, say, make undici's handler calls polymorphic
 * for both. The scenario keeps two such processes warm and runs their rounds back to back, in
 * alternating order (../scenarios/overhead.ts).
 *
 * Argument: JSON {@link OverheadWorkerArgs}. Protocol over IPC: the worker warms up and sends
 * an `OverheadReady`; each `{ round: true }` runs `requests` closed-loop calls and answers
 * with an `OverheadSample`; `{ close: true }` closes the client and exits (./overhead-rounds.ts).
 */
import { Registry } from 'prom-client';
import { type ContenderName, DEFAULT_SETTINGS, makeContender, weftOptions, weftSend } from '../contenders.js';
import type { Send } from '../load.js';
import { weft, weftOpenTelemetry, weftPrometheus } from '../weft.js';
import { type OverheadRoundsArgs, serveOverheadRounds } from './overhead-rounds.js';

export interface OverheadWorkerArgs extends OverheadRoundsArgs {
  /** A contender, or `weft-telemetry`: weft with metrics and tracing (no SDK), in `overhead` only. */
  contender: ContenderName | 'weft-telemetry';
}

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
await serveOverheadRounds(client, args);
