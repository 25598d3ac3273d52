/**
 * Discovery's public API: resolvers publish endpoint-set states (static list, DNS A/AAAA), and
 * DiscoveredEndpoints turns them into the set the balancer reads, keeping the last good set when
 * a source fails or goes suddenly empty (Finagle Addr / Linkerd advisory semantics).
 */
export {
  DnsLookupError,
  type DnsResolverOptions,
  dnsResolver,
  isValidHostname,
  validateHostname,
} from './dns.js';
export { createEndpoint, type Endpoint } from './endpoint.js';
export { DiscoveredEndpoints, type EndpointSetSnapshot } from './endpoint-set.js';
export type { EndpointSetListener, EndpointSetState, Resolver } from './resolver.js';
export {
  type StaticResolver,
  type StaticResolverOptions,
  type StaticTarget,
  staticResolver,
} from './static.js';
