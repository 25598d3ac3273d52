/**
 * `weft/grpc`: weft's stack under @grpc/grpc-js clients (grpc-js ≥ 1.10, an optional peer
 * dependency). Generated clients are called exactly as before; their calls are balanced (P2C
 * Peak EWMA), retried safely (gRFC A6: never once committed), hedged, bounded by deadlines that
 * travel as `grpc-timeout`, and observed like HTTP calls. See docs/grpc.md.
 *
 * @example
 * const client = createGrpcClient(EchoClient, { endpoints: ['10.0.0.7:50051', '10.0.0.8:50051'] });
 * client.echo({ message: 'hi' }, (error, reply) => { ... });
 */
// First: on a Node.js below the floor, fail here with a clear error, before anything loads.
import './node-check.js';

export {
  createGrpcChannel,
  createGrpcClient,
  type GrpcClientConstructor,
  type WeftGrpcChannel,
} from './grpc/channel.js';
export {
  defaultGrpcClassifier,
  type GrpcClassifier,
  PUSHBACK_KEY,
  statusName,
} from './grpc/classifier.js';
export { DEFAULT_GRPC_REPLAY_BUFFER_BYTES } from './grpc/message-log.js';
export type { GrpcMethod, MethodDefinitionLike, ServiceDefinitionLike } from './grpc/method.js';
export {
  GRPC_CLIENT_DEFAULTS,
  type GrpcClientOptions,
  type GrpcMethodOptions,
  type GrpcTransportOptions,
  type StatusCodeLike,
} from './grpc/options.js';
export type { GrpcRequest, GrpcResponse } from './grpc/request.js';
export {
  type GrpcHedgingPolicy,
  type GrpcMethodConfig,
  type GrpcRetryPolicy,
  type GrpcServiceConfig,
  type ServiceConfigOptions,
  serviceConfigOptions,
} from './grpc/service-config.js';
export { GrpcCallCancelled } from './grpc/status.js';
export {
  type GrpcDeadlineInterceptorOptions,
  grpcDeadlineInterceptor,
} from './server/grpc-deadline.js';
