/**
 * One client of the `grpc-overhead` scenario, alone in a process of its own: raw grpc-js, or weft's
 * gRPC client, each on one channel to the one replica. Two clients sharing a process would share
 * grpc-js's call sites and V8's type feedback on them (weft's calls drive grpc-js's channel
 * from its own call object), so each would be timed partly on code shaped by the other. The
 * scenario keeps two such processes warm and runs their rounds back to back, in alternating order
 * (../scenarios/grpc-overhead.ts). The same protocol as ./overhead-worker.ts.
 *
 * Argument: JSON {@link GrpcOverheadWorkerArgs}. Protocol over IPC: the worker warms up and sends
 * an {@link OverheadReady}; each `{ round: true }` runs `requests` closed-loop calls and answers
 * with an {@link OverheadSample}; `{ close: true }` closes the client and exits.
 */
import { type GrpcContenderName, makeGrpcContender } from '../grpc-contenders.js';
import { closedLoop } from '../load.js';
import type { OverheadMessage, OverheadReady, OverheadReply, OverheadSample } from './overhead-worker.js';

export type { OverheadMessage, OverheadReady, OverheadReply, OverheadSample };

export interface GrpcOverheadWorkerArgs {
  /** `grpc-js` (raw, one channel) or `weft` (weft's gRPC client, one endpoint: one channel). */
  contender: Extract<GrpcContenderName, 'weft' | 'grpc-js'>;
  address: string;
  requests: number;
  concurrency: number;
  /** Least time to spend warming up, in ms, besides the least number of calls. */
  warmUpMs: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as GrpcOverheadWorkerArgs;
const client = makeGrpcContender(args.contender, [args.address]);

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

// Warm up to a steady state, as ./overhead-worker.ts does and for the same reasons: at least
// 20 000 calls (capped at four rounds for the harness's tests) and at least `warmUpMs` of calls.
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
