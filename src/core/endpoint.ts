/**
 * Endpoint: one addressable instance of a service, as discovery publishes it and as the balancer,
 * the endpoint layers and telemetry know it. Its `address` (`host:port`, IPv6 in brackets) is its
 * identity across discovery updates, so per-endpoint state (EWMA, in-flight, accrual) survives an
 * update that keeps it. Built and validated by `createEndpoint` (src/discovery/endpoint.ts).
 */

/** One addressable instance of a service. */
export interface Endpoint {
  /** `host:port`, or `[v6]:port`: the identity of the endpoint. */
  readonly address: string;
  /** Hostname or IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Relative weight for weighted pickers; default 1. */
  readonly weight: number;
}
