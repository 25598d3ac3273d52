/**
 * gRPC chaos: real grpc-js servers on loopback that misbehave on purpose (a connection reset after
 * the handler ran, a refused port, a handler that never answers, every replica failing, a failure
 * after a long client stream). Every test asserts what the servers saw, not what the client
 * believes it sent: nothing is sent twice unless gRFC A6 and the method's idempotency allow it.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { roundRobin } from '../../src/balance/strategies.js';
import { createGrpcClient, type GrpcClientOptions } from '../../src/grpc.js';
import { refusedPort } from '../support/chaos-servers.js';
import {
  EchoClient,
  type EchoReply,
  type EchoRequest,
  failWith,
  GrpcBackends,
  type SeenCall,
  unary,
} from '../support/grpc-servers.js';

const backends = new GrpcBackends();
const clients: grpc.Client[] = [];
const proxies: ResettingProxy[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await backends.closeAll();
});

function client(options: Partial<GrpcClientOptions>): grpc.Client {
  const c = createGrpcClient(EchoClient, {
    balancer: roundRobin(),
    ...options,
    retry: { backoffInitialMs: 1, backoffMaxMs: 2, ...(options.retry as object | undefined) },
  } as GrpcClientOptions) as grpc.Client;
  clients.push(c);
  return c;
}

/** The request message a server saw in a unary call. */
function messageOf(seen: SeenCall): string {
  return (seen.call as grpc.ServerUnaryCall<EchoRequest, EchoReply>).request.message;
}

