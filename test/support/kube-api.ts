/**
 * A Kubernetes API server for contract tests, held to the documented list/watch protocol
 * (kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes, KEP-956):
 * Services and EndpointSlices (discovery.k8s.io/v1) in namespaces; a list returns a List whose
 * `metadata.resourceVersion` a watch starts from (pages with `limit`/`continue`); a watch streams
 * one `{"type","object"}` JSON line per change after that resourceVersion, BOOKMARK lines when asked
 * for (`allowWatchBookmarks=true`), ends after `timeoutSeconds`; a resourceVersion older than the
 * last compaction gets 410 Gone (as an HTTP status or as an ERROR event, the test's choice). HTTPS
 * with a CA made by openssl; bearer-token or client-certificate auth, checked on every request.
 * No kube-apiserver can be installed here (research next-wave §B4), hence this server.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

/** A CA, a server certificate for 127.0.0.1 and `kube.weft.test`, and a client certificate. */
export interface KubePki {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

/** Make the certificates with openssl (the server's has an IP SAN, as API servers' do). */
export function makeKubePki(): KubePki {
  const dir = mkdtempSync(join(tmpdir(), 'weft-kube-pki-'));
  const openssl = (args: string[]) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    openssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=weft kube test CA',
    ]);
    for (const [name, cn, ext] of [
      ['server', 'kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:kube.weft.test'],
      ['client', 'weft-client', 'extendedKeyUsage=clientAuth'],
    ] as const) {
      writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
      openssl([
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${cn}`,
      ]);
      openssl([
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
      ]);
    }
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return {
      ca: read('ca.crt'),
      serverCert: read('server.crt'),
      serverKey: read('server.key'),
      clientCert: read('client.crt'),
      clientKey: read('client.key'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One endpoint of a slice, as the test writes it. */
export interface SliceEndpoint {
  readonly address: string;
  readonly ready?: boolean | null;
  readonly serving?: boolean | null;
  readonly terminating?: boolean | null;
  readonly zone?: string;
  readonly nodeName?: string;
  readonly pod?: string;
}

/** A slice as the test writes it. */
export interface SliceSpec {
  readonly addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  readonly ports: readonly { name?: string; port: number }[];
  readonly endpoints: readonly SliceEndpoint[];
}

/** A request the server saw. */
export interface KubeRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  readonly status: number;
}

interface Watcher {
  readonly res: ServerResponse;
  readonly namespace: string;
  readonly service: string;
  readonly bookmarks: boolean;
}

interface Change {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly namespace: string;
  readonly service: string;
  readonly object: object;
}

const LABEL = 'kubernetes.io/service-name';

/** The server. Mutations go through its methods; each one is a change with a new resourceVersion. */
export class KubeApiServer {
  readonly server: Server;
  readonly requests: KubeRequest[] = [];
  /** Bearer tokens accepted (a rotation adds the new one and drops the old). */
  tokens = new Set<string>();
  /** Accept a client certificate signed by the CA instead of a token. */
  acceptClientCerts = true;
  /** How a too-old resourceVersion is answered: HTTP 410, or 200 then an ERROR event (code 410). */
  goneAs: 'status' | 'event' = 'event';
  /** The next list / watch / Service requests answer this status instead (then back to normal). */
  readonly failNext: { list: number[]; watch: number[]; service: number[] } = {
    list: [],
    watch: [],
    service: [],
  };
  #rv = 100;
  #compactedBelow = 0;
  readonly #services = new Set<string>();
  readonly #slices = new Map<string, { namespace: string; service: string; object: object }>();
  readonly #changes: Change[] = [];
  readonly #watchers = new Set<Watcher>();

  private constructor(server: Server) {
    this.server = server;
  }

  /** Start on 127.0.0.1 with the PKI's server certificate. */
  static async start(pki: KubePki, token: string): Promise<KubeApiServer> {
    const server = createServer({
      key: pki.serverKey,
      cert: pki.serverCert,
      ca: pki.ca,
      requestCert: true,
      rejectUnauthorized: false,
    });
    const api = new KubeApiServer(server);
    api.tokens.add(token);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => api.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return api;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** The current resourceVersion. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** Open watch streams. */
  get watchCount(): number {
    return this.#watchers.size;
  }

  /** Requests of one kind seen so far. */
  seen(kind: 'list' | 'watch' | 'service'): KubeRequest[] {
    return this.requests.filter((r) => kindOf(r.path, r.query) === kind);
  }

  createService(namespace: string, name: string): void {
    this.#services.add(`${namespace}/${name}`);
    this.#rv++;
  }

  /** Delete a Service and, as the garbage collector would, its slices. */
  deleteService(namespace: string, name: string): void {
    this.#services.delete(`${namespace}/${name}`);
    this.#rv++;
    for (const [key, slice] of this.#slices) {
      if (slice.namespace === namespace && slice.service === name)
        this.deleteSlice(namespace, key.split('/')[1]!);
    }
  }

  /** Create or replace a slice of `service`. */
  putSlice(namespace: string, sliceName: string, service: string, spec: SliceSpec): void {
    const key = `${namespace}/${sliceName}`;
    const type = this.#slices.has(key) ? 'MODIFIED' : 'ADDED';
    const rv = ++this.#rv;
    const object = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: sliceName, namespace, resourceVersion: String(rv), labels: { [LABEL]: service } },
      addressType: spec.addressType ?? 'IPv4',
      ports: spec.ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: 'TCP' })),
      endpoints: spec.endpoints.map((e) => ({
        addresses: [e.address],
        conditions: {
          ...(e.ready === null ? {} : { ready: e.ready ?? true }),
          ...(e.serving === undefined || e.serving === null ? {} : { serving: e.serving }),
          ...(e.terminating === undefined || e.terminating === null ? {} : { terminating: e.terminating }),
        },
        ...(e.zone === undefined ? {} : { zone: e.zone }),
        ...(e.nodeName === undefined ? {} : { nodeName: e.nodeName }),
        ...(e.pod === undefined ? {} : { targetRef: { kind: 'Pod', namespace, name: e.pod } }),
      })),
    };
    this.#slices.set(key, { namespace, service, object });
    this.#record({ rv, type, namespace, service, object });
  }

  deleteSlice(namespace: string, sliceName: string): void {
    const key = `${namespace}/${sliceName}`;
    const slice = this.#slices.get(key);
    if (slice === undefined) return;
    this.#slices.delete(key);
    const rv = ++this.#rv;
    const object = {
      ...slice.object,
      metadata: { ...(slice.object as { metadata: object }).metadata, resourceVersion: String(rv) },
    };
    this.#record({ rv, type: 'DELETED', namespace, service: slice.service, object });
  }

  /** Forget history: a watch from a resourceVersion before now gets 410 Gone. */
  compact(): void {
    this.#compactedBelow = this.#rv;
  }

  /** Send a BOOKMARK with the current resourceVersion to every watch that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.#watchers) {
      if (!w.bookmarks) continue;
      w.res.write(
        `${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', metadata: { resourceVersion: String(this.#rv) } } })}\n`,
      );
    }
  }

  /** Send an ERROR event with code 410 on every watch and end them (an expired watch). */
  expireWatches(): void {
    for (const w of [...this.#watchers]) {
      w.res.end(`${JSON.stringify({ type: 'ERROR', object: goneStatus(this.#rv) })}\n`);
      this.#watchers.delete(w);
    }
  }

  /** End every watch stream normally (as at timeoutSeconds). */
  endWatches(): void {
    for (const w of [...this.#watchers]) {
      w.res.end();
      this.#watchers.delete(w);
    }
  }

  /** Cut every watch's TCP connection. */
  resetWatches(): void {
    for (const w of [...this.#watchers]) {
      w.res.socket?.destroy();
      this.#watchers.delete(w);
    }
  }

  /** Write a line that is not JSON on every watch. */
  garbleWatches(): void {
    for (const w of this.#watchers) w.res.write('{"type": "ADDED", "obj\n');
  }

  async close(): Promise<void> {
    for (const w of this.#watchers) w.res.destroy();
    this.#watchers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #record(change: Change): void {
    this.#changes.push(change);
    if (this.#changes.length > 10_000) this.#changes.shift();
    const line = `${JSON.stringify({ type: change.type, object: change.object })}\n`;
    for (const w of this.#watchers) {
      if (w.namespace === change.namespace && w.service === change.service) w.res.write(line);
    }
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://kube');
    const record = (status: number) =>
      this.requests.push({
        path: url.pathname,
        query: url.searchParams,
        authorization: req.headers.authorization,
        status,
      });
    const send = (status: number, body: object) => {
      record(status);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!this.#authorized(req)) {
      send(401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const service = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)$/.exec(url.pathname);
    if (service !== null) {
      const injected = this.failNext.service.shift();
      if (injected !== undefined) {
        send(injected, status(injected, 'InternalError', 'injected'));
        return;
      }
      const [, ns, name] = service;
      if (!this.#services.has(`${ns}/${name}`)) {
        send(404, status(404, 'NotFound', `services "${name}" not found`));
        return;
      }
      send(200, { kind: 'Service', apiVersion: 'v1', metadata: { name, namespace: ns } });
      return;
    }
    const slices = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/.exec(url.pathname);
    const selector = url.searchParams.get('labelSelector') ?? '';
    if (slices === null || !selector.startsWith(`${LABEL}=`)) {
      send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    const namespace = slices[1]!;
    const serviceName = selector.slice(LABEL.length + 1);
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
      const injected = this.failNext.watch.shift();
      if (injected !== undefined) {
        send(injected, status(injected, 'InternalError', 'injected'));
        return;
      }
      this.#watch(url, namespace, serviceName, res, record);
      return;
    }
    const injected = this.failNext.list.shift();
    if (injected !== undefined) {
      send(injected, status(injected, 'Forbidden', 'injected'));
      return;
    }
    const all = [...this.#slices.values()]
      .filter((s) => s.namespace === namespace && s.service === serviceName)
      .map((s) => s.object);
    const limit = Number(url.searchParams.get('limit') ?? '0');
    const from = Number(url.searchParams.get('continue') ?? '0');
    const items = limit > 0 ? all.slice(from, from + limit) : all.slice(from);
    const next = limit > 0 && from + limit < all.length ? String(from + limit) : undefined;
    send(200, {
      kind: 'EndpointSliceList',
      apiVersion: 'discovery.k8s.io/v1',
      metadata: { resourceVersion: String(this.#rv), ...(next === undefined ? {} : { continue: next }) },
      items,
    });
  }

  #watch(
    url: URL,
    namespace: string,
    service: string,
    res: ServerResponse,
    record: (status: number) => void,
  ): void {
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    if (!Number.isInteger(from) || from < this.#compactedBelow) {
      if (this.goneAs === 'status') {
        record(410);
        res.writeHead(410, { 'content-type': 'application/json' });
        res.end(JSON.stringify(goneStatus(from)));
      } else {
        record(200);
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: goneStatus(from) })}\n`);
      }
      return;
    }
    record(200);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders(); // as the API server does: the client knows the watch is open before any event
    for (const change of this.#changes) {
      if (change.rv > from && change.namespace === namespace && change.service === service) {
        res.write(`${JSON.stringify({ type: change.type, object: change.object })}\n`);
      }
    }
    const watcher: Watcher = {
      res,
      namespace,
      service,
      bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
    };
    this.#watchers.add(watcher);
    const timeoutSeconds = Number(url.searchParams.get('timeoutSeconds') ?? '1800');
    const timer = setTimeout(() => {
      if (this.#watchers.delete(watcher)) res.end();
    }, timeoutSeconds * 1000);
    timer.unref();
    res.on('close', () => {
      clearTimeout(timer);
      this.#watchers.delete(watcher);
    });
  }

  #authorized(req: IncomingMessage): boolean {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && this.tokens.has(auth.slice('Bearer '.length))) return true;
    const socket = req.socket as TLSSocket;
    return (
      this.acceptClientCerts &&
      socket.authorized === true &&
      socket.getPeerCertificate().subject?.CN === 'weft-client'
    );
  }
}

function kindOf(path: string, query: URLSearchParams): 'list' | 'watch' | 'service' {
  if (path.includes('/services/')) return 'service';
  return query.get('watch') === 'true' ? 'watch' : 'list';
}

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function goneStatus(rv: number): object {
  return status(410, 'Expired', `too old resource version: ${rv}`);
}
