/**
 * What a benchmark backend replica does (./backend-process.ts for HTTP, ./grpc-backend-process.ts
 * for gRPC), and the IPC messages that change it.
 */

export interface Behaviour {
  /** Added latency before answering, in ms. Default 0. */
  latencyMs?: number;
  /** A heavy tail: with probability `p`, the latency is `ms` instead. */
  tail?: { p: number; ms: number };
  /** Share of requests answered with `errorStatus` (`grpcStatus` in a gRPC replica), 0 to 1. Default 0. */
  errorRate?: number;
  /** Default 503. */
  errorStatus?: number;
  /** gRPC replicas (./grpc-backend-process.ts): the status code of the failing share. Default 14, UNAVAILABLE. */
  grpcStatus?: number;
  /**
   * `serve` (default) answers; `hang` reads the request and never answers; `reset` destroys the
   * connection when a request arrives (HTTP replicas only); `refuse` stops listening, so
   * connecting is refused.
   */
  mode?: 'serve' | 'hang' | 'reset' | 'refuse';
}

export type BackendMessage =
  | { id: number; type: 'configure'; behaviour: Behaviour }
  | { id: number; type: 'stats'; reset?: boolean };

export type BackendReply =
  | { id: number; type: 'ok' }
  | { id: number; type: 'error'; message: string }
  /** `statuses`: by HTTP status (`'200'`), or in a gRPC replica by status code name (`'OK'`). */
  | { id: number; type: 'stats'; seen: number; statuses: Record<string, number> };