/** Await `condition`, looking every 10 ms, for at most `ms`. */
async function eventually(condition: () => boolean, ms = 2_000): Promise<void> {
  for (let waited = 0; !condition() && waited < ms; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(condition()).toBe(true);
}

/**
 * A TCP proxy in front of a server, whose `reset()` tears down every connection through it at
 * once: the client's side gets a TCP RST, the server's side is destroyed. Called from a handler
 * before it answers, it makes "the server processed the call, then the connection died".
 */
interface ResettingProxy {
  readonly address: string;
  reset(): void;
  close(): Promise<void>;
}

async function startResettingProxy(targetPort: number): Promise<ResettingProxy> {
  const pairs = new Set<readonly [Socket, Socket]>();
  const server = createServer((downstream) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair = [downstream, upstream] as const;
    pairs.add(pair);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    const drop = () => {
      pairs.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    for (const socket of pair) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const reset = () => {
    for (const pair of [...pairs]) {
      pairs.delete(pair);
      for (const socket of pair) socket.resetAndDestroy();
    }
  };
  const proxy: ResettingProxy = {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    reset,
    close: () =>
      new Promise<void>((resolve) => {
        reset();
        server.close(() => resolve());
      }),
  };
  proxies.push(proxy);
  return proxy;
}

describe('gRPC chaos: what the servers saw', () => {
  it('a non-idempotent unary the server processed before the connection reset arrives exactly once', async () => {
    let proxy: ResettingProxy | undefined;
    const processed: string[] = [];
    const resetAfterProcessing: grpc.handleUnaryCall<EchoRequest, EchoReply> = (call, callback) => {
      processed.push(call.request.message);
      proxy!.reset();
      callback(null, { message: call.request.message, server: 'processed' });
    };
    const processing = await backends.start('processing', {
      unary: resetAfterProcessing,
      idempotentUnary: resetAfterProcessing,
    });
    proxy = await startResettingProxy(processing.port);
    const healthy = await backends.start('healthy');

    const c = client({ endpoints: [proxy.address, healthy.address] });
    const error = (await unary(c, 'unary', { message: 'charge-1' }).catch(
      (e: unknown) => e,
    )) as grpc.ServiceError;
    // UNAVAILABLE on grpc-js 1.14; 1.10 reports the lost connection as CANCELLED.
    expect([grpc.status.UNAVAILABLE, grpc.status.CANCELLED]).toContain(error.code);
    expect(processed).toEqual(['charge-1']);
    expect(processing.seen.map(messageOf)).toEqual(['charge-1']);
    expect(healthy.seen).toHaveLength(0);

    // The same reset on a method the proto declares idempotent: sent again, to the other endpoint.
    const c2 = client({ endpoints: [proxy.address, healthy.address] });
    expect(await unary(c2, 'idempotentUnary', { message: 'read-1' })).toEqual({
      message: 'read-1',
      server: 'healthy',
    });
    expect(processed).toEqual(['charge-1', 'read-1']);
    expect(healthy.seen.map(messageOf)).toEqual(['read-1']);
  });

  it('a refused endpoint: every non-idempotent call arrives elsewhere, exactly once', async () => {
    const dead = `127.0.0.1:${await refusedPort()}`;
    const live = await backends.start('live');
    const c = client({ endpoints: [dead, live.address] });
    const messages = Array.from({ length: 20 }, (_, i) => `payment-${i}`);
    for (const message of messages) expect((await unary(c, 'unary', { message })).server).toBe('live');
    expect(live.seen.map(messageOf)).toEqual(messages);
    // The first call went to the refused port first (round robin starts there), then here.
    expect(live.seen[0]!.metadata.get('grpc-previous-rpc-attempts')).toEqual(['1']);
  });

  it('a hanging endpoint: the attempt times out, the call succeeds elsewhere; a non-idempotent one is not sent again', async () => {
    let cancelled = 0;
    const hang: grpc.handleUnaryCall<EchoRequest, EchoReply> = (call) => {
      call.on('cancelled', () => cancelled++);
    };
    const stuck = await backends.start('stuck', { unary: hang, idempotentUnary: hang });
    const live = await backends.start('live');
    const c = client({ endpoints: [stuck.address, live.address], timeoutMs: 5_000, attemptTimeoutMs: 200 });
    for (let i = 0; i < 3; i++) {
      expect(await unary(c, 'idempotentUnary', { message: `read-${i}` })).toEqual({
        message: `read-${i}`,
        server: 'live',
      });
    }
    expect(live.seen.map(messageOf)).toEqual(['read-0', 'read-1', 'read-2']);
    expect(stuck.seen.length).toBeGreaterThan(0);
    // The stuck server was given the attempt's time, not the call's, and saw each attempt cancelled.
    for (const seen of stuck.seen) expect(seen.timeLeftMs).toBeLessThanOrEqual(200);
    await eventually(() => cancelled === stuck.seen.length);

    const before = stuck.seen.length;
    const c2 = client({ endpoints: [stuck.address, live.address], timeoutMs: 5_000, attemptTimeoutMs: 200 });
    const error = (await unary(c2, 'unary', { message: 'charge-1' }).catch(
      (e: unknown) => e,
    )) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(stuck.seen.slice(before).map(messageOf)).toEqual(['charge-1']);
    expect(live.seen.map(messageOf)).not.toContain('charge-1');
  });

  it('every endpoint failing: the extra attempts the servers saw stay within the retry budget', async () => {
    const failing = await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        backends.start(name, { idempotentUnary: failWith(grpc.status.UNAVAILABLE) }),
      ),
    );
    const c = client({ endpoints: failing.map((b) => b.address), failureAccrual: false });
    const calls = 300;
    const codes = await load(c, 'idempotentUnary', calls, 4);
    expect(codes.get(grpc.status.UNAVAILABLE)).toBe(calls);
    const attempts = failing.reduce((n, b) => n + b.seen.length, 0);
    // Budget: 20% of calls plus a reserve of 10 a second over its 10 s window (100), Finagle's.
    // Without it: 3 attempts a call, 900.
    expect(attempts).toBeGreaterThan(calls);
    expect(attempts).toBeLessThanOrEqual(calls + 0.2 * calls + 100);
  });

  it("every endpoint failing: a service config's retryThrottling bounds its retryPolicy's retries", async () => {
    const failing = await Promise.all(
      ['a', 'b', 'c'].map((name) => backends.start(name, { unary: failWith(grpc.status.UNAVAILABLE) })),
    );
    const c = client({
      endpoints: failing.map((b) => b.address),
      failureAccrual: false,
      serviceConfig: {
        methodConfig: [
          {
            name: [{ service: 'weft.test.Echo', method: 'Unary' }],
            retryPolicy: {
              maxAttempts: 5,
              initialBackoff: '0.001s',
              maxBackoff: '0.002s',
              backoffMultiplier: 2,
              retryableStatusCodes: ['UNAVAILABLE'],
            },
          },
        ],
        retryThrottling: { maxTokens: 20, tokenRatio: 0.1 },
      },
    });
    const calls = 200;
    const codes = await load(c, 'unary', calls, 4);
    expect(codes.get(grpc.status.UNAVAILABLE)).toBe(calls);
    const attempts = failing.reduce((n, b) => n + b.seen.length, 0);
    // tokenRatio of calls plus maxTokens / 2: 20 + 10. Without a budget: up to 3 a call (3 endpoints).
    expect(attempts).toBeGreaterThan(calls);
    expect(attempts).toBeLessThanOrEqual(calls + 0.1 * calls + 10);
  });

  it('a client stream past the replay bound is not sent again; one within it is, whole and in order', async () => {
    const received = new Map<string, string[][]>();
    const readAll = (name: string, fail: boolean): grpc.handleClientStreamingCall<EchoRequest, EchoReply> => {
      return (call, callback) => {
        const messages: string[] = [];
        received.set(name, [...(received.get(name) ?? []), messages]);
        call.on('data', (m: EchoRequest) => messages.push(m.message));
        call.on('end', () => {
          if (fail) failWith(grpc.status.UNAVAILABLE)(call as never, callback);
          else callback(null, { message: messages.join(','), server: name });
        });
      };
    };
    const failing = await backends.start('failing', { clientStream: readAll('failing', true) });
    const live = await backends.start('live', { clientStream: readAll('live', false) });
    const stream = (c: grpc.Client) =>
      new Promise<{ error: grpc.ServiceError | null; reply: EchoReply | undefined }>((resolve) => {
        const call = (c as unknown as Record<string, Function>).clientStream!(
          (error: grpc.ServiceError | null, reply?: EchoReply) => resolve({ error, reply }),
        ) as grpc.ClientWritableStream<EchoRequest>;
        for (let i = 0; i < 4; i++) call.write({ message: `part-${i}`, count: 0 });
        call.end();
      });
    const parts = ['part-0', 'part-1', 'part-2', 'part-3'];
    const options = {
      endpoints: [failing.address, live.address],
      methods: { 'weft.test.Echo': { idempotent: true } },
    };

    // 4 messages of 8 bytes each (plus framing) do not fit in 16 bytes: the call commits.
    const past = await stream(client({ ...options, retry: { replayBufferBytes: 16 } }));
    expect(past.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(received.get('failing')).toEqual([parts]);
    expect(received.get('live')).toBeUndefined();

    const within = await stream(client(options));
    expect(within.error).toBeNull();
    expect(within.reply).toEqual({ message: parts.join(','), server: 'live' });
    expect(received.get('failing')).toEqual([parts, parts]);
    expect(received.get('live')).toEqual([parts]);
  });
});

/** `calls` unary calls, `concurrency` at a time; the status code each ended with, counted. */
async function load(
  c: grpc.Client,
  method: 'unary' | 'idempotentUnary',
  calls: number,
  concurrency: number,
): Promise<Map<number, number>> {
  const codes = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < calls) {
      const i = next++;
      const code = await unary(c, method, { message: String(i) }).then(
        () => grpc.status.OK,
        (error: grpc.ServiceError) => error.code,
      );
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return codes;
}
