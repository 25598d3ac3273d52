/**
 * grpc-overhead: closed-loop unary calls through weft's gRPC client (createGrpcClient, from the
 * build) against raw grpc-js, both to the same grpc-js server in a process of its own, each on
 * one channel (one HTTP/2 connection): throughput and client CPU per call, as ratios to raw
 * grpc-js in the same round. The method is `overhead`'s (./paired-rounds.ts): every client alone
 * in a process of its own, warmed up to a steady state, paired with a raw grpc-js process, rounds
 * back to back in alternating order, spread over two fresh pairs of processes; raw grpc-js paired
 * with itself is the control, whose ratio should be 1. Figures are medians over rounds.
 */
import { GRPC_LABELS } from '../grpc-contenders.js';
import type { ScenarioResult } from '../result.js';
import type { GrpcOverheadWorkerArgs } from '../workers/grpc-overhead-worker.js';
import {
  controlKey,
  failedCalls,
  measureOverhead,
  type OverheadRunOptions,
  overheadChart,
  overheadRows,
  overheadTable,
  processPairsFor,
} from './overhead-method.js';

/** Calls per client per round; calls in flight at once, all on the client's one channel. */
export type GrpcOverheadOptions = OverheadRunOptions;

type Entry = GrpcOverheadWorkerArgs['contender'];
/** Raw grpc-js paired with raw grpc-js (the control), then weft paired with raw grpc-js. */
const ENTRIES: readonly Entry[] = ['grpc-js', 'weft'];
const RAW = 'grpc-js';
const CONTROL = controlKey(RAW);
const worker = new URL('../workers/grpc-overhead-worker.ts', import.meta.url);
/** weft's gRPC client keeps at least this share of raw grpc-js's throughput; below, `npm run bench` fails. */
export const GRPC_THROUGHPUT_FLOOR = 0.9;
/** What issue 14 aims for; reported beside the floor, not enforced. */
export const GRPC_THROUGHPUT_GOAL = 0.95;

export async function grpcOverhead(options: GrpcOverheadOptions): Promise<ScenarioResult> {
  const measured = await measureOverhead(options, {
    worker,
    protocol: 'grpc',
    raw: RAW,
    entries: ENTRIES,
  });
  const rows = overheadRows(measured, RAW, GRPC_LABELS);
  const of = (key: string) => rows.find((x) => x.key === key)!;
  return {
    scenario: 'grpc-overhead',
    summary: `${options.rounds} rounds of ${options.requests} closed-loop unary calls per client and raw grpc-js, ${options.concurrency} in flight on one channel, one grpc-js server process; every client alone in a process of its own, warmed up for at least ${options.warmUpMs / 1_000} s, each paired with raw grpc-js in ${processPairsFor(options.rounds)} fresh pairs of processes; weft's throughput ratio has a floor of ${GRPC_THROUGHPUT_FLOOR} and a goal of ${GRPC_THROUGHPUT_GOAL}`,
    tables: [
      overheadTable(rows, RAW, [
        'client',
        'calls/s',
        'µs CPU/call',
        'throughput ÷ grpc-js',
        'IQR',
        'CPU ratio',
      ]),
    ],
    charts: [
      overheadChart(rows, {
        title:
          'gRPC unary, closed loop: throughput and CPU efficiency relative to raw grpc-js (median of rounds)',
        unit: '× grpc-js',
        cpuEfficiency: 'CPU efficiency (grpc-js CPU ÷ own CPU)',
      }),
    ],
    headline: {
      weftThroughputRatio: of('weft').throughputRatio,
      weftCpuRatio: of('weft').cpuRatio,
      controlThroughputRatio: of(CONTROL).throughputRatio,
      failedCalls: failedCalls(measured),
    },
    floors: [
      {
        name: 'weftThroughputRatio',
        floor: GRPC_THROUGHPUT_FLOOR,
        meaning: "weft's gRPC client, unary throughput ÷ raw grpc-js",
      },
    ],
    details: { options, rows },
  };
}
