/**
 * The endpoint file's format, read by the watched file resolver (./file.ts): JSON, either a list of
 * endpoints or an object `{ "endpoints": [...] }` (both accepted; the object leaves room for other
 * keys later, and unknown top-level keys are refused so a typo is not silently ignored). Each
 * endpoint is `"host:port"` / `"[ipv6]:port"`, or `{ "host", "port", "weight"?, "zone"?,
 * "metadata"? }` with weight > 0 (default 1, as in staticResolver), a non-empty zone and flat
 * metadata of strings, numbers and booleans. A problem is an {@link EndpointFileError} naming the
 * file and the entry (`endpoints[2].port`), never a half-read list.
 */
import { isIP } from 'node:net';
import { describeValue } from '../core/errors.js';
import { createEndpoint, type Endpoint, type EndpointMetadata } from './endpoint.js';
import { isValidHost } from './hostname.js';

/** One endpoint in the file: `"host:port"`, `"[ipv6]:port"` or an object. */
export type FileEndpoint =
  | string
  | {
      readonly host: string;
      readonly port: number;
      readonly weight?: number;
      readonly zone?: string;
      readonly metadata?: EndpointMetadata;
    };

/** What the file holds: a list of endpoints, or `{ "endpoints": [...] }`. */
export type EndpointFileContent = readonly FileEndpoint[] | { readonly endpoints: readonly FileEndpoint[] };

/** What was wrong with the file. */
export type EndpointFileProblem = 'missing' | 'unreadable' | 'json' | 'schema';

/** The endpoint file could not be used; the message names the file and the problem. */
export class EndpointFileError extends Error {
  /** The file's absolute path. */
  readonly path: string;
  /** `missing` (ENOENT), `unreadable` (another file-system error), `json` (not JSON), `schema` (JSON, not endpoints). */
  readonly problem: EndpointFileProblem;
  /** The file-system error code (`ENOENT`, `EACCES`...) for `missing` and `unreadable`. */
  readonly code: string | undefined;

  constructor(path: string, problem: EndpointFileProblem, detail: string, code?: string, cause?: unknown) {
    super(`endpoint file ${path}: ${detail}`, cause === undefined ? undefined : { cause });
    this.name = 'EndpointFileError';
    this.path = path;
    this.problem = problem;
    this.code = code;
  }
}

const ENTRY_KEYS: ReadonlySet<string> = new Set(['host', 'port', 'weight', 'zone', 'metadata']);
const FORMS = 'expected "host:port", "[ipv6]:port" or { "host", "port", "weight"?, "zone"?, "metadata"? }';

/** Parse the file's text into endpoints; throws an {@link EndpointFileError} (`json` or `schema`). */
export function parseEndpointFile(text: string, path: string): Endpoint[] {
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new EndpointFileError(path, 'json', `invalid JSON: ${reason}`, undefined, error);
  }
  try {
    return entriesOf(content).map((entry, i) => parseEntry(entry, `endpoints[${i}]`));
  } catch (error) {
    if (error instanceof SchemaProblem) throw new EndpointFileError(path, 'schema', error.message);
    throw error;
  }
}

class SchemaProblem extends Error {
  constructor(where: string, value: unknown, expectation: string) {
    super(`${where}: ${expectation} (got ${describeValue(value)})`);
  }
}

function entriesOf(content: unknown): readonly unknown[] {
  if (Array.isArray(content)) return content;
  const expectation = 'expected a list of endpoints, or an object { "endpoints": [...] }';
  if (content === null || typeof content !== 'object')
    throw new SchemaProblem('the file', content, expectation);
  for (const key of Object.keys(content)) {
    if (key !== 'endpoints') throw new SchemaProblem(`key "${key}"`, key, `${expectation}; no other key`);
  }
  const { endpoints } = content as { endpoints?: unknown };
  if (!Array.isArray(endpoints)) throw new SchemaProblem('endpoints', endpoints, 'expected a list');
  return endpoints;
}

function parseEntry(entry: unknown, where: string): Endpoint {
  if (typeof entry === 'string') {
    const { host, port } = parseAddress(entry, where);
    return createEndpoint(host, port, 1, where);
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
    throw new SchemaProblem(where, entry, FORMS);
  for (const key of Object.keys(entry)) {
    if (!ENTRY_KEYS.has(key)) {
      throw new SchemaProblem(
        `${where}.${key}`,
        key,
        `unknown key; the keys are ${[...ENTRY_KEYS].join(', ')}`,
      );
    }
  }
  const { host, port, weight = 1, zone, metadata } = entry as Record<string, unknown>;
  if (typeof host !== 'string' || !isValidHost(host)) {
    throw new SchemaProblem(`${where}.host`, host, 'expected an IP address or a DNS host name');
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SchemaProblem(`${where}.port`, port, 'expected an integer port from 1 to 65535');
  }
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
    throw new SchemaProblem(`${where}.weight`, weight, 'expected a finite number > 0');
  }
  if (zone !== undefined && (typeof zone !== 'string' || zone.length === 0)) {
    throw new SchemaProblem(`${where}.zone`, zone, 'expected a non-empty string');
  }
  if (metadata !== undefined) checkMetadata(metadata, `${where}.metadata`);
  return createEndpoint(host, port, weight, where, {
    ...(zone === undefined ? {} : { zone: zone as string }),
    ...(metadata === undefined ? {} : { metadata: metadata as EndpointMetadata }),
  });
}

function checkMetadata(metadata: unknown, where: string): void {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new SchemaProblem(where, metadata, 'expected an object of strings, numbers and booleans');
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (
      typeof value !== 'string' &&
      typeof value !== 'boolean' &&
      !(typeof value === 'number' && Number.isFinite(value))
    ) {
      throw new SchemaProblem(`${where}.${key}`, value, 'expected a string, a finite number or a boolean');
    }
  }
}

/** Split `"host:port"` or `"[ipv6]:port"`. */
function parseAddress(text: string, where: string): { host: string; port: number } {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const match = /^\[([^\]]*)\]:([0-9]{1,5})$/.exec(text);
    if (match === null || isIP(match[1] ?? '') !== 6)
      throw new SchemaProblem(where, text, 'expected "[ipv6]:port"');
    host = match[1] ?? '';
    portText = match[2] ?? '';
  } else {
    const colon = text.lastIndexOf(':');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (colon < 0 || host.includes(':') || !isValidHost(host) || !/^[0-9]{1,5}$/.test(portText)) {
      throw new SchemaProblem(
        where,
        text,
        'expected "host:port" (an IPv6 address needs brackets: "[::1]:8080")',
      );
    }
  }
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new SchemaProblem(where, text, 'expected a port from 1 to 65535');
  return { host, port };
}
