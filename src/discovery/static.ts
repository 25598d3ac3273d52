/**
 * The static resolver: a fixed list of endpoints given in code, published as one `bound` state,
 * replaceable at runtime with `update()` (a deploy script, a test, a demo of discovery changing
 * under load). Targets: `'host:port'`, `'[v6]:port'`, `'http(s)://host[:port]'` (default port by
 * scheme: http 80, https 443, RFC 9110 §4.2) or `{ host, port, weight? }` / `{ address, weight? }`;
 * weight defaults to 1. Every entry is validated up front; errors name `endpoints[i]`.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../core/errors.js';
import { ListenerSet, reportHookError } from '../core/events.js';
import { optionKeys, rejectUnknownKeys } from '../core/options.js';
import { createEndpoint, type Endpoint } from './endpoint.js';
import { isValidHost } from './hostname.js';
import type { EndpointSetListener, EndpointSetState, Resolver } from './resolver.js';

/** One static target: an address string, an http(s) URL, or an object with an optional weight. */
export type StaticTarget =
  | string
  | { readonly host: string; readonly port: number; readonly weight?: number }
  | { readonly address: string; readonly weight?: number };

/** The keys of an object {@link StaticTarget}; any other key throws a ConfigError naming `endpoints[i].key`. */
export const STATIC_TARGET_KEYS = optionKeys<Exclude<StaticTarget, string>>({
  host: true,
  port: true,
  address: true,
  weight: true,
});

/** Options of {@link staticResolver}. */
export interface StaticResolverOptions {
  /** The resolver's description in errors and telemetry; default `static`. */
  readonly description?: string;
}

/** The keys of {@link StaticResolverOptions}; any other key throws a ConfigError. */
export const STATIC_RESOLVER_OPTION_KEYS = optionKeys<StaticResolverOptions>({ description: true });

/** A {@link Resolver} over a list given in code, which {@link StaticResolver.update} replaces. */
export interface StaticResolver extends Resolver {
  /** The endpoints currently published, in the order given. */
  readonly endpoints: readonly Endpoint[];
  /** Validate `targets` like the constructor does, then publish them to every subscriber. */
  update(targets: readonly StaticTarget[]): void;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

const FORMS =
  'expected "host:port", "[ipv6]:port", an http(s) URL, { host, port, weight? } or { address, weight? }';

/**
 * A resolver publishing `targets` as one `bound` state (delivered synchronously on subscribe).
 * Throws a ConfigError naming `endpoints[i]` for the first invalid entry.
 */
export function staticResolver(
  targets: readonly StaticTarget[],
  options: StaticResolverOptions = {},
): StaticResolver {
  if (options === null || typeof options !== 'object')
    throw new ConfigError('static', options, 'expected an object');
  rejectUnknownKeys('static', options, STATIC_RESOLVER_OPTION_KEYS);
  const description = options.description ?? 'static';
  if (typeof description !== 'string' || description.length === 0) {
    throw new ConfigError('static.description', description, 'expected a non-empty string');
  }
  let state: EndpointSetState = { kind: 'bound', endpoints: parseTargets(targets) };
  const listeners = new ListenerSet<EndpointSetState>(description);
  let closed = false;

  return {
    description,
    get endpoints() {
      return state.kind === 'bound' ? state.endpoints : [];
    },
    subscribe(listener: EndpointSetListener) {
      if (closed) return () => {};
      const remove = listeners.add(listener);
      try {
        listener(state);
      } catch (error) {
        reportHookError(`a listener of ${description}`, error);
      }
      return remove;
    },
    update(next: readonly StaticTarget[]) {
      state = { kind: 'bound', endpoints: parseTargets(next) };
      if (!closed) listeners.emit(state);
    },
    close() {
      closed = true;
      listeners.clear();
    },
  };
}

/** Parse and validate a target list; errors name `endpoints[i]`. */
export function parseTargets(targets: readonly StaticTarget[]): readonly Endpoint[] {
  if (!Array.isArray(targets))
    throw new ConfigError('endpoints', targets, `expected an array; each entry ${FORMS}`);
  return Object.freeze(targets.map((target: unknown, i) => parseTarget(target, `endpoints[${i}]`)));
}

function parseTarget(target: unknown, option: string): Endpoint {
  if (typeof target === 'string') {
    const { host, port } = parseAddress(target, option);
    return createEndpoint(host, port, 1, option);
  }
  if (target === null || typeof target !== 'object' || Array.isArray(target)) {
    throw new ConfigError(option, target, FORMS);
  }
  rejectUnknownKeys(option, target, STATIC_TARGET_KEYS);
  const entry = target as { host?: unknown; port?: unknown; address?: unknown; weight?: unknown };
  const weight = entry.weight === undefined ? 1 : (entry.weight as number);
  if (entry.address !== undefined) {
    if (entry.host !== undefined || entry.port !== undefined) {
      throw new ConfigError(option, target, 'expected either address or host and port, not both');
    }
    if (typeof entry.address !== 'string') throw new ConfigError(`${option}.address`, entry.address, FORMS);
    const { host, port } = parseAddress(entry.address, `${option}.address`);
    return createEndpoint(host, port, weight, option);
  }
  if (entry.host === undefined) throw new ConfigError(option, target, FORMS);
  if (typeof entry.host !== 'string' || !isValidHost(entry.host)) {
    throw new ConfigError(`${option}.host`, entry.host, 'expected an IP address or a DNS host name');
  }
  return createEndpoint(entry.host, entry.port as number, weight, option);
}

/** Split an address string or URL into host and port; throws a ConfigError naming `option`. */
function parseAddress(text: string, option: string): { host: string; port: number } {
  const value = text.trim();
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) return parseUrl(text, value, option);
  let host: string;
  let portText: string;
  if (value.startsWith('[')) {
    const match = /^\[([^\]]*)\]:([^:]*)$/.exec(value);
    if (match === null || isIP(match[1] ?? '') !== 6) {
      throw new ConfigError(option, text, 'expected "[ipv6]:port" with a valid IPv6 address');
    }
    host = match[1] ?? '';
    portText = match[2] ?? '';
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) throw new ConfigError(option, text, `missing port; ${FORMS}`);
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(':')) {
      throw new ConfigError(option, text, 'an IPv6 address needs brackets, e.g. "[::1]:8080"');
    }
    if (!isValidHost(host))
      throw new ConfigError(option, text, 'expected an IP address or a DNS host name before ":port"');
  }
  return { host, port: parsePort(portText, text, option) };
}

function parseUrl(text: string, value: string, option: string): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(option, text, 'expected a valid URL');
  }
  const defaultPort = DEFAULT_PORTS[url.protocol];
  if (defaultPort === undefined) throw new ConfigError(option, text, 'expected an http: or https: URL');
  if (
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.pathname !== '/'
  ) {
    throw new ConfigError(
      option,
      text,
      'expected a URL with a scheme, host and port only (no path, query or credentials)',
    );
  }
  if (!isValidHost(url.hostname))
    throw new ConfigError(option, text, 'expected an IP address or a DNS host name');
  return { host: url.hostname, port: url.port === '' ? defaultPort : parsePort(url.port, text, option) };
}

function parsePort(portText: string, text: string, option: string): number {
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) throw new ConfigError(option, text, 'expected a port from 1 to 65535');
  return port;
}
