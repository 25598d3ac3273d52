/**
 * Building an Endpoint (src/core/endpoint.ts) from a host, a port and a weight, validated, with
 * the address that is its identity (`host:port`, IPv6 in brackets).
 */
import { isIP } from 'node:net';
import type { Endpoint, EndpointMetadata } from '../core/endpoint.js';
import { ConfigError } from '../core/errors.js';

export type { Endpoint, EndpointMetadata } from '../core/endpoint.js';

/** What a source may add to an endpoint besides host, port and weight. */
export interface EndpointExtras {
  /** The zone or locality, kept for routing. */
  readonly zone?: string;
  /** Source-specific facts (SRV priority, Kubernetes conditions...). */
  readonly metadata?: EndpointMetadata;
}

/**
 * Build an endpoint, validating host, port, weight and the extras. `option` names the option in
 * errors.
 */
export function createEndpoint(
  host: string,
  port: number,
  weight = 1,
  option = 'endpoint',
  extras?: EndpointExtras,
): Endpoint {
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
  if (extras === undefined) return { address, host: bare, port, weight };
  const { zone, metadata } = extras;
  if (zone !== undefined && (typeof zone !== 'string' || zone.length === 0)) {
    throw new ConfigError(`${option}.zone`, zone, 'expected a non-empty string');
  }
  if (metadata !== undefined) validateMetadata(metadata, `${option}.metadata`);
  return {
    address,
    host: bare,
    port,
    weight,
    ...(zone === undefined ? {} : { zone }),
    ...(metadata === undefined ? {} : { metadata: Object.freeze({ ...metadata }) }),
  };
}

function validateMetadata(metadata: unknown, option: string): void {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new ConfigError(option, metadata, 'expected an object of strings, numbers and booleans');
  }
  for (const [key, value] of Object.entries(metadata)) {
    const type = typeof value;
    if (type !== 'string' && type !== 'boolean' && !(type === 'number' && Number.isFinite(value))) {
      throw new ConfigError(`${option}.${key}`, value, 'expected a string, a finite number or a boolean');
    }
  }
}
