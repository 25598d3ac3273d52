/**
 * Telemetry hooks: what metrics and traces see of a client, at the points where the stack
 * already knows it, so that telemetry adds no promise reaction of its own: the observe role (a
 * call enters; it hears the end through CallContext.finishCall), the balancer (an attempt is sent
 * to an endpoint; it settled, classified), retry (a retry or requeue; the budget said no), failure
 * accrual (ejected, probed, returned), the breaker (transitions) and discovery (updates).
 * Implementations: `weft/prometheus` (metrics) and `weft/opentelemetry` (traces).
 */
import type { BalancerObserver } from '../balance/observer.js';
import type { CallInfo } from '../core/call-info.js';
import type { Endpoint, EndpointSetSnapshot } from '../core/endpoint.js';

/** A client as telemetry sees it: enough to read gauges at scrape time. */
export interface ObservedClient {
  readonly name: string;
  readonly strategy: string;
  endpoints(): ReadonlyArray<{
    readonly address: string;
    readonly status: 'open' | 'busy' | 'closed';
    readonly pending: number;
    readonly cost: number;
    readonly accrual?: { readonly state: string } | undefined;
  }>;
  discovery(): EndpointSetSnapshot;
  readonly retryBudget: { balance(): number };
  readonly circuitBreaker?: { state(): 'closed' | 'open' | 'half-open' } | undefined;
  readonly hedgeStats?: { readonly sent: number; readonly won: number } | undefined;
}

/**
 * The hooks of one client's telemetry. Every hook is optional and must never throw. The per-attempt
 * hooks (`attemptStarted`, `attemptFinished`, `endpointRemoved`) are the balancer's observer.
 */
export interface ClientTelemetry extends BalancerObserver {
  /** A call enters the stack (below route, above deadline). */
  callStarted?(req: unknown, ctx: CallInfo): void;
  /** The call ended: the response, or the error the caller gets. */
  callFinished?(ctx: CallInfo, failed: boolean, outcome: unknown): void;
  /** Another attempt is about to go: a requeue (the server never saw it) or a retry. */
  retried?(ctx: CallInfo, requeue: boolean): void;
  /** The retry budget refused a retry. */
  budgetExhausted?(ctx: CallInfo): void;
  /** Failure accrual ejected, probed, or returned an endpoint. */
  ejected?(address: string): void;
  probed?(address: string): void;
  returned?(address: string): void;
  /** The circuit breaker changed state. */
  breakerChanged?(to: 'closed' | 'open' | 'half-open'): void;
  /** Discovery published a new state. */
  discoveryUpdated?(snapshot: EndpointSetSnapshot): void;
  /** The client closed. */
  close?(): void;
}

/** A telemetry implementation: attached once to each client that uses it. */
export interface TelemetryPlugin {
  attach(client: ObservedClient, info: { readonly scheme: string }): ClientTelemetry;
}

/**
 * One ClientTelemetry that forwards every hook to several (explicit parameters: no array per call).
 * Which parts have the per-call hooks is read once, here: a part's hooks are its methods when attached.
 */
export function fanOut(parts: readonly ClientTelemetry[]): ClientTelemetry {
  return parts.length === 1 ? parts[0]! : new FanOut(parts);
}

/** The parts that have `hook`, in order: found once, so that a call visits only those. */
function having(parts: readonly ClientTelemetry[], hook: keyof ClientTelemetry): readonly ClientTelemetry[] {
  return parts.filter((p) => p[hook] !== undefined);
}

class FanOut implements ClientTelemetry {
  // The hooks of every call and attempt go only to the parts that have them (Prometheus has no
  // attemptStarted); the rare ones ask each part.
  readonly #callStarted: readonly ClientTelemetry[];
  readonly #callFinished: readonly ClientTelemetry[];
  readonly #attemptStarted: readonly ClientTelemetry[];
  readonly #attemptFinished: readonly ClientTelemetry[];

  constructor(private readonly parts: readonly ClientTelemetry[]) {
    this.#callStarted = having(parts, 'callStarted');
    this.#callFinished = having(parts, 'callFinished');
    this.#attemptStarted = having(parts, 'attemptStarted');
    this.#attemptFinished = having(parts, 'attemptFinished');
  }

  callStarted(req: unknown, ctx: CallInfo): void {
    const parts = this.#callStarted;
    for (let i = 0; i < parts.length; i++) parts[i]!.callStarted!(req, ctx);
  }
  callFinished(ctx: CallInfo, failed: boolean, outcome: unknown): void {
    const parts = this.#callFinished;
    for (let i = 0; i < parts.length; i++) parts[i]!.callFinished!(ctx, failed, outcome);
  }
  attemptStarted(req: unknown, ctx: CallInfo, endpoint: Endpoint, cost: number): void {
    const parts = this.#attemptStarted;
    for (let i = 0; i < parts.length; i++) parts[i]!.attemptStarted!(req, ctx, endpoint, cost);
  }
  attemptFinished(
    ctx: CallInfo,
    endpoint: Endpoint,
    failed: boolean,
    outcome: unknown,
    durationMs: number,
  ): void {
    const parts = this.#attemptFinished;
    for (let i = 0; i < parts.length; i++)
      parts[i]!.attemptFinished!(ctx, endpoint, failed, outcome, durationMs);
  }
  retried(ctx: CallInfo, requeue: boolean): void {
    for (const p of this.parts) p.retried?.(ctx, requeue);
  }
  budgetExhausted(ctx: CallInfo): void {
    for (const p of this.parts) p.budgetExhausted?.(ctx);
  }
  ejected(address: string): void {
    for (const p of this.parts) p.ejected?.(address);
  }
  probed(address: string): void {
    for (const p of this.parts) p.probed?.(address);
  }
  returned(address: string): void {
    for (const p of this.parts) p.returned?.(address);
  }
  breakerChanged(to: 'closed' | 'open' | 'half-open'): void {
    for (const p of this.parts) p.breakerChanged?.(to);
  }
  discoveryUpdated(snapshot: EndpointSetSnapshot): void {
    for (const p of this.parts) p.discoveryUpdated?.(snapshot);
  }
  endpointRemoved(address: string): void {
    for (const p of this.parts) p.endpointRemoved?.(address);
  }
  close(): void {
    for (const p of this.parts) p.close?.();
  }
}
