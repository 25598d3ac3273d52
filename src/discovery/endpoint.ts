/**
 * Building an Endpoint (src/core/endpoint.ts) from a host, a port and a weight, validated, with
 * the address that is its identity (`host:port`, IPv6 in brackets).
 */
import { isIP } from 'node:net';
import type { Endpoint } from '../core/endpoint.js';
import { ConfigError } from '../core/errors.js';

export type { Endpoint } from '../core/endpoint.js';

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
