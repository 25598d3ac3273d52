/**
 * What every weft client shows of itself, whatever its protocol: the state of its endpoints, its
 * discovery, retry budget, hedging, breaker and throttling, its roles and strategy, and `close`.
 * The stack client implements it (./stack-client.ts); a protocol's client (`HttpClient`) extends
 * it with its own ways in. Dashboards, telemetry plugins and the admin page read clients this way.
 */
import type { EndpointSetSnapshot } from '../discovery/endpoint-set.js';
import type { AdaptiveThrottleStats } from '../policies/adaptive-throttle.js';
import type { CircuitBreakerHandle } from '../policies/circuit-breaker.js';
import type { AccrualState } from '../policies/failure-accrual.js';
import type { HedgeStats } from '../policies/hedge.js';
import type { RetryBudget } from '../policies/retry-budget.js';

/** Live state of one endpoint, for dashboards and the demo. */
export interface EndpointStats {
  readonly address: string;
  readonly status: 'open' | 'busy' | 'closed';
  readonly pending: number;
  /**
   * The load metric's cost now, read without disturbing it. Its unit is the strategy's: Peak EWMA
   * gives estimate × (pending + 1) in ms; round robin and least loaded give the pending count.
   */
  readonly cost: number;
  /** The RTT estimate in ms behind the cost (Peak EWMA's average); absent for strategies without one. */
  readonly ewmaMs?: number | undefined;
  /** Attempts that ended in the last 30 s (the classifier's `ignorable` ones not counted). */
  readonly attempts: number;
  /** The share of those attempts that succeeded, as the classifier judged them; NaN when there were none. */
  readonly successRate: number;
  readonly weight: number;
  /** Failure accrual's view of the endpoint (alive, dead = ejected, probing); absent when off. */
  readonly accrual?: AccrualState | undefined;
}

/** A client's state, read the same way for every protocol. */
export interface ClientView {
  readonly name: string;
  /** The retry budget shared by this client's retries and hedges (`balance()` for dashboards). */
  readonly retryBudget: RetryBudget;
  /** Hedges sent and won, and the current hedge delay; undefined when hedging is off. */
  readonly hedgeStats: HedgeStats | undefined;
  /** The circuit breaker's state and transitions; undefined when there is none. */
  readonly circuitBreaker: CircuitBreakerHandle | undefined;
  /** Adaptive throttling counts and the current rejection probability; undefined when off. */
  throttleStats(): AdaptiveThrottleStats | undefined;
  /** The roles of the call stack, outermost first. */
  readonly roles: readonly string[];
  /** Name of the balancing strategy. */
  readonly strategy: string;
  /** Live state of every endpoint. */
  endpoints(): EndpointStats[];
  /** The discovery state: kind, staleness, last error. */
  discovery(): EndpointSetSnapshot;
  /** Stop taking calls; resolves when in-flight calls have finished and every socket and timer is gone. */
  close(): Promise<void>;
}
