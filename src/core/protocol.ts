/**
 * The protocol adapter: the little that protocol-agnostic filters (deadline, attempt, and later
 * retry and hedge) need to know about a request, supplied by `http/` or `grpc/`. Filters never
 * look inside a request themselves.
 */

export interface ProtocolAdapter<Req> {
  /**
   * Write the outbound deadline (the attempt's remaining time, in ms) on the request, replacing
   * any value an earlier attempt wrote. HTTP: the `weft-timeout-ms` header; gRPC: `grpc-timeout`.
   */
  writeDeadline(req: Req, remainingMs: number): void;
}
