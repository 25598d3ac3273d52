/**
 * `weft/discovery`: the discovery sources beyond the root entry's `staticResolver` and
 * `dnsResolver`, and what you need to write your own: the resolver contract, endpoints with zones
 * and metadata, the reconnect backoff every source uses, the fallback resolver (a primary source
 * and fallbacks) and each source's status for telemetry. Each source is advisory (a failing
 * source keeps the last good set; docs/discovery.md).
 */
import './node-check.js';

export {
  ConsulApiError,
  type ConsulResolverOptions,
  consulResolver,
  DEFAULT_CONSUL_ADDRESS,
  DEFAULT_CONSUL_WAIT_SECONDS,
} from './discovery/consul.js';
export { DnsLookupError, type DnsResolverOptions, dnsResolver } from './discovery/dns.js';
export { DnsSrvLookupError, type DnsSrvResolverOptions, dnsSrvResolver } from './discovery/dns-srv.js';
export {
  createEndpoint,
  type Endpoint,
  type EndpointExtras,
  type EndpointMetadata,
} from './discovery/endpoint.js';
export { discoverySourcesOf, type EndpointSetSnapshot } from './discovery/endpoint-set.js';
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
  AllSourcesFailedError,
  DEFAULT_STARTUP_WAIT_MS,
  type FallbackResolverOptions,
  fallbackResolver,
} from './discovery/fallback.js';
export {
  type EndpointFileContent,
  EndpointFileError,
  type EndpointFileProblem,
  type FileEndpoint,
  type FileResolverOptions,
  fileResolver,
} from './discovery/file.js';
export {
  KubernetesApiError,
  type KubernetesInClusterOptions,
  type KubernetesResolverOptions,
  kubernetesResolver,
} from './discovery/kubernetes.js';
export {
  DEFAULT_RECONNECT_BASE_MS,
  DEFAULT_RECONNECT_MAX_MS,
  ReconnectBackoff,
  type ReconnectBackoffOptions,
} from './discovery/reconnect-backoff.js';
export type { EndpointSetListener, EndpointSetState, Resolver } from './discovery/resolver.js';
export type { SourceStatus } from './discovery/source-status.js';
export {
  type StaticResolver,
  type StaticResolverOptions,
  type StaticTarget,
  staticResolver,
} from './discovery/static.js';
