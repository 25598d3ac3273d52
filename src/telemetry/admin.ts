/**
 * The admin endpoint: a node:http handler (mountable in Express, Fastify or a bare server) that
 * serves a live HTML page at `{basePath}` and the state of every client, and of every server of
 * the server half, as JSON at `{basePath}state.json`, and `startAdminServer`, which runs it standalone. Defaults: basePath
 * `/`, host 127.0.0.1, port 0 (any free port). Without a token it answers loopback requests only
 * (peer and Host header); with one, every request must carry it. Docs: docs/admin.md.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import type { ClientView } from '../client/client-view.js';
import type { Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { clockOption, integerAtLeast, optionKeys, rejectUnknownKeys } from '../core/options.js';
import { type AdminClient, clientViewOf } from './admin-clients.js';
import { ADMIN_PAGE_CSP, ADMIN_PAGE_HTML } from './admin-page.js';
import { serversOption } from './admin-servers.js';
import { adminState } from './admin-state.js';
import type { ObservedServer } from './server-view.js';

/** Defaults of {@link createAdminHandler} and {@link startAdminServer}. */
export const ADMIN_DEFAULTS = {
  /** Where the page is served; the JSON is `state.json` under it. */
  basePath: '/',
  /** Loopback only: anything else needs a token. */
  host: '127.0.0.1',
  /** Any free port (the URL in the result says which). */
  port: 0,
} as const;

/** Name of the JSON document under `basePath`. */
export const ADMIN_STATE_PATH = 'state.json';

/** Options of {@link createAdminHandler}. */
export interface AdminHandlerOptions {
  /**
   * The clients to show, or a function called on every request that returns them: weft clients
   * (`createHttpClient`, `createGrpcChannel`) or generated gRPC clients `createGrpcClient` made.
   */
  readonly clients: readonly AdminClient[] | (() => readonly AdminClient[]);
  /**
   * The servers of the server half to show beside the clients (in flight, limit, draining, and
   * rejections once `adminServerTelemetry()` is attached to them), or a function called on every
   * request that returns them. Default: none.
   */
  readonly servers?: readonly ObservedServer[] | (() => readonly ObservedServer[]);
  /**
   * A shared secret. When set, every request must carry `Authorization: Bearer <token>` or
   * `?token=<token>` (the page passes its own `?token=` on to its fetches), from any peer. When
   * unset, only loopback peers with a loopback (or absent) Host header are answered. Printable
   * ASCII, no spaces.
   */
  readonly token?: string;
  /** Path of the page, as the handler sees `req.url` (Express strips its mount path). Default `/`. */
  readonly basePath?: string;
  /** The clock the clients run on, for ages and ejection times. Default: the real clock. */
  readonly clock?: Clock;
}

/** The keys of {@link AdminHandlerOptions}; any other key throws a ConfigError. */
export const ADMIN_HANDLER_OPTION_KEYS = optionKeys<AdminHandlerOptions>({
  clients: true,
  servers: true,
  token: true,
  basePath: true,
  clock: true,
});

/**
 * A node:http request handler. Requests it does not serve go to `next()` when given (Express,
 * Connect) or get a 404.
 */
export type AdminHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void;

/**
 * Create the admin handler: `GET {basePath}` serves the page, `GET {basePath}state.json` the
 * {@link AdminState} JSON (HEAD too; other methods get 405).
 *
 * @example
 * ```ts
 * app.use('/weft', createAdminHandler({ clients: [users, billing] })); // Express: page at /weft/
 * ```
 * @throws ConfigError naming `clients`, `servers`, `token`, `basePath` or `clock` when one is
 * invalid, or a key that is none of them.
 */
export function createAdminHandler(options: AdminHandlerOptions): AdminHandler {
  return adminHandler(options, ADMIN_HANDLER_OPTION_KEYS);
}

