/**
 * A Consul HTTP API for contract tests, held to the documented blocking-query contract
 * (developer.hashicorp.com/consul/api-docs/features/blocking): `/v1/health/service/<name>` and
 * `/v1/catalog/service/<name>` answer with `X-Consul-Index`; with `?index=N&wait=Ds` a health
 * query is held until the service's index passes N or the wait (plus up to wait/16) runs out;
 * `?passing` keeps instances whose checks all pass; `?dc` must name the datacenter; an ACL token
 * (`X-Consul-Token`) is checked when set (403 "Permission denied" otherwise). Payloads follow the
 * API docs' examples. Faults on demand: error statuses, an index that goes backwards (a snapshot
 * restore), an index of 0, requests that never answer. No Consul binary can be installed here
 * (research next-wave §B5), hence this server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One registered instance. */
export interface ConsulInstance {
  readonly id: string;
  readonly node: string;
  readonly nodeAddress: string;
  /** Service.Address; '' means "use the node's". */
  readonly address?: string;
  readonly port: number;
  readonly tags?: readonly string[];
  readonly meta?: Record<string, string>;
  readonly nodeMeta?: Record<string, string>;
  readonly weight?: number;
  readonly status?: 'passing' | 'warning' | 'critical';
}

/** A request the server saw. */
export interface ConsulRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly token: string | undefined;
}

interface Held {
  readonly service: string;
  readonly index: number;
  readonly answer: () => void;
}

