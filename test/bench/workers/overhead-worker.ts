/**
 * One contender's `overhead` rounds, in a process of its own beside raw undici Pool. A service
 * uses one HTTP client; contenders sharing a process would also share undici's call sites and
 * V8's type feedback on them, so each would be timed partly on code shaped by the others. Each
 * round runs raw Pool and the contender back to back, in alternating order; prints one JSON line
 * with every round's figures. Argument: JSON { contender, address, requests, concurrency, rounds }.
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
  rounds: number;
}

export interface OverheadRound {
  rawRps: number;
  rawCpu: number;
  rps: number;
  cpu: number;
  failed: number;
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

const raw = makeContender('undici-pool', [args.address], settings);
const contender =
  args.contender === 'weft-telemetry'
    ? telemetryClient()
    : makeContender(args.contender, [args.address], settings);
try {
  const warm = Math.min(2_000, args.requests);
  await closedLoop(raw.send, warm, args.concurrency);
  await closedLoop(contender.send, warm, args.concurrency);
  const rounds: OverheadRound[] = [];
  for (let r = 0; r < args.rounds; r++) {
    const rawFirst = r % 2 === 0;
    const first = await closedLoop(rawFirst ? raw.send : contender.send, args.requests, args.concurrency);
    const second = await closedLoop(rawFirst ? contender.send : raw.send, args.requests, args.concurrency);
    const [rawResult, result] = rawFirst ? [first, second] : [second, first];
    rounds.push({
      rawRps: rawResult.rps,
      rawCpu: rawResult.cpuUsPerCall,
      rps: result.rps,
      cpu: result.cpuUsPerCall,
      failed: result.failed + rawResult.failed,
    });
  }
  process.stdout.write(`${JSON.stringify(rounds)}\n`);
} finally {
  await contender.close();
  await raw.close();
}
