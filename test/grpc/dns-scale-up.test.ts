/**
 * The gap grpc-js users report most (grpc/grpc-node #2455, #2265, #2847): DNS that is not
 * re-resolved when a Kubernetes service scales up, so new replicas never get traffic. weft's DNS
 * resolver re-resolves on the record's TTL, so a replica added to DNS during load takes gRPC calls
 * within the TTL. A real dnsmasq (TTL 1 s) answers for the name; the two replicas are real grpc-js
 * servers on the same port of two loopback addresses, so only DNS tells them apart.
 */
import type * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createGrpcClient } from '../../src/grpc.js';
import { dnsResolver } from '../../src/index.js';
import { type Dnsmasq, startDnsmasq } from '../support/dnsmasq.js';
import { EchoClient, type GrpcBackend, startGrpcBackend, unary } from '../support/grpc-servers.js';

/** dnsmasq's TTL for every record (`--local-ttl=1`), in ms. */
const TTL_MS = 1_000;
/** Room for a loaded machine: a lookup, a connection, a call. */
const SLACK_MS = 2_000;

const started: GrpcBackend[] = [];
let dns: Dnsmasq | undefined;
let client: grpc.Client | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await Promise.all(started.splice(0).map((b) => b.close()));
  await dns?.stop();
  dns = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DNS scale-up under gRPC load', () => {
  it('a replica added to DNS takes calls within the record TTL, and no call fails', async () => {
    const first = await startGrpcBackend('first');
    started.push(first);
    const added = await startGrpcBackend('added', {}, first.port, '127.0.0.2');
    started.push(added);
    dns = await startDnsmasq({ 'echo.weft.test': ['127.0.0.1'] });
    client = createGrpcClient(EchoClient, {
      name: 'echo.weft.test',
      resolver: dnsResolver({ hostname: 'echo.weft.test', port: first.port, servers: [dns.server] }),
    }) as grpc.Client;

    let running = true;
    const failures: unknown[] = [];
    const worker = async () => {
      for (let i = 0; running && i < 50_000; i++) {
        await unary(client!, 'unary', { message: 'x' }).catch((error: unknown) => failures.push(error));
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    try {
      await waitFor(() => first.seen.length > 20, 'traffic to the first replica');
      const scaledAt = Date.now();
      await dns.setHosts({ 'echo.weft.test': ['127.0.0.1', '127.0.0.2'] });
      await waitFor(() => added.seen.length > 0, 'traffic to the added replica');
      expect(Date.now() - scaledAt).toBeLessThan(TTL_MS + SLACK_MS);
      const before = added.seen.length;
      await waitFor(() => added.seen.length > before + 20, 'the added replica to keep taking calls');
    } finally {
      running = false;
      await Promise.all(workers);
    }
    expect(failures).toEqual([]);
  });
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
