/**
 * weft: an in-process resilience client for Node.js services. Everything a user imports comes
 * from here (or `weft/testing` for the virtual clock).
 */
// First: on a Node.js below the floor, fail here with a clear error, before undici loads.
import './node-check.js';

export { DEFAULT_MAX_EFFORT } from './balance/p2c.js';
export { DEFAULT_DECAY_MS, DEFAULT_RTT_MS } from './balance/peak-ewma.js';
export {
  type BalancerStrategy,
  leastLoaded,
  type P2cLeastLoadedOptions,
  type P2cPeakEwmaOptions,
  p2cLeastLoaded,
  p2cPeakEwma,
  roundRobin,
} from './balance/strategies.js';
export type { EndpointStats } from './client/client-view.js';
export type { EndpointLayer } from './client/endpoint-stack.js';
export { filterLayer } from './client/endpoint-stack.js';
export type { RetryOptions } from './client/options.js';
export type { ClientTelemetry, ObservedClient, TelemetryPlugin } from './client/telemetry.js';
export { type AmbientContext, currentAmbientContext, runWithAmbientContext } from './core/ambient.js';
export {
  type Classifier,
  failure,
  IGNORABLE,
  type Outcome,
  type ResponseClass,
  type ResponseClassName,
  retryable,
  SUCCESS,
} from './core/classification.js';
export type { Clock, TimerHandle } from './core/clock.js';
export { realClock } from './core/clock.js';
export { CallContext } from './core/context.js';
export { DEADLINE_HEADER, MAX_INCOMING_TIMEOUT_MS, parseDeadlineHeader } from './core/deadline-header.js';
export {
  type AttemptRecord,
  type CallErrorDetails,
  CircuitOpenError,
  ClientClosedError,
  ConfigError,
  DeadlineExceededError,
  NoEndpointsError,
  OverloadedError,
  RequestFailedError,
  RetryBudgetExhaustedError,
  UnknownRoleError,
  UnsupportedNodeError,
  WeftError,
  type WeftErrorCode,
} from './core/errors.js';
export type { Event } from './core/events.js';
export type { Filter, Next, Service, ServiceStatus } from './core/service.js';
export { Stack, type StackEntry } from './core/stack.js';
export { DnsLookupError, type DnsResolverOptions, dnsResolver } from './discovery/dns.js';
export { createEndpoint, type Endpoint } from './discovery/endpoint.js';
export type { EndpointSetSnapshot } from './discovery/endpoint-set.js';
export type { EndpointSetState, Resolver } from './discovery/resolver.js';
export {
  type StaticResolver,
  type StaticResolverOptions,
  type StaticTarget,
  staticResolver,
} from './discovery/static.js';
export { createHttpClient, type HttpClient } from './http/client.js';
export { HTTP_CLIENT_DEFAULTS, type HttpClientOptions } from './http/client-options.js';
export { getGlobalDispatcher, setGlobalDispatcher } from './http/dispatch/global-dispatcher.js';
export { createRoutingAgent, RoutingAgent, type RoutingAgentOptions } from './http/dispatch/routing-agent.js';
export { ATTEMPT_HEADER } from './http/protocol/adapter.js';
export { defaultHttpClassifier, type HttpClassifier, NACK_HEADER } from './http/protocol/classifier.js';
export { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_METHODS } from './http/protocol/idempotency.js';
export type {
  HeadersInput,
  HttpBody,
  HttpHeaders,
  HttpRequest,
  HttpResponse,
} from './http/protocol/request.js';
export type { HttpCallOptions, HttpRequestOptions } from './http/protocol/request-options.js';
export { DEFAULT_REPLAY_BUFFER_BYTES } from './http/transport/replayable-body.js';
export type { DispatcherFactory, TlsOptions } from './http/transport/transport.js';
export {
  ADAPTIVE_THROTTLE_DEFAULTS,
  type AdaptiveThrottleOptions,
  type AdaptiveThrottleStats,
  adaptiveThrottle,
} from './policies/adaptive-throttle.js';
export { AttemptTimeoutError } from './policies/attempt.js';
export {
  CIRCUIT_BREAKER_DEFAULTS,
  type CircuitBreakerHandle,
  type CircuitBreakerOptions,
  type CircuitState,
  type CircuitStateChange,
  circuitBreaker,
} from './policies/circuit-breaker.js';
export { DEFAULT_TOTAL_TIMEOUT_MS } from './policies/deadline.js';
export {
  type AccrualEjection,
  type AccrualState,
  FAILURE_ACCRUAL_DEFAULTS,
  type FailureAccrualOptions,
  failureAccrual,
} from './policies/failure-accrual.js';
export { HEDGE_DEFAULTS, HedgeLostError, type HedgeOptions, type HedgeStats } from './policies/hedge.js';
export { MAX_ATTEMPTS_LIMIT, RETRY_DEFAULTS } from './policies/retry.js';
export { RETRY_BUDGET_DEFAULTS, RetryBudget, type RetryBudgetOptions } from './policies/retry-budget.js';
export { type IncomingDeadlineOptions, runWithIncomingDeadline } from './server/incoming-deadline.js';
export {
  ADMIN_DEFAULTS,
  type AdminHandler,
  type AdminHandlerOptions,
  type AdminServer,
  type AdminServerOptions,
  createAdminHandler,
  startAdminServer,
} from './telemetry/admin.js';
export {
  type AdminAccrualState,
  type AdminClientState,
  type AdminDiscoveryState,
  type AdminEndpointState,
  type AdminHedgeState,
  type AdminState,
  type AdminThrottleState,
  adminState,
} from './telemetry/admin-state.js';
