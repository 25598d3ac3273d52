/**
 * weft: an in-process resilience client for Node.js services. Everything a user imports comes
 * from here (or `weft/testing` for the virtual clock).
 */

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
export type { EndpointLayer } from './client/endpoint-stack.js';
export { filterLayer } from './client/endpoint-stack.js';
export { type AmbientContext, currentAmbientContext, runWithAmbientContext } from './core/ambient.js';
export type { Clock, TimerHandle } from './core/clock.js';
export { realClock } from './core/clock.js';
export { CallContext } from './core/context.js';
export { DEADLINE_HEADER, MAX_INCOMING_TIMEOUT_MS, parseDeadlineHeader } from './core/deadline-header.js';
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
export {
  createHttpClient,
  type EndpointStats,
  HTTP_CLIENT_DEFAULTS,
  type HttpCallOptions,
  type HttpClient,
  type HttpClientOptions,
  type HttpRequestOptions,
} from './http/client.js';
export type { HeadersInput, HttpBody, HttpHeaders, HttpRequest, HttpResponse } from './http/request.js';
export { createRoutingAgent, RoutingAgent, type RoutingAgentOptions } from './http/routing-agent.js';
export type { TlsOptions } from './http/transport.js';
export { AttemptTimeoutError } from './policies/attempt.js';
export { DEFAULT_TOTAL_TIMEOUT_MS } from './policies/deadline.js';
export { type IncomingDeadlineOptions, runWithIncomingDeadline } from './server/incoming-deadline.js';
