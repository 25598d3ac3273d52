/**
 * Endpoint: one addressable instance of a service. Its `address` (`host:port`, IPv6 in brackets)
 * is its identity across discovery updates, so per-endpoint state (EWMA, in-flight, accrual)
 * survives an update that keeps it.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../core/errors.js';

/** One addressable instance of a service, as discovery publishes it. */
export interface Endpoint {
  /** `host:port`, or `[v6]:port`: the identity of the endpoint. */
  readonly address: string;
  /** Hostname or IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Relative weight for weighted pickers; default 1. */
  readonly weight: number;
}

/** Build an endpoint, validating host, port and weight. `option` names the option in errors. */
export function createEndpoint(host: string, port: number, weight = 1, option = 'endpoint'): Endpoint {
  if (typeof host !== 'string' || host.length === 0) {
    throw new ConfigError(`${option}.host`, host, 'expected a host name or IP');
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`${option}.port`, port, 'expected an integer port from 1 to 65535');
  }
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
    throw new ConfigError(`${option}.weight`, weight, 'expected a finite number > 0');
  }
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const address = isIP(bare) === 6 ? `[${bare}]:${port}` : `${bare}:${port}`;
  return { address, host: bare, port, weight };
}