/** The handler, its options checked against `known` (the handler's, or the server's). */
function adminHandler(options: AdminHandlerOptions, known: ReadonlySet<string>): AdminHandler {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('admin options', options, 'expected an object with `clients`');
  }
  rejectUnknownKeys('', options, known);
  const readClients = clientsOption(options.clients);
  const readServers = serversOption(options.servers);
  const expectedToken = tokenOption(options.token);
  const basePath = basePathOption(options.basePath);
  const clock = clockOption('clock', options.clock);
  const pagePaths = new Set([basePath, basePath.slice(0, -1) || '/']);
  const statePath = basePath + ADMIN_STATE_PATH;

  return (req, res, next) => {
    const url = parseRequestUrl(req.url);
    const route =
      url === undefined
        ? undefined
        : pagePaths.has(url.pathname)
          ? 'page'
          : url.pathname === statePath
            ? 'state'
            : undefined;
    if (url === undefined || route === undefined) {
      if (next !== undefined) next();
      else send(req, res, 404, TEXT, 'not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(req, res, 405, TEXT, 'method not allowed: use GET\n', { allow: 'GET, HEAD' });
      return;
    }
    if (expectedToken !== undefined) {
      if (!carriesToken(req, url, expectedToken)) {
        send(req, res, 401, TEXT, 'unauthorized: send Authorization: Bearer <token> or ?token=<token>\n', {
          'www-authenticate': 'Bearer realm="weft admin"',
        });
        return;
      }
    } else if (!isLoopbackRequest(req)) {
      send(req, res, 403, TEXT, 'forbidden: without a token the weft admin endpoint answers loopback only\n');
      return;
    }
    if (route === 'page') {
      send(req, res, 200, HTML, ADMIN_PAGE_HTML, PAGE_HEADERS);
      return;
    }
    let body: string;
    try {
      const clients = readClients();
      if (!Array.isArray(clients)) throw new TypeError('the clients function did not return an array');
      const servers = readServers();
      if (!Array.isArray(servers)) throw new TypeError('the servers function did not return an array');
      body = JSON.stringify(adminState(clients, clock, servers));
    } catch (error) {
      send(
        req,
        res,
        500,
        JSON_TYPE,
        `${JSON.stringify({ error: String((error as Error)?.message ?? error) })}\n`,
      );
      return;
    }
    send(req, res, 200, JSON_TYPE, `${body}\n`);
  };
}

/** Options of {@link startAdminServer}: the handler's, plus where to listen. */
export interface AdminServerOptions extends AdminHandlerOptions {
  /** Interface to listen on. Default `127.0.0.1`; a non-loopback host needs `token`. */
  readonly host?: string;
  /** TCP port, 0 for any free one. Default 0. */
  readonly port?: number;
}

/** The keys of {@link AdminServerOptions}; any other key throws a ConfigError. */
export const ADMIN_SERVER_OPTION_KEYS = optionKeys<AdminServerOptions>({
  clients: true,
  servers: true,
  token: true,
  basePath: true,
  clock: true,
  host: true,
  port: true,
});

/** A running admin server. */
export interface AdminServer {
  /** The page's address, e.g. `http://127.0.0.1:40123/` (without the token). */
  readonly url: string;
  /** Stop listening and cut open connections; resolves once the server is closed. Idempotent. */
  close(): Promise<void>;
}

/**
 * Run the admin handler on its own node:http server; resolves once it listens.
 *
 * @example
 * ```ts
 * const admin = await startAdminServer({ clients: [client] });
 * console.log(`admin page: ${admin.url}`);
 * // ... later
 * await admin.close();
 * ```
 * @throws ConfigError naming `host` (a non-loopback host without `token`) or `port`, the
 * handler's options, or a key that is none of them; rejects with the listen error (e.g. EADDRINUSE).
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const handler = adminHandler(options, ADMIN_SERVER_OPTION_KEYS);
  const host = options.host ?? ADMIN_DEFAULTS.host;
  if (typeof host !== 'string' || host === '') {
    throw new ConfigError('host', host, 'expected a host name or an IP address');
  }
  if (options.token === undefined && !isLoopbackHost(host)) {
    throw new ConfigError('host', host, 'a non-loopback host needs a `token`');
  }
  const port = integerAtLeast('port', options.port, 0, ADMIN_DEFAULTS.port);
  if (port > 65_535) throw new ConfigError('port', port, 'expected an integer from 0 to 65535');

  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: actual } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${isIP(host) === 6 ? `[${host}]` : host}:${actual}${basePathOption(options.basePath)}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

const TEXT = 'text/plain; charset=utf-8';
const HTML = 'text/html; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

const PAGE_HEADERS = {
  'content-security-policy': ADMIN_PAGE_CSP,
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    'content-type': type,
    'content-length': String(bytes.length),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** Does the request carry the token, as a Bearer header or `?token=`? Constant time per candidate. */
