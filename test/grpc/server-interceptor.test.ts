/**
 * weft's grpc-js server interceptor (grpcDeadlineInterceptor) on real grpc-js and node:http
 * servers on loopback: a handler of each of the four call kinds, calling out through weft's HTTP
 * and gRPC clients, passes on less time than it got; a peer's deadline is clamped and moved onto
 * the interceptor's clock; cancelling the incoming call cancels the outbound ones (the downstream
 * servers see it), and a call started after the incoming one ended sends nothing; the three-hop
 * chain HTTP → gRPC → HTTP; the options' checks.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { currentAmbientContext } from '../../src/core/ambient.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { createGrpcClient, grpcDeadlineInterceptor } from '../../src/grpc.js';
import {
  createHttpClient,
  DEADLINE_HEADER,
  type HttpClient,
  type HttpClientOptions,
  runWithIncomingDeadline,
} from '../../src/index.js';
import { expectConfigError } from '../support/config-errors.js';
import {
  EchoClient,
  type EchoReply,
  type EchoRequest,
  GrpcBackends,
  unary,
} from '../support/grpc-servers.js';
import { Backends, replyAfter } from '../support/http-servers.js';

const httpBackends = new Backends();
const grpcBackends = new GrpcBackends();
const servers: grpc.Server[] = [];
const grpcClients: grpc.Client[] = [];
const httpClients: HttpClient[] = [];
afterEach(async () => {
  for (const c of grpcClients.splice(0)) c.close();
  for (const s of servers.splice(0)) s.forceShutdown();
  // The servers first: a call a failing test left hanging then ends, and the clients close at once.
  await Promise.all([httpBackends.closeAll(), grpcBackends.closeAll()]);
  await Promise.all(httpClients.splice(0).map((c) => c.close()));
});

const KINDS = ['unary', 'serverStream', 'clientStream', 'bidi'] as const;
type Kind = (typeof KINDS)[number];
type Methods = Record<string, (...args: unknown[]) => grpc.ClientReadableStream<EchoReply>>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `promise`, or a failure naming `what` if it has not settled within `ms` (a failing test ends early). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function httpClient(options: HttpClientOptions): HttpClient {
  const c = createHttpClient(options);
  httpClients.push(c);
  return c;
}

/** weft's gRPC client of the test service. */
function weftGrpc(
  address: string,
  options: Partial<Parameters<typeof createGrpcClient>[1]> = {},
): grpc.Client {
  const c = createGrpcClient(EchoClient, { endpoints: [address], ...options }) as grpc.Client;
  grpcClients.push(c);
  return c;
}

/** A plain grpc-js client (no weft) of the test service: the caller of the incoming calls. */
function plainGrpc(address: string): grpc.Client {
  const c = new EchoClient(address, grpc.credentials.createInsecure());
  grpcClients.push(c);
  return c;
}

