/**
 * What telemetry reads of a gRPC call, named by structure so that telemetry depends on no
 * protocol's module (the dependency rules keep src/grpc/ out of reach): the request's method and
 * metadata (src/grpc/request.ts `GrpcRequest`), the response's status (`GrpcResponse`, whose
 * status is undefined while a streaming response is still open), and the status a caller's own
 * cancel carries. A client is gRPC when its protocol reports the scheme `grpc` to telemetry
 * (`TelemetryPlugin.attach(client, { scheme })`). Status and connectivity names are the gRPC
 * spec's (grpc/grpc `doc/statuscodes.md`, `doc/connectivity-semantics-and-api.md`).
 */

/** The scheme a gRPC client reports to telemetry plugins. */
export const GRPC_SCHEME = 'grpc';

/** The method of a gRPC call. */
export interface GrpcMethodShape {
  /** `/package.Service/Method`. */
  readonly path: string;
  /** `package.Service`. */
  readonly service: string;
  /** `Method`. */
  readonly name: string;
}

/** A gRPC request, as telemetry reads it: its method, and the metadata each attempt sends a copy of. */
export interface GrpcRequestShape {
  readonly method: GrpcMethodShape;
  /** grpc-js Metadata: `set` replaces a key's values. */
  readonly metadata: { set(key: string, value: string): void };
}

/** A gRPC response: its final status, undefined while a streaming response is open. */
export interface GrpcResponseShape {
  readonly status: { readonly code: number } | undefined;
}

import { grpcStatusOfError } from '../core/grpc-status.js';

export { grpcStatusName } from '../core/grpc-status.js';

/** Status `OK`. */
export const GRPC_OK = 0;

/**
 * The gRPC status of an outcome: a response's status (undefined for an open stream), the code a
 * caller's own cancel carries (src/grpc/status.ts `GrpcCallCancelled`: code `GRPC_CALL_CANCELLED`,
 * numeric `status`), or for an error weft ended the call with, the status its caller gets
 * (../core/grpc-status.ts).
 */
export function grpcStatusCode(outcome: unknown, failed: boolean): number | undefined {
  if (!failed) return (outcome as GrpcResponseShape | undefined)?.status?.code;
  const error = outcome as { readonly code?: unknown; readonly status?: unknown } | null | undefined;
  if (error?.code === 'GRPC_CALL_CANCELLED' && typeof error.status === 'number') return error.status;
  return grpcStatusOfError(outcome);
}

/**
 * Whether `outcome`, a response the stack returned, is a stream that has not ended: its status
 * comes later, and reaches telemetry through the balancer's late `attemptFinished` with the same
 * response object (src/balance/completion.ts).
 */
export function isOpenGrpcStream(outcome: unknown): boolean {
  return (
    typeof outcome === 'object' && outcome !== null && (outcome as GrpcResponseShape).status === undefined
  );
}

/** `package.Service/Method`: the span name of the RPC conventions, and what a dashboard shows. */
export function grpcMethodName(method: GrpcMethodShape): string {
  return method.service === '' ? method.name : `${method.service}/${method.name}`;
}

/** Connectivity states by number (grpc-js `connectivityState`). */
const CONNECTIVITY_NAMES: readonly string[] = [
  'IDLE',
  'CONNECTING',
  'READY',
  'TRANSIENT_FAILURE',
  'SHUTDOWN',
];

/** The name of connectivity state `state` (`READY`); the number as text for one the spec does not name. */
export function grpcConnectivityName(state: number): string {
  return CONNECTIVITY_NAMES[state] ?? String(state);
}
