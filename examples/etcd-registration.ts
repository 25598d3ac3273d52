// Registering an instance in etcd with a lease, and finding it with etcdResolver. The instance
// grants a lease with a TTL, puts its key under the service prefix attached to the lease, keeps
// the lease alive (every TTL/3, as etcd's Go client does), and revokes it on shutdown, which
// deletes the key at once. If the process dies without revoking, etcd deletes the key when the
// TTL runs out. All over etcd's JSON gateway with undici: no etcd client library.
// Run against a local etcd: ETCD_URL=http://127.0.0.1:2379 npx tsx examples/etcd-registration.ts
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { etcdResolver } from '../src/discovery.js';
import { createHttpClient } from '../src/index.js';

/** One call of etcd's JSON gateway: POST JSON, get JSON back; throws on an error status. */
async function gateway(etcdUrl: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await request(`${etcdUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`etcd ${path}: HTTP ${res.statusCode} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

const base64 = (text: string): string => Buffer.from(text).toString('base64');

/** What {@link register} needs: where etcd is, which key, and the instance's value. */
export interface RegistrationOptions {
  readonly etcdUrl: string;
  /** The service's prefix, ending in `/`; the key is prefix + instanceId. */
  readonly prefix: string;
  readonly instanceId: string;
  /** `host:port` the instance serves on. */
  readonly address: string;
  /** Lease TTL in seconds; etcd deletes the key this long after the last keep-alive. */
  readonly ttlSeconds: number;
  /** Optional weight and zone (weft's value layout); without them the value is etcd's naming layout. */
  readonly weight?: number;
  readonly zone?: string;
}

/** A live registration: the key, its lease, and how to end it. */
export interface Registration {
  readonly key: string;
  readonly leaseId: string;
  /** Keep-alives sent so far. */
  readonly keepAlives: () => number;
  /** Stop the keep-alives and revoke the lease (etcd deletes the key). */
  deregister(): Promise<void>;
}

/** Grant a lease, put the instance's key with it, and keep it alive until `deregister()`. */
export async function register(options: RegistrationOptions): Promise<Registration> {
  const { etcdUrl, prefix, instanceId, address, ttlSeconds } = options;
  const key = `${prefix}${instanceId}`;
  // weft's layout carries weight and zone; etcd's naming layout ({"Addr"}) is what Go services write.
  const value =
    options.weight !== undefined || options.zone !== undefined
      ? JSON.stringify({ address, weight: options.weight, zone: options.zone })
      : JSON.stringify({ Addr: address });

  const grant = await gateway(etcdUrl, '/v3/lease/grant', { TTL: ttlSeconds });
  const leaseId = String(grant.ID);
  await gateway(etcdUrl, '/v3/kv/put', { key: base64(key), value: base64(value), lease: leaseId });

  let keepAlives = 0;
  let stopped = false;
  // A keep-alive every TTL/3 leaves room for two to fail before the lease expires.
  const timer = setInterval(
    () => {
      gateway(etcdUrl, '/v3/lease/keepalive', { ID: leaseId }).then(
        (answer) => {
          keepAlives++;
          // A TTL missing or 0 means the lease is gone (expired while etcd was unreachable): a
          // real instance would register again here.
          const ttl = (answer.result as { TTL?: string } | undefined)?.TTL;
          if (!stopped && (ttl === undefined || ttl === '0'))
            console.warn(`lease ${leaseId} of ${key} expired`);
        },
        (error: unknown) => console.warn(`keep-alive of ${key} failed: ${String(error)}`),
      );
    },
    (ttlSeconds * 1_000) / 3,
  );
  timer.unref();

  return {
    key,
    leaseId,
    keepAlives: () => keepAlives,
    async deregister() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await gateway(etcdUrl, '/v3/lease/revoke', { ID: leaseId });
    },
  };
}

/** What {@link main} did, for the example's test. */
export interface RegistrationDemo {
  readonly key: string;
  readonly status: number;
  readonly body: string;
  /** Keep-alives sent while the instance served. */
  readonly keepAlives: number;
  /** Whether the key was still there at the end of `holdMs`, before the revoke. */
  readonly presentBeforeRevoke: boolean;
  /** Whether the client marked its set stale once the key was gone (it keeps the last set: advisory). */
  readonly staleAfterRevoke: boolean;
}

/**
 * Start an instance, register it, call it through a weft client that discovers it in etcd, keep
 * the registration for `holdMs`, then deregister and shut down.
 */
export async function main(
  log: (text: string) => void = console.log,
  etcdUrl: string = process.env.ETCD_URL ?? 'http://127.0.0.1:2379',
  { ttlSeconds = 10, holdMs = 0 }: { ttlSeconds?: number; holdMs?: number } = {},
): Promise<RegistrationDemo> {
  const server = createServer((_req, res) => res.end('hello from an instance registered in etcd'));
  await once(server.listen(0, '127.0.0.1'), 'listening');
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const prefix = 'services/hello/';
  const registration = await register({
    etcdUrl,
    prefix,
    instanceId: `instance-${process.pid}`,
    address,
    ttlSeconds,
  });
  log(`registered ${registration.key} → ${address} with lease ${registration.leaseId} (TTL ${ttlSeconds} s)`);

  const client = createHttpClient({ resolver: etcdResolver({ endpoints: [etcdUrl], prefix }) });
  try {
    const res = await client.request({ path: '/' });
    const body = await res.body.text();
    log(`${res.statusCode} ${body}`);
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    const keepAlives = registration.keepAlives();
    const found = await gateway(etcdUrl, '/v3/kv/range', { key: base64(registration.key) });
    const presentBeforeRevoke = Array.isArray(found.kvs) && found.kvs.length === 1;
    await registration.deregister();
    log(`revoked lease ${registration.leaseId}: ${registration.key} is gone`);
    // The resolver sees the delete; the client keeps its last set, marked stale (advisory).
    const deadline = Date.now() + 5_000;
    while (!client.discovery().stale && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return {
      key: registration.key,
      status: res.statusCode,
      body,
      keepAlives,
      presentBeforeRevoke,
      staleAfterRevoke: client.discovery().stale,
    };
  } finally {
    await registration.deregister();
    await client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await main();
