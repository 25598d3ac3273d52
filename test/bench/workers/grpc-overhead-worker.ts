/**
 * One client of the `grpc-overhead` scenario, alone in a process of its own: raw grpc-js, or weft's
 * gRPC client, each on one channel to the one replica. Two clients sharing a process would share
 * grpc-js's call sites and V8's type feedback on them (weft's calls drive grpc-js's channel
 * from its own call object), so each would be timed partly on code shaped by the other. The
 * scenario keeps two such processes warm and runs their rounds back to back, in alternating order
 * (../scenarios/grpc-overhead.ts).
 *
 * Argument: JSON {@link GrpcOverheadWorkerArgs}. Protocol over IPC: the worker warms up and sends
 * an `OverheadReady`; each `{ round: true }` runs `requests` closed-loop calls and answers
 * with an `OverheadSample`; `{ close: true }` closes the client and exits (./overhead-rounds.ts).
 */
import { type GrpcContenderName, makeGrpcContender } from '../grpc-contenders.js';
import { type OverheadRoundsArgs, serveOverheadRounds } from './overhead-rounds.js';

export interface GrpcOverheadWorkerArgs extends OverheadRoundsArgs {
  /** `grpc-js` (raw, one channel) or `weft` (weft's gRPC client, one endpoint: one channel). */
  contender: Extract<GrpcContenderName, 'weft' | 'grpc-js'>;
}

const args = JSON.parse(process.argv[2] ?? '{}') as GrpcOverheadWorkerArgs;
await serveOverheadRounds(makeGrpcContender(args.contender, [args.address]), args);
