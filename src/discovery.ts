/**
 * `weft/discovery`: the discovery sources beyond the root entry's `staticResolver` and
 * `dnsResolver`, and what you need to write your own: the resolver contract, endpoints with zones
 * and metadata, and the reconnect backoff every source uses. Each source is advisory (a failing
 * source keeps the last good set; docs/discovery.md).
 */
export { DnsLookupError, type DnsResolverOptions, dnsResolver } from './discovery/dns.js';
export {
  createEndpoint,
  type Endpoint,
  type EndpointExtras,
  type EndpointMetadata,
} from './discovery/endpoint.js';
export type { EndpointSetSnapshot } from './discovery/endpoint-set.js';
export {
  DEFAULT_ETCD_REQUEST_TIMEOUT_MS,
  DEFAULT_ETCD_WATCH_TIMEOUT_MS,
  type EtcdOperation,
  EtcdRequestError,
  type EtcdResolver,
  type EtcdResolverOptions,
  type EtcdSkippedKey,
  etcdResolver,
} from './discovery/etcd.js';
export {
  DEFAULT_RECONNECT_BASE_MS,
  DEFAULT_RECONNECT_MAX_MS,
  ReconnectBackoff,
  type ReconnectBackoffOptions,
} from './discovery/reconnect-backoff.js';
export type { EndpointSetListener, EndpointSetState, Resolver } from './discovery/resolver.js';
export {
  type StaticResolver,
  type StaticResolverOptions,
  type StaticTarget,
  staticResolver,
} from './discovery/static.js';
