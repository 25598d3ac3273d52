/**
 * `weft/policies`: the building blocks of weft's stacks, for code that goes beyond the options of
 * `createHttpClient`: a filter or endpoint layer of your own (the `stack` and `endpointStack`
 * options), a policy used on its own (`circuitBreaker`, `failureAccrual`, `adaptiveThrottle`,
 * `RetryBudget`), a server's adaptive concurrency limits (`gradient2`, `vegas`, `aimd`,
 * `fixedLimit`, and the `ConcurrencyLimiter` that enforces them), the defaults each policy starts
 * from, the headers weft writes and reads, and the telemetry plugin contract. docs/custom-stacks.md
 * shows them at work. What most users need (clients, resolvers, strategies, errors, the ambient
 * deadline, the admin page) is in `weft`.
 */
// First: on a Node.js below the floor, fail here with a clear error, before undici loads.
import './node-check.js';

// Load balancing: the defaults of the strategies in `weft`.
export { DEFAULT_MAX_EFFORT } from './balance/p2c.js';
export { DEFAULT_DECAY_MS, DEFAULT_RTT_MS } from './balance/peak-ewma.js';
export { PROBATION_DEFAULTS, type ProbationOptions } from './balance/probation.js';
// Stacks: the call stack's filters and the endpoint stack's layers.
export type { EndpointLayer } from './client/endpoint-stack.js';
export { filterLayer } from './client/endpoint-stack.js';
// The telemetry plugin contract (weft/prometheus and weft/opentelemetry implement it).
export type { ClientTelemetry, ObservedClient, TelemetryPlugin } from './client/telemetry.js';
export type { AttemptReason, CallInfo } from './core/call-info.js';
export type { Classifier, ResponseClassName } from './core/classification.js';
export type { TimerHandle } from './core/clock.js';
export { realClock } from './core/clock.js';
export { MAX_INCOMING_TIMEOUT_MS, parseDeadlineHeader } from './core/deadline-header.js';
export type { Event } from './core/events.js';
export type { Filter, Next, Service, ServiceStatus } from './core/service.js';
export { Stack, type StackEntry } from './core/stack.js';
// HTTP: the headers weft writes and reads, and the request's parts.
export { ATTEMPT_HEADER, PROBE_HEADER } from './http/protocol/adapter.js';
export { NACK_HEADER } from './http/protocol/classifier.js';
export { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_METHODS } from './http/protocol/idempotency.js';
export type { HeadersInput, HttpBody, HttpHeaders } from './http/protocol/request.js';
export { DEFAULT_REPLAY_BUFFER_BYTES } from './http/transport/replayable-body.js';
export {
  ADAPTIVE_THROTTLE_DEFAULTS,
  type AdaptiveThrottleOptions,
  adaptiveThrottle,
} from './policies/adaptive-throttle.js';
export {
  CIRCUIT_BREAKER_DEFAULTS,
  type CircuitBreakerOptions,
  circuitBreaker,
} from './policies/circuit-breaker.js';
// The policies, their options and their defaults.
// Adaptive concurrency limits for a server (docs/server.md, "Adaptive concurrency").
export { AIMD_DEFAULTS, type AimdOptions, aimd } from './policies/concurrency-limit/aimd.js';
export { fixedLimit } from './policies/concurrency-limit/fixed.js';
export {
  GRADIENT2_DEFAULTS,
  type Gradient2Options,
  gradient2,
} from './policies/concurrency-limit/gradient2.js';
export type { ConcurrencyLimit, LimitSample } from './policies/concurrency-limit/limit.js';
export { ConcurrencyLimiter, type LimiterPermit } from './policies/concurrency-limit/limiter.js';
export { VEGAS_DEFAULTS, type VegasOptions, vegas } from './policies/concurrency-limit/vegas.js';
export {
  WINDOWED_LIMIT_DEFAULTS,
  type WindowOptions,
  windowedLimit,
} from './policies/concurrency-limit/windowed.js';
export { DEFAULT_TOTAL_TIMEOUT_MS } from './policies/deadline.js';
export {
  type AccrualEjection,
  FAILURE_ACCRUAL_DEFAULTS,
  type FailureAccrualOptions,
  type FailureAccrualService,
  failureAccrual,
} from './policies/failure-accrual.js';
export { HEDGE_DEFAULTS, type HedgeOptions } from './policies/hedge.js';
export { MAX_ATTEMPTS_LIMIT, RETRY_DEFAULTS } from './policies/retry.js';
export { RETRY_BUDGET_DEFAULTS, RetryBudget, type RetryBudgetOptions } from './policies/retry-budget.js';
