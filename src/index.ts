/**
 * weft: an in-process resilience client for Node.js services. Everything a user imports comes
 * from here (or `weft/testing` for the virtual clock).
 */
export type { Clock, TimerHandle } from './core/clock.js';
export { realClock } from './core/clock.js';
export type { Filter, Next, Service, ServiceStatus } from './core/service.js';
export { Stack, type StackEntry } from './core/stack.js';
export { CallContext } from './core/context.js';
export {
  type AttemptRecord,
  ClientClosedError,
  ConfigError,
  DeadlineExceededError,
  NoEndpointsError,
  UnknownRoleError,
  WeftError,
  type WeftErrorCode,
} from './core/errors.js';
export { currentAmbientContext, runWithAmbientContext, type AmbientContext } from './core/ambient.js';
export { DEADLINE_HEADER, MAX_INCOMING_TIMEOUT_MS, parseDeadlineHeader } from './core/deadline-header.js';
export { AttemptTimeoutError } from './policies/attempt.js';
export { DEFAULT_TOTAL_TIMEOUT_MS } from './policies/deadline.js';
export type { Endpoint } from './discovery/endpoint.js';
export type { EndpointSetState, Resolver } from './discovery/resolver.js';
export type { EndpointSetSnapshot } from './discovery/endpoint-set.js';
export { staticResolver, type StaticResolver, type StaticTarget } from './discovery/static.js';
export { dnsResolver, type DnsResolverOptions } from './discovery/dns.js';
export {
  type BalancerStrategy,
  leastLoaded,
  p2cLeastLoaded,
  p2cPeakEwma,
  type P2cPeakEwmaOptions,
  roundRobin,
} from './balance/strategies.js';
export type { EndpointLayer } from './client/endpoint-stack.js';
export { filterLayer } from './client/endpoint-stack.js';
export {
  createHttpClient,
  type EndpointStats,
  HTTP_CLIENT_DEFAULTS,
  type HttpCallOptions,
  type HttpClient,
  type HttpClientOptions,
  type HttpRequestOptions,
} from './http/client.js';
export type { HttpBody, HttpHeaders, HttpRequest, HttpResponse, HeadersInput } from './http/request.js';
export type { TlsOptions } from './http/transport.js';
export { createRoutingAgent, RoutingAgent, type RoutingAgentOptions } from './http/routing-agent.js';
export { runWithIncomingDeadline, type IncomingDeadlineOptions } from './server/incoming-deadline.js';