function carriesToken(req: IncomingMessage, url: URL, expected: Buffer): boolean {
  const candidates: string[] = [];
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (bearer?.[1] !== undefined) candidates.push(bearer[1]);
  const query = url.searchParams.get('token');
  if (query !== null) candidates.push(query);
  let ok = false;
  // Hashing both sides gives equal lengths, so the comparison time does not depend on the token.
  for (const candidate of candidates) ok = timingSafeEqual(digest(candidate), expected) || ok;
  return ok;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * A loopback peer that asked for a loopback name. The Host check stops DNS rebinding: a web page
 * on a name that resolves to 127.0.0.1 reaches this server from the user's browser, but with its
 * own name in Host.
 */
function isLoopbackRequest(req: IncomingMessage): boolean {
  const peer = req.socket?.remoteAddress;
  if (peer === undefined || !isLoopbackHost(peer)) return false;
  const hostHeader = req.headers.host;
  return hostHeader === undefined || hostHeader === '' || isLoopbackHost(hostName(hostHeader));
}

/** The name part of a Host header: `[::1]:80` → `::1`, `localhost:80` → `localhost`. */
function hostName(header: string): string {
  if (header.startsWith('[')) {
    const end = header.indexOf(']');
    return end === -1 ? header : header.slice(1, end);
  }
  const colon = header.indexOf(':');
  return colon === -1 ? header : header.slice(0, colon);
}

/** `localhost` (and `*.localhost`, RFC 6761), 127.0.0.0/8, `::1`, and 127/8 mapped into IPv6. */
function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) !== 6) return false;
  let canonical: string;
  try {
    canonical = new URL(`http://[${name}]/`).hostname; // one spelling per address: [::1], [::ffff:7f00:1]
  } catch {
    return false; // e.g. a zone index (fe80::1%eth0): not loopback anyway
  }
  return canonical === '[::1]' || canonical.startsWith('[::ffff:7f');
}

/** The request's path and query, or undefined when `req.url` cannot be parsed. */
function parseRequestUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://admin.invalid');
  } catch {
    return undefined;
  }
}

function clientsOption(value: unknown): () => readonly AdminClient[] {
  if (typeof value === 'function') return value as () => readonly AdminClient[];
  if (!Array.isArray(value)) {
    throw new ConfigError('clients', value, 'expected an array of weft clients or a function returning one');
  }
  const clients: ClientView[] = value.map((client, i) => {
    const view = clientViewOf(client);
    if (view === undefined) {
      throw new ConfigError(
        `clients[${i}]`,
        client,
        'expected a weft client (createHttpClient, createGrpcChannel, or a client createGrpcClient made)',
      );
    }
    return view;
  });
  return () => clients;
}

function tokenOption(value: unknown): Buffer | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[\x21-\x7e]+$/.test(value)) {
    // A string is a secret, even a malformed one: it stays out of the message.
    const shown = typeof value === 'string' ? `<redacted, ${value.length} characters>` : value;
    throw new ConfigError('token', shown, 'expected a non-empty string of printable ASCII without spaces');
  }
  return digest(value);
}

function basePathOption(value: unknown): string {
  if (value === undefined) return ADMIN_DEFAULTS.basePath;
  if (typeof value !== 'string' || !value.startsWith('/') || /[?#\s]/.test(value) || value.includes('//')) {
    throw new ConfigError('basePath', value, 'expected a path starting with "/", without query or fragment');
  }
  return value.endsWith('/') ? value : `${value}/`;
}
