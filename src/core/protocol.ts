/**
 * The protocol adapter: the little that protocol-agnostic filters (deadline, attempt, retry,
 * hedge) need to do to a request, supplied by `http/` or `grpc/`. Filters never look inside a
 * request themselves. The rest of what a protocol gives the stack client (its transport, its
 * idempotency rule, its default classifier, late outcomes) is src/client/protocol.ts.
 */

export interface ProtocolAdapter<Req, Res = unknown> {
  /**
   * Write the outbound deadline (the attempt's remaining time, in ms) on the request, replacing
   * any value an earlier attempt wrote. HTTP: the `weft-timeout-ms` header; gRPC: `grpc-timeout`.
   */
  writeDeadline(req: Req, remainingMs: number): void;
  /** Write the attempt number (2 for the first retry) so servers and traces can see retries. */
  writeAttempt(req: Req, attempt: number): void;
  /**
   * Before the first attempt of a call that may be retried: make the body replayable if it can
   * be (a stream gets a bounded copy). Called only when retries or hedges are possible.
   */
  prepareReplay(req: Req): void;
  /** Is the body held in memory, so that two copies can be sent at once (hedging)? */
  hasInMemoryBody(req: Req): boolean;
  /** Before another attempt: rewind the body. False when it cannot be replayed (send nothing). */
  rewind(req: Req): boolean;
  /** Release a response that will not be returned (a retried 503): drain or destroy its body. */
  discard(res: Res): void;
  /**
   * A copy of a request to send as a probation probe (src/balance/probation.ts), marked so that
   * servers can tell it from callers' requests (HTTP: `weft-probe: 1`), as Envoy marks mirrored
   * requests. Absent: the probe is the request itself, unmarked.
   */
  probeCopy?(req: Req): Req;
}
