/**
 * The same resolvers serve HTTP and gRPC clients (issue 17): one resolver instance feeds a weft
 * HTTP client and a weft gRPC client at once, and a membership change reaches both, for the
 * static resolver (`update()`), the DNS resolver on a real dnsmasq (the records change) and the
 * fallback resolver (its DNS primary stops answering, its static fallback serves). Each instance
 * of the service is a node:http backend and a grpc-js backend behind one loopback port, told
 * apart by the HTTP/2 connection preface (as cmux-style servers share a port), so that one
 * endpoint address means the same instance to both clients. No call fails while the set changes.
 * Every server, client and dnsmasq is closed.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { fallbackResolver } from '../../src/discovery/fallback.js';
import { createGrpcClient } from '../../src/grpc.js';
import {
  createHttpClient,
  dnsResolver,
  type HttpClient,
  type Resolver,
  roundRobin,
  staticResolver,
} from '../../src/index.js';
import { type Dnsmasq, startDnsmasq } from '../support/dnsmasq.js';
import { EchoClient, type GrpcBackend, startGrpcBackend, unary } from '../support/grpc-servers.js';
import { type Backend, replyAfter, startBackend } from '../support/http-servers.js';

/** One instance of the service: HTTP and gRPC on one port. */
interface Instance {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly http: Backend;
  readonly grpc: GrpcBackend;
  close(): Promise<void>;
}

/** The first bytes of every HTTP/2 connection (RFC 9113 §3.4): "PRI * HTTP/2.0...". */
const H2_PREFACE_START = 'PRI';

async function startInstance(name: string, host = '127.0.0.1', port = 0): Promise<Instance> {
  const http = await startBackend(replyAfter(0, name), 0, host);
  const grpcBackend = await startGrpcBackend(name, {}, 0, host);
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((socket) => {
    track(socket);
    socket.once('data', (first: Buffer) => {
      const h2 = first.subarray(0, 3).toString('latin1') === H2_PREFACE_START;
      const upstream = tcpConnect(h2 ? grpcBackend.port : http.port, host);
      track(upstream);
      upstream.write(first);
      socket.pipe(upstream).pipe(socket);
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as { port: number }).port;
  return {
    name,
    address: `${host}:${bound}`,
    port: bound,
    http,
    grpc: grpcBackend,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([http.close(), grpcBackend.close()]);
    },
  };
}

const instances: Instance[] = [];
const clients: Array<{ close(): unknown }> = [];
let dns: Dnsmasq | undefined;
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(instances.splice(0).map((i) => i.close()));
  await dns?.stop();
  dns = undefined;
});

async function instance(name: string, host?: string, port?: number): Promise<Instance> {
  const started = await startInstance(name, host, port);
  instances.push(started);
  return started;
}

/** An HTTP client and a gRPC client over the same resolver instance. */
function bothClients(resolver: Resolver): { http: HttpClient; grpc: grpc.Client } {
  // Round robin, so that a round of calls reaches every endpoint in the set (P2C would keep
  // preferring the instance it has measured over one that starts at the initial RTT).
  const http = createHttpClient({ name: 'api-http', resolver, balancer: roundRobin() });
  const grpcClient = createGrpcClient(EchoClient, {
    name: 'api-grpc',
    resolver,
    balancer: roundRobin(),
  }) as grpc.Client;
  clients.push(http, grpcClient);
  return { http, grpc: grpcClient };
}

/** Which instances answer a round of calls from each client (each call names its instance). */
async function answering(c: { http: HttpClient; grpc: grpc.Client }, calls = 8) {
  const http = new Set<string>();
  const grpcNames = new Set<string>();
  for (let i = 0; i < calls; i++) {
    const res = await c.http.request({ path: '/' });
    http.add(await res.body.text());
    grpcNames.add((await unary(c.grpc, 'unary', { message: 'x' })).server);
  }
  return { http: [...http].sort(), grpc: [...grpcNames].sort() };
}

/** Rounds of calls until both clients are answered by exactly `names` (at most ~10 s). */
async function untilBothReach(c: { http: HttpClient; grpc: grpc.Client }, names: string[]) {
  const want = [...names].sort();
  let seen = { http: [] as string[], grpc: [] as string[] };
  for (let round = 0; round < 100; round++) {
    seen = await answering(c);
    if (
      JSON.stringify(seen.http) === JSON.stringify(want) &&
      JSON.stringify(seen.grpc) === JSON.stringify(want)
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(seen, `both clients answered by ${want.join(', ')}`).toEqual({ http: want, grpc: want });
}

describe('one resolver, an HTTP client and a gRPC client', () => {
  it('static: update() moves both clients', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const resolver = staticResolver([a.address], { description: 'static(api)' });
    const both = bothClients(resolver);
    expect(await answering(both)).toEqual({ http: ['a'], grpc: ['a'] });
    resolver.update([a.address, b.address]);
    await untilBothReach(both, ['a', 'b']);
    resolver.update([b.address]);
    // The removed instance takes no new call from either client.
    const before = { http: a.http.seen.length, grpc: a.grpc.seen.length };
    expect(await answering(both)).toEqual({ http: ['b'], grpc: ['b'] });
    expect({ http: a.http.seen.length, grpc: a.grpc.seen.length }).toEqual(before);
    expect(both.http.discovery().endpoints.map((e) => e.address)).toEqual([b.address]);
  });

  it('DNS on dnsmasq: a record added and one removed reach both clients', async () => {
    const a = await instance('a', '127.0.0.1');
    await instance('b', '127.0.0.2', a.port);
    dns = await startDnsmasq({ 'api.weft.test': ['127.0.0.1'] });
    const resolver = dnsResolver({ hostname: 'api.weft.test', port: a.port, servers: [dns.server] });
    const both = bothClients(resolver);
    await untilBothReach(both, ['a']);
    await dns.setHosts({ 'api.weft.test': ['127.0.0.1', '127.0.0.2'] });
    await untilBothReach(both, ['a', 'b']);
    await dns.setHosts({ 'api.weft.test': ['127.0.0.2'] });
    await untilBothReach(both, ['b']);
  });

  it('fallback: when the DNS primary stops answering, both clients move to the static fallback', async () => {
    const a = await instance('a', '127.0.0.1');
    const b = await instance('b');
    dns = await startDnsmasq({ 'api.weft.test': ['127.0.0.1'] });
    const resolver = fallbackResolver([
      dnsResolver({
        hostname: 'api.weft.test',
        port: a.port,
        servers: [dns.server],
        timeoutMs: 200,
        tries: 1,
      }),
      staticResolver([b.address], { description: 'static(api-fallback)' }),
    ]);
    const both = bothClients(resolver);
    await untilBothReach(both, ['a']);
    await dns.stop();
    await untilBothReach(both, ['b']);
    expect(resolver.sources?.().map((s) => [s.description, s.serving, s.kind])).toEqual([
      [`dns:api.weft.test:${a.port}`, false, 'failed'],
      ['static(api-fallback)', true, 'bound'],
    ]);
  });
});