/** Milliseconds to a grpc-js deadline (Infinity for none). */
function timeLeft(deadline: grpc.Deadline): number {
  return (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
}

/** What a middle handler does: given the time its call had left when it began, a reply. */
type Work = (got: number) => Promise<string>;

/**
 * A grpc-js server with `interceptors`, whose handlers run `work` for every call kind: unary and
 * server-streaming when called, client-streaming at the end of the client's messages, bidi at
 * its first message (the last two from listener events after `start`).
 */
async function startMiddle(work: Work, interceptors: grpc.ServerInterceptor[]): Promise<string> {
  const server = new grpc.Server({ interceptors });
  servers.push(server);
  const answer = (call: { getDeadline(): grpc.Deadline }) =>
    work(timeLeft(call.getDeadline())).catch((e: Error) => `failed: ${e.name}: ${e.message}`);
  const reply = (message: string): EchoReply => ({ message, server: 'middle' });
  const unaryHandler: grpc.handleUnaryCall<EchoRequest, EchoReply> = (call, callback) =>
    void answer(call).then((m) => callback(null, reply(m)));
  server.addService(EchoClient.service, {
    unary: unaryHandler,
    idempotentUnary: unaryHandler,
    serverStream: ((call) =>
      void answer(call).then((m) => {
        call.write(reply(m));
        call.end();
      })) as grpc.handleServerStreamingCall<EchoRequest, EchoReply>,
    clientStream: ((call, callback) => {
      call.on('data', () => {});
      call.on('end', () => void answer(call).then((m) => callback(null, reply(m))));
    }) as grpc.handleClientStreamingCall<EchoRequest, EchoReply>,
    bidi: ((call) => {
      let first = true;
      call.on('data', () => {
        if (!first) return;
        first = false;
        void answer(call).then((m) => {
          call.write(reply(m));
          call.end();
        });
      });
    }) as grpc.handleBidiStreamingCall<EchoRequest, EchoReply>,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  return `127.0.0.1:${port}`;
}

/** Make an incoming call of `kind`: its first reply, and a way to cancel it. */
function callMiddle(
  client: grpc.Client,
  kind: Kind,
  options: grpc.CallOptions = {},
): { reply: Promise<string>; cancel(): void } {
  const methods = client as unknown as Methods;
  const request: EchoRequest = { message: 'in', count: 1 };
  let call!: grpc.ClientReadableStream<EchoReply> & grpc.ClientWritableStream<EchoRequest>;
  const reply = new Promise<string>((resolve, reject) => {
    const done = (error: grpc.ServiceError | null, r?: EchoReply) =>
      error ? reject(error) : resolve(r!.message);
    const metadata = new grpc.Metadata();
    if (kind === 'unary') call = methods.unary!(request, metadata, options, done) as typeof call;
    else if (kind === 'clientStream') call = methods.clientStream!(metadata, options, done) as typeof call;
    else if (kind === 'serverStream') call = methods.serverStream!(request, metadata, options) as typeof call;
    else call = methods.bidi!(metadata, options) as typeof call;
    if (kind === 'serverStream' || kind === 'bidi') {
      call.on('data', (r: EchoReply) => {
        resolve(r.message);
        if (kind === 'bidi') call.end();
      });
      call.on('error', reject);
    }
    if (kind === 'clientStream' || kind === 'bidi') call.write(request);
    if (kind === 'clientStream') call.end();
  });
  return { reply, cancel: () => call.cancel() };
}

/** An HTTP handler that never answers and resolves `closed` when its client goes away. */
function hangingHttp(): {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  closed: Promise<void>;
} {
  let closed!: () => void;
  const promise = new Promise<void>((resolve) => {
    closed = resolve;
  });
  return {
    handler: (_req, res) => {
      res.on('close', () => {
        if (!res.writableEnded) closed();
      });
    },
    closed: promise,
  };
}

describe('the deadline reaches the calls a handler makes', () => {
  it('all four call kinds: weft HTTP and gRPC calls from the handler pass on less time than it got', async () => {
    const httpDown = await httpBackends.start(replyAfter(0, 'down'));
    const grpcDown = await grpcBackends.start('down');
    const http = httpClient({ endpoints: [httpDown.address] });
    const out = weftGrpc(grpcDown.address);
    const middle = await startMiddle(
      async (got) => {
        await sleep(20);
        await (await http.request({ path: '/down' })).body.text();
        await unary(out, 'unary', { message: 'down' });
        return String(got);
      },
      [grpcDeadlineInterceptor()],
    );
    const caller = plainGrpc(middle);

    for (const kind of KINDS) {
      const answer = await callMiddle(caller, kind, { deadline: Date.now() + 3_000 }).reply;
      const got = Number(answer);
      expect(got, `${kind}: ${answer}`).toBeGreaterThan(1_000);
      expect(got).toBeLessThanOrEqual(3_000);
      // Both calls came at least 20 ms into the handler: each had that much less than it got.
      const sentOverHttp = Number(httpDown.seen.at(-1)!.headers[DEADLINE_HEADER]);
      const arrivedOverGrpc = grpcDown.seen.at(-1)!.timeLeftMs;
      expect(sentOverHttp, kind).toBeGreaterThan(0);
      expect(sentOverHttp, kind).toBeLessThanOrEqual(got - 20);
      expect(arrivedOverGrpc, kind).toBeGreaterThan(0);
      expect(arrivedOverGrpc, kind).toBeLessThanOrEqual(got - 20);
    }
    expect(httpDown.seen).toHaveLength(4);
    expect(grpcDown.seen).toHaveLength(4);
  });

  it('a deadline above maxMs is clamped; the deadline is on the interceptor clock', async () => {
    const httpDown = await httpBackends.start(replyAfter(0, 'down'));
    const http = httpClient({ endpoints: [httpDown.address] });
    const clamped = await startMiddle(async () => {
      await (await http.request({ path: '/down' })).body.text();
      return 'ok';
    }, [grpcDeadlineInterceptor({ maxMs: 400 })]);
    await callMiddle(plainGrpc(clamped), 'unary', { deadline: Date.now() + 60_000 }).reply;
    const sent = Number(httpDown.seen[0]!.headers[DEADLINE_HEADER]);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(400);

    // A virtual clock stands still: the context's deadline is what was left on arrival, on it.
    const clock = new VirtualClock(1_000_000);
    const onClock = await startMiddle(
      async (got) => {
        const context = currentAmbientContext();
        return JSON.stringify({ same: context?.clock === clock, left: context!.deadline - clock.now(), got });
      },
      [grpcDeadlineInterceptor({ clock })],
    );
    const seen = JSON.parse(
      await callMiddle(plainGrpc(onClock), 'unary', { deadline: Date.now() + 3_000 }).reply,
    ) as { same: boolean; left: number; got: number };
    expect(seen.same).toBe(true);
    expect(seen.left).toBeGreaterThanOrEqual(seen.got);
    expect(seen.left).toBeLessThanOrEqual(3_000);
  });

  it('without a deadline: calls keep their own timeout, and the context still carries the cancellation', async () => {
    const httpDown = await httpBackends.start(replyAfter(0, 'down'));
    const http = httpClient({ endpoints: [httpDown.address], timeoutMs: 5_000 });
    const middle = await startMiddle(async () => {
      await (await http.request({ path: '/down' })).body.text();
      const context = currentAmbientContext();
      return `${context?.deadline} ${context?.signal instanceof AbortSignal} ${context?.signal?.aborted}`;
    }, [grpcDeadlineInterceptor()]);
    expect(await callMiddle(plainGrpc(middle), 'unary').reply).toBe('Infinity true false');
    const sent = Number(httpDown.seen[0]!.headers[DEADLINE_HEADER]);
    expect(sent).toBeGreaterThan(4_000);
    expect(sent).toBeLessThanOrEqual(5_000);
  });
});

describe('cancellation reaches the calls a handler makes', () => {
  it.each(KINDS)(
    '%s: cancelling the incoming call cancels its HTTP and gRPC calls, downstream sees it',
    async (kind) => {
      const httpDown = hangingHttp();
      let grpcDownCancelled!: () => void;
      const grpcCancelled = new Promise<void>((resolve) => {
        grpcDownCancelled = resolve;
      });
      const arrived: string[] = [];
      const httpServer = await httpBackends.start((req, res) => {
        arrived.push('http');
        httpDown.handler(req, res);
      });
      const grpcServer = await grpcBackends.start('down', {
        unary: (call) => {
          arrived.push('grpc');
          call.on('cancelled', () => grpcDownCancelled());
        },
      });
      // Their own timeouts are long: only the cancellation can end these calls within the test.
      const http = httpClient({ endpoints: [httpServer.address], timeoutMs: 60_000 });
      const out = weftGrpc(grpcServer.address, { timeoutMs: 60_000 });
      let outcomes!: (outcomes: PromiseSettledResult<unknown>[]) => void;
      const settled = new Promise<PromiseSettledResult<unknown>[]>((resolve) => {
        outcomes = resolve;
      });
      const middle = await startMiddle(async () => {
        outcomes(
          await Promise.allSettled([
            http.request({ path: '/hang' }),
            unary(out, 'unary', { message: 'hang' }),
          ]),
        );
        return 'after';
      }, [grpcDeadlineInterceptor()]);

      const incoming = callMiddle(plainGrpc(middle), kind);
      const ended = incoming.reply.catch((e: grpc.ServiceError) => e);
      for (let i = 0; i < 500 && arrived.length < 2; i++) await sleep(5);
      expect(arrived.sort()).toEqual(['grpc', 'http']);
      incoming.cancel();
      await within(httpDown.closed, 3_000, 'the HTTP server saw the cancellation');
      await within(grpcCancelled, 3_000, 'the gRPC server saw the cancellation');
      const [httpOutcome, grpcOutcome] = await within(settled, 3_000, 'the outbound calls ended');
      expect(httpOutcome!.status).toBe('rejected');
      const httpError = (httpOutcome as PromiseRejectedResult).reason as Error;
      expect(httpError.name).toBe('AbortError');
      expect(httpError.message).toBe('the incoming gRPC call was cancelled by its client');
      expect(grpcOutcome!.status).toBe('rejected');
      const grpcError = (grpcOutcome as PromiseRejectedResult).reason as grpc.ServiceError;
      expect(grpcError.code).toBe(grpc.status.CANCELLED);
      expect(grpcError.details).toContain('the incoming gRPC call was cancelled by its client');
      expect(((await ended) as grpc.ServiceError).code).toBe(grpc.status.CANCELLED);
    },
  );

  it('a call started after the incoming call was answered sends nothing', async () => {
    const httpDown = await httpBackends.start(replyAfter(0, 'down'));
    const http = httpClient({ endpoints: [httpDown.address] });
    let late!: (error: unknown) => void;
    const lateOutcome = new Promise<unknown>((resolve) => {
      late = resolve;
    });
    const middle = await startMiddle(async () => {
      // Work left running after the answer, still inside the call's context.
      setTimeout(() => {
        http.request({ path: '/late' }).then(late, late);
      }, 50);
      return 'answered';
    }, [grpcDeadlineInterceptor()]);
    expect(await callMiddle(plainGrpc(middle), 'unary', { deadline: Date.now() + 5_000 }).reply).toBe(
      'answered',
    );
    const error = (await within(lateOutcome, 3_000, 'the late call ended')) as Error;
    expect(error.name).toBe('AbortError');
    expect(error.message).toBe('the incoming gRPC call has ended (its handler sent the status)');
    expect(httpDown.seen).toHaveLength(0);
  });
});

describe('three hops: HTTP → gRPC → HTTP', () => {
  /** hop 1: an HTTP service that works `workMs`, then calls hop 2 over gRPC through weft. */
  async function hop1(hop2: string, workMs: number) {
    const out = weftGrpc(hop2);
    return httpBackends.start((req, res) =>
      runWithIncomingDeadline(req.headers, async () => {
        await sleep(workMs);
        try {
          res.end((await unary(out, 'unary', { message: 'hop1' })).message);
        } catch (error) {
          res.statusCode = 504;
          res.end(
            `${grpc.status[(error as grpc.ServiceError).code]}: ${(error as grpc.ServiceError).details}`,
          );
        }
      }),
    );
  }

  /** hop 2: a gRPC service behind weft's interceptor that works `workMs`, then calls hop 3 over HTTP. */
  async function hop2(hop3: string, workMs: number, calls: number[]) {
    const http = httpClient({ endpoints: [hop3] });
    return startMiddle(
      async (got) => {
        calls.push(got);
        await sleep(workMs);
        await (await http.request({ path: '/hop3' })).body.text();
        return String(got);
      },
      [grpcDeadlineInterceptor()],
    );
  }

  it('each hop sees less time than the one before', async () => {
    const third = await httpBackends.start(replyAfter(0, 'hop3'));
    const calls: number[] = [];
    const second = await hop2(third.address, 50, calls);
    const first = await hop1(second, 50);
    const client = httpClient({ endpoints: [first.address], timeoutMs: 2_000 });

    const res = await client.request({ path: '/hop1' });
    const atSecond = Number(await res.body.text());
    const atFirst = Number(first.seen[0]!.headers[DEADLINE_HEADER]);
    const atThird = Number(third.seen[0]!.headers[DEADLINE_HEADER]);
    expect(res.statusCode).toBe(200);
    expect(atFirst).toBeLessThanOrEqual(2_000);
    // Each hop worked 50 ms before calling the next: the next had at least ~that much less.
    expect(atSecond).toBeLessThanOrEqual(atFirst - 45);
    expect(atThird).toBeLessThanOrEqual(atSecond - 45);
    expect(atThird).toBeGreaterThan(0);
  });

  it('a budget spent at the HTTP hop sends nothing over gRPC', async () => {
    const third = await httpBackends.start(replyAfter(0, 'hop3'));
    const calls: number[] = [];
    const second = await hop2(third.address, 0, calls);
    const first = await hop1(second, 80);
    const client = httpClient({ endpoints: [first.address], propagateDeadline: false });

    const res = await client.request({ path: '/hop1', headers: { [DEADLINE_HEADER]: '30' } });
    expect(res.statusCode).toBe(504);
    expect(await res.body.text()).toMatch(/^DEADLINE_EXCEEDED/);
    expect(calls).toHaveLength(0);
    expect(third.seen).toHaveLength(0);
  });

  it('a budget spent at the gRPC hop sends nothing over HTTP', async () => {
    const third = await httpBackends.start(replyAfter(0, 'hop3'));
    let failed!: (text: string) => void;
    const failure = new Promise<string>((resolve) => {
      failed = resolve;
    });
    const http = httpClient({ endpoints: [third.address] });
    const second = await startMiddle(async () => {
      await sleep(250);
      try {
        await http.request({ path: '/hop3' });
        failed('sent');
      } catch (error) {
        failed((error as Error).name);
      }
      return 'late';
    }, [grpcDeadlineInterceptor()]);
    const first = await hop1(second, 0);
    const client = httpClient({ endpoints: [first.address], timeoutMs: 150 });

    const res = await client.request({ path: '/hop1' }).catch((e: Error) => e);
    // The outer call ran out of time: its own deadline fired, or, a moment sooner, hop 1's gRPC
    // call did and hop 1 answered 504. The gRPC hop's own call, made later, sent nothing.
    if (res instanceof Error) expect(res.name).toBe('DeadlineExceededError');
    else expect(res.statusCode).toBe(504);
    // Its deadline had passed, and its caller had cancelled it at the same moment: whichever
    // weft saw first names the error; either way nothing was sent.
    expect(['DeadlineExceededError', 'AbortError']).toContain(await failure);
    expect(third.seen).toHaveLength(0);
  });
});

describe('options', () => {
  it('rejects unknown keys, a bad maxMs and a bad clock, when the interceptor is made', () => {
    expectConfigError(() => grpcDeadlineInterceptor({ maxMS: 5 } as never), 'maxMS');
    expectConfigError(() => grpcDeadlineInterceptor({ maxMs: -1 }), 'maxMs');
    expectConfigError(() => grpcDeadlineInterceptor({ maxMs: Number.POSITIVE_INFINITY }), 'maxMs');
    expectConfigError(() => grpcDeadlineInterceptor({ clock: {} as never }), 'clock');
    expectConfigError(() => grpcDeadlineInterceptor(null as never), 'options');
  });
});
