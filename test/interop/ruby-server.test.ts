/**
 * weft's gRPC client against an implementation we did not write: the fourteen non-auth interop
 * cases (./cases.ts, from grpc/grpc doc/interop-test-descriptions.md), called through generated
 * clients built by `createGrpcClient`, against the interop server of Debian's ruby-grpc (gRPC
 * C-core), started here. Four ways:
 *  - plain: one endpoint, the Ruby server;
 *  - a dead endpoint first: a refused 127.0.0.1 port listed before the server, round robin, so
 *    calls do go to it and must move to the live one;
 *  - TLS and a host override: the gem's test CA, the server's certificate for *.test.google.fr,
 *    weft's `authority` as `:authority` and the name checked;
 *  - hedging on: two Ruby servers, every TestService method declared idempotent, and a hedge
 *    delay at the median, so backups are sent.
 */
import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcClient, type GrpcClientOptions, type WeftGrpcChannel } from '../../src/grpc.js';
import { roundRobin } from '../../src/index.js';
import { refusedPort } from '../support/chaos-servers.js';
import { TestServiceClient, UnimplementedServiceClient } from '../support/interop-service.js';
import {
  INTEROP_HOST_OVERRIDE,
  interopClientCredentials,
  type RubyInteropServer,
  startRubyInteropServer,
} from '../support/ruby-interop.js';
import { INTEROP_CASE_NAMES, INTEROP_CASES, type InteropClients } from './cases.js';

/** Keeps the clients of one configuration and closes them. */
class WeftInteropClients implements InteropClients {
  readonly test;
  readonly unimplemented;

  constructor(options: GrpcClientOptions) {
    const shared = { retry: { backoffInitialMs: 1, backoffMaxMs: 5 }, ...options };
    this.test = createGrpcClient(TestServiceClient, shared);
    this.unimplemented = createGrpcClient(UnimplementedServiceClient, shared);
  }

  /** The weft channel under the TestService client. */
  get channel(): WeftGrpcChannel {
    return this.test.getChannel() as unknown as WeftGrpcChannel;
  }

  close(): void {
    for (const client of [this.test, this.unimplemented] as grpc.Client[]) client.close();
  }
}

const servers: RubyInteropServer[] = [];
async function rubyServer(tls = false): Promise<RubyInteropServer> {
  const server = await startRubyInteropServer({ tls });
  servers.push(server);
  return server;
}
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

/** One `it` per case against `clients()`, made in beforeAll and closed in afterAll. */
function runCases(setup: () => Promise<WeftInteropClients>, after?: (c: WeftInteropClients) => void) {
  let clients: WeftInteropClients | undefined;
  beforeAll(async () => {
    clients = await setup();
  });
  afterAll(() => {
    if (clients !== undefined) after?.(clients);
    clients?.close();
  });
  for (const name of INTEROP_CASE_NAMES) {
    it(name, async () => {
      await INTEROP_CASES[name](clients!);
    });
  }
  return () => clients!;
}

describe('against the Ruby (C-core) interop server', () => {
  describe('plain', () => {
    runCases(async () => new WeftInteropClients({ endpoints: [(await rubyServer()).address] }));
  });

  describe('a dead endpoint listed first', () => {
    let dead = '';
    const clients = runCases(async () => {
      dead = `127.0.0.1:${await refusedPort()}`;
      return new WeftInteropClients({
        endpoints: [dead, (await rubyServer()).address],
        balancer: roundRobin(),
      });
    });
    it('the dead endpoint was tried, and failed every time', () => {
      const endpoints = clients().channel.endpoints();
      const deadStats = endpoints.find((e) => e.address === dead);
      const liveStats = endpoints.find((e) => e.address !== dead);
      expect(deadStats?.attempts).toBeGreaterThan(0);
      expect(deadStats?.successRate).toBe(0);
      expect(liveStats?.successRate).toBeGreaterThan(0);
    });
  });

  describe('TLS, with the host override as the authority', () => {
    runCases(
      async () =>
        new WeftInteropClients({
          endpoints: [(await rubyServer(true)).address],
          credentials: interopClientCredentials(),
          authority: INTEROP_HOST_OVERRIDE,
        }),
    );
  });

  describe('hedging on', () => {
    const clients = runCases(async () => {
      const [a, b] = await Promise.all([rubyServer(), rubyServer()]);
      const c = new WeftInteropClients({
        endpoints: [a!.address, b!.address],
        hedge: { maxExtraLoad: 0.5, minSamples: 1, minDelayMs: 1 },
        methods: { 'grpc.testing.TestService': { idempotent: true } },
      });
      // A few quick calls, so the hedge delay (the median latency) is known before the cases.
      for (let i = 0; i < 5; i++) await INTEROP_CASES.empty_unary(c);
      return c;
    });
    it('backups were sent', () => {
      expect(clients().channel.hedgeStats?.sent).toBeGreaterThan(0);
    });
  });
});