export class ConsulApiServer {
  readonly server: Server;
  readonly requests: ConsulRequest[] = [];
  readonly datacenter = 'dc1';
  /** The ACL token every request must carry, if set. */
  token: string | undefined;
  /** The next health queries answer these statuses instead. */
  readonly failNext: number[] = [];
  /** Answer every query with `X-Consul-Index: 0` (a Consul bug the docs warn about). */
  zeroIndex = false;
  /** Never answer (requests hang until the client gives up). */
  hang = false;
  #index = 10;
  readonly #services = new Map<string, Map<string, ConsulInstance & { modifyIndex: number }>>();
  readonly #serviceIndex = new Map<string, number>();
  readonly #held = new Set<Held>();

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(): Promise<ConsulApiServer> {
    const server = createServer();
    const consul = new ConsulApiServer(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => consul.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return consul;
  }

  get address(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Health queries being held. */
  get heldCount(): number {
    return this.#held.size;
  }

  /** Health queries seen for `service`. */
  healthQueries(service = 'api'): ConsulRequest[] {
    return this.requests.filter((r) => r.path === `/v1/health/service/${service}`);
  }

  register(service: string, instance: ConsulInstance): void {
    const instances = this.#services.get(service) ?? new Map();
    this.#services.set(service, instances);
    instances.set(instance.id, { ...instance, modifyIndex: ++this.#index });
    this.#changed(service);
  }

  deregister(service: string, id: string): void {
    const instances = this.#services.get(service);
    if (instances?.delete(id) !== true) return;
    ++this.#index;
    if (instances.size === 0) this.#services.delete(service);
    this.#changed(service);
  }

  setStatus(service: string, id: string, status: 'passing' | 'warning' | 'critical'): void {
    const instance = this.#services.get(service)?.get(id);
    if (instance === undefined) return;
    this.#services.get(service)!.set(id, { ...instance, status, modifyIndex: ++this.#index });
    this.#changed(service);
  }

  /** A snapshot restore: every index drops to `index` (lower than before). */
  restoreIndex(index: number): void {
    this.#index = index;
    for (const key of this.#serviceIndex.keys()) this.#serviceIndex.set(key, index);
  }

  /** The index a health query for `service` answers with now. */
  indexOf(service: string): number {
    return this.#serviceIndex.get(service) ?? this.#index;
  }

  async close(): Promise<void> {
    for (const held of this.#held) held.answer();
    this.#held.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #changed(service: string): void {
    this.#serviceIndex.set(service, this.#index);
    for (const held of [...this.#held]) {
      if (held.service === service && this.indexOf(service) > held.index) held.answer();
    }
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://consul');
    const token = req.headers['x-consul-token'];
    this.requests.push({
      path: url.pathname,
      query: url.searchParams,
      token: typeof token === 'string' ? token : undefined,
    });
    if (this.hang) return;
    const send = (status: number, body: unknown, index?: number) => {
      res.writeHead(status, {
        'content-type': status === 200 ? 'application/json' : 'text/plain',
        ...(index === undefined ? {} : { 'x-consul-index': String(this.zeroIndex ? 0 : index) }),
      });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (this.token !== undefined && token !== this.token) {
      send(403, 'Permission denied');
      return;
    }
    const dc = url.searchParams.get('dc');
    if (dc !== null && dc !== this.datacenter) {
      send(500, 'No path to datacenter');
      return;
    }
    const health = /^\/v1\/health\/service\/([^/]+)$/.exec(url.pathname);
    const catalog = /^\/v1\/catalog\/service\/([^/]+)$/.exec(url.pathname);
    const tag = url.searchParams.get('tag');
    if (catalog !== null) {
      const service = decodeURIComponent(catalog[1]!);
      const rows = this.#instances(service, tag).map((i) => ({
        Node: i.node,
        Address: i.nodeAddress,
        Datacenter: this.datacenter,
        ServiceID: i.id,
        ServiceName: service,
        ServiceAddress: i.address ?? '',
        ServicePort: i.port,
        ServiceTags: i.tags ?? [],
      }));
      send(200, rows, this.indexOf(service));
      return;
    }
    if (health === null) {
      send(404, 'Not found');
      return;
    }
    const injected = this.failNext.shift();
    if (injected !== undefined) {
      send(injected, 'injected failure');
      return;
    }
    const service = decodeURIComponent(health[1]!);
    const answer = () => {
      const passingOnly = url.searchParams.has('passing');
      const rows = this.#instances(service, tag)
        .filter((i) => !passingOnly || (i.status ?? 'passing') === 'passing')
        .map((i) => this.#healthRow(service, i));
      send(200, rows, this.indexOf(service));
    };
    const index = Number(url.searchParams.get('index') ?? '0');
    if (index > 0 && this.indexOf(service) <= index) {
      const waitSeconds = Number(/^(\d+)s$/.exec(url.searchParams.get('wait') ?? '')?.[1] ?? '300');
      const jitter = Math.random() * ((waitSeconds * 1000) / 16);
      const held: Held = {
        service,
        index,
        answer: () => {
          clearTimeout(timer);
          if (this.#held.delete(held)) answer();
        },
      };
      const timer = setTimeout(held.answer, waitSeconds * 1000 + jitter);
      timer.unref();
      this.#held.add(held);
      res.on('close', () => {
        clearTimeout(timer);
        this.#held.delete(held);
      });
      return;
    }
    answer();
  }

  #instances(service: string, tag: string | null): (ConsulInstance & { modifyIndex: number })[] {
    const all = [...(this.#services.get(service)?.values() ?? [])];
    return tag === null ? all : all.filter((i) => i.tags?.includes(tag));
  }

  #healthRow(service: string, i: ConsulInstance & { modifyIndex: number }): object {
    const status = i.status ?? 'passing';
    return {
      Node: {
        ID: `${i.node}-id`,
        Node: i.node,
        Address: i.nodeAddress,
        Datacenter: this.datacenter,
        Meta: i.nodeMeta ?? {},
      },
      Service: {
        ID: i.id,
        Service: service,
        Tags: i.tags ?? [],
        Address: i.address ?? '',
        Meta: i.meta ?? {},
        Port: i.port,
        Weights: { Passing: i.weight ?? 1, Warning: 1 },
        CreateIndex: i.modifyIndex,
        ModifyIndex: i.modifyIndex,
      },
      Checks: [
        { Node: i.node, CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing', ServiceID: '' },
        {
          Node: i.node,
          CheckID: `service:${i.id}`,
          Name: `Service '${service}' check`,
          Status: status,
          ServiceID: i.id,
        },
      ],
    };
  }
}
