/**
 * The value of one etcd key under a service prefix, decoded into an endpoint. Two JSON shapes:
 *
 * - etcd's own naming layout (client/v3/naming/endpoints, read by grpc-go's etcd resolver):
 *   `{"Addr":"10.0.0.1:8080","Metadata":...}`, which etcd 3.4's clientv3/naming wrote as
 *   `{"Op":0,"Addr":...,"Metadata":...}` (Op 0 = Add). Metadata is free-form there: the entries
 *   of a flat object whose values are strings, finite numbers or booleans become the endpoint's
 *   metadata, anything else in it is left out. Other fields are ignored (Go may add some).
 * - weft's layout: `{"address":"10.0.0.1:8080","weight":2,"zone":"eu-west-1a","metadata":{...}}`,
 *   weight (default 1), zone and metadata optional; any other field is an error (a typo such as
 *   `wieght` must not pass silently).
 *
 * A value in neither shape is not an endpoint: the caller skips the key and reports the reason.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../core/errors.js';
import { createEndpoint, type Endpoint, type EndpointMetadata } from './endpoint.js';
import { isValidHost } from './hostname.js';

/** The fields of weft's layout. */
const WEFT_FIELDS: ReadonlySet<string> = new Set(['address', 'weight', 'zone', 'metadata']);

/** The endpoint a value describes, or why it describes none. */
export type DecodedInstance =
  | { readonly ok: true; readonly endpoint: Endpoint }
  | { readonly ok: false; readonly reason: string };

/** Decode the value of one instance key (both layouts above). Never throws. */
export function decodeInstanceValue(value: string): DecodedInstance {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return invalid(`not JSON: ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return invalid('expected a JSON object with "Addr" (etcd naming) or "address" (weft)');
  }
  const record = parsed as Record<string, unknown>;
  try {
    if ('Addr' in record) return decodeEtcdNaming(record);
    if ('address' in record) return decodeWeft(record);
  } catch (error) {
    if (error instanceof ConfigError) return invalid(error.message);
    throw error;
  }
  return invalid('expected a JSON object with "Addr" (etcd naming) or "address" (weft)');
}

function decodeEtcdNaming(record: Record<string, unknown>): DecodedInstance {
  if (record.Op !== undefined && record.Op !== 0) {
    return invalid(`"Op" is ${JSON.stringify(record.Op)}; only 0 (Add) describes an endpoint`);
  }
  const address = parseHostPort(record.Addr, 'Addr');
  if (typeof address === 'string') return invalid(address);
  const metadata = flatMetadata(record.Metadata);
  const extras = metadata === undefined ? undefined : { metadata };
  return { ok: true, endpoint: createEndpoint(address.host, address.port, 1, 'Addr', extras) };
}

function decodeWeft(record: Record<string, unknown>): DecodedInstance {
  for (const field of Object.keys(record)) {
    if (!WEFT_FIELDS.has(field)) {
      return invalid(`unknown field "${field}"; weft's layout has address, weight, zone and metadata`);
    }
  }
  const address = parseHostPort(record.address, 'address');
  if (typeof address === 'string') return invalid(address);
  const weight = record.weight === undefined ? 1 : record.weight;
  if (typeof weight !== 'number')
    return invalid(`"weight" is ${JSON.stringify(weight)}; expected a number > 0`);
  const extras: { zone?: string; metadata?: EndpointMetadata } = {};
  if (record.zone !== undefined) extras.zone = record.zone as string;
  if (record.metadata !== undefined) extras.metadata = record.metadata as EndpointMetadata;
  return { ok: true, endpoint: createEndpoint(address.host, address.port, weight, 'value', extras) };
}

/** `host:port` or `[v6]:port` → its parts, or the reason it is not one. */
function parseHostPort(raw: unknown, field: string): { host: string; port: number } | string {
  if (typeof raw !== 'string') return `"${field}" is ${JSON.stringify(raw)}; expected "host:port"`;
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(raw);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  const bracketed = match?.[1] !== undefined;
  if (match === null || host === undefined || !isValidHost(host) || (bracketed && isIP(host) !== 6)) {
    return `"${field}" is ${JSON.stringify(raw)}; expected "host:port" or "[ipv6]:port"`;
  }
  if (!(port >= 1 && port <= 65535))
    return `"${field}" is ${JSON.stringify(raw)}; the port must be 1 to 65535`;
  return { host, port };
}

/** The string, finite-number and boolean entries of a plain object; undefined when there are none. */
function flatMetadata(raw: unknown): EndpointMetadata | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const kept: Record<string, string | number | boolean> = {};
  let any = false;
  for (const [key, value] of Object.entries(raw)) {
    if (
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value))
    ) {
      kept[key] = value;
      any = true;
    }
  }
  return any ? kept : undefined;
}

function invalid(reason: string): DecodedInstance {
  return { ok: false, reason };
}
