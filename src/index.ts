/**
 * weft: an in-process resilience client for Node.js services. This entry holds what most users
 * touch: creating clients, balancing strategies, resolvers, response classes for a classifier,
 * errors, the ambient deadline, the routing agent and the admin page. The building blocks of
 * custom stacks (filters, endpoint layers, the policies on their own, their defaults, the headers,
 * the telemetry plugin contract) are in `weft/policies`; the admin page's JSON in code is in
 * `weft/admin`; testing helpers (the virtual clock) in `weft/testing`. test/build/public-api.test.ts
 * pins this entry's names: adding one is a deliberate change.
 */
// First: on a Node.js below the floor, fail here with a clear error, before undici loads.
import './node-check.js';

import type { RoutingAgent as RoutingAgentClass } from './http/dispatch/routing-agent.js';
import type { RetryBudget as RetryBudgetClass } from './policies/retry-budget.js';

export {
  type BalancerStrategy,
  leastLoaded,
  type P2cLeastLoadedOptions,
  type P2cPeakEwmaOptions,
  p2cLeastLoaded,
  p2cPeakEwma,
  roundRobin,
} from './balance/strategies.js';
export type { ClientView, EndpointStats } from './client/client-view.js';
export type { RetryOptions } from './client/options.js';
export { type AmbientContext, currentAmbientContext, runWithAmbientContext } from './core/ambient.js';
export {
  failure,
  IGNORABLE,
  type Outcome,
  type ResponseClass,
  retryable,
  SUCCESS,
} from './core/classification.js';
export type { Clock } from './core/clock.js';
export { DEADLINE_HEADER } from './core/deadline-header.js';
export {
  type AttemptRecord,
  type CallErrorDetails,
  CircuitOpenError,
  ClientClosedError,
  ConfigError,
  DeadlineExceededError,
  NextCalledTwiceError,
  NoEndpointsError,
  OverloadedError,
  RequestFailedError,
  RetryBudgetExhaustedError,
  UnknownRoleError,
  UnsupportedNodeError,
  WeftError,
  type WeftErrorCode,
} from './core/errors.js';
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
export { createRoutingAgent, type RoutingAgentOptions } from './http/dispatch/routing-agent.js';
export { defaultHttpClassifier, type HttpClassifier } from './http/protocol/classifier.js';
export type { HttpRequest, HttpResponse } from './http/protocol/request.js';
export type { HttpCallOptions, HttpRequestOptions } from './http/protocol/request-options.js';
export type { DispatcherFactory, TlsOptions } from './http/transport/transport.js';
export type { AdaptiveThrottleStats } from './policies/adaptive-throttle.js';
export { AttemptTimeoutError } from './policies/attempt.js';
export type {
  CircuitBreakerHandle,
  CircuitState,
  CircuitStateChange,
} from './policies/circuit-breaker.js';
export type { AccrualState } from './policies/failure-accrual.js';
export { HedgeLostError, type HedgeStats } from './policies/hedge.js';
export { type IncomingDeadlineOptions, runWithIncomingDeadline } from './server/incoming-deadline.js';
export {
  type AdminHandler,
  type AdminHandlerOptions,
  type AdminServer,
  type AdminServerOptions,
  createAdminHandler,
  startAdminServer,
} from './telemetry/admin.js';

// Two classes whose instances a user gets and reads but never builds, named as types only: an
// `export type { … }` of a class comes out of the declaration bundle as a value export, which
// `new` or `instanceof` would then compile against although the entry exports no such value.

/**
 * What {@link createRoutingAgent} returns: an undici `Dispatcher` that sends requests for the
 * routed hostnames through their weft clients and every other origin through a plain undici
 * `Agent`; pass it to {@link setGlobalDispatcher}.
 */
export type RoutingAgent = RoutingAgentClass;

/**
 * The retry budget a client's retries and hedges share (`client.retryBudget`): `balance()` is
 * the retries it allows now. To build one for a stack of your own, `RetryBudget` in
 * `weft/policies` is the class.
 */
export type RetryBudget = RetryBudgetClass;
