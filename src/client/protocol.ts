/**
 * What a protocol gives the stack client, and nothing more (Finagle's `EndpointerStackClient`:
 * a protocol supplies its endpointer). Everything else (discovery, balancing, the call and
 * endpoint stacks, retries, hedging, accrual, the breaker, throttling, telemetry, the shared
 * options) is the stack client's (./stack-client.ts), the same for every protocol. A protocol
 * also writes its facade (HTTP: `fetch`, `request`, the Dispatcher in src/http/client.ts), which
 * turns its callers' shapes into `Req` and calls the stack client. docs/architecture.md, "Adding a
 * protocol", walks through HTTP's and sketches gRPC's.
 */
import type { CompletionTracker } from '../balance/completion.js';
import type { ProtocolAdapter } from '../core/protocol.js';
import type { Service } from '../core/service.js';
import type { Endpoint } from '../discovery/endpoint.js';
import type { AnsweringClassifier } from './classify-attempt.js';

export interface ClientProtocol<Req, Res> {
  /** What the filters do to a request: deadline and attempt headers, replay, discard (src/core/protocol.ts). */
  readonly adapter: ProtocolAdapter<Req, Res>;
  /**
   * The transport of one endpoint, the bottom of its endpoint stack: made once when discovery
   * adds the endpoint, closed when it leaves or the client closes. It notes `ctx.requestWritten`
   * and listens to `ctx.cancellation` (or `ctx.signal` when there is none). It may throw a
   * ConfigError (a bad user-supplied factory): the endpoint set is then not applied.
   */
  readonly makeTransport: (endpoint: Endpoint) => Service<Req, Res>;
  /**
   * Whether a request may be sent twice (HTTP: RFC 9110 methods, an `Idempotency-Key` header).
   * `declared` is the caller's own say for this call, which wins. Called once per call.
   */
  readonly isIdempotent: (req: Req, declared: boolean | undefined) => boolean;
  /** The protocol's default classifier; a user's classifier defers to it (HTTP: defaultHttpClassifier). */
  readonly defaultClassifier: AnsweringClassifier<Req, Res>;
  /**
   * Optional fast path: a response the default classifier would call a success, told cheaply
   * (HTTP: any status below 500 but 429). Used only while no user classifier is in play.
   */
  readonly plainSuccess?: ((response: Res) => boolean) | undefined;
  /**
   * For protocols whose responses can come before their outcome (a gRPC stream, whose status
   * comes last): how the balancer learns that outcome (src/balance/completion.ts). HTTP has none.
   */
  readonly completion?: CompletionTracker<Res> | undefined;
  /** What telemetry plugins are told of the client: the URL scheme of its requests (`http`, `https`, `grpc`). */
  readonly scheme: string;
}
