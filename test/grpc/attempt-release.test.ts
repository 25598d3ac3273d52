/**
 * A gRPC attempt lets go of its call once it is over. grpc-js keeps an ended call's objects (the
 * attempt is the grpc-js call's listener) until Node frees the HTTP/2 stream, some garbage
 * collections later; an attempt that still pointed at the caller's call, request and context
 * would keep all of them alive that long, and the `grpc-overhead` benchmark measured what that
 * costs in garbage collection. Here the grpc-js call is a stand-in that holds the attempt, as
 * grpc-js does, and the test checks with weak references and forced collections what stays
 * reachable from it.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CallContext } from '../../src/core/context.js';
import { type ChildCall, GrpcAttempt } from '../../src/grpc/attempt.js';
import { MessageLog } from '../../src/grpc/message-log.js';
import type { GrpcRequest, GrpcResponse } from '../../src/grpc/request.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A grpc-js call that keeps its listener, as grpc-js's calls keep theirs after the end. */
class HeldChildCall {
  listener: GrpcAttempt | undefined;
  start(_metadata: Metadata, listener: GrpcAttempt): void {
    this.listener = listener;
  }
  sendMessageWithContext(context: { callback?: () => void }): void {
    context.callback?.();
  }
  halfClose(): void {}
  startRead(): void {}
  cancelWithStatus(): void {}
  getPeer(): string {
    return '127.0.0.1:1';
  }
  setCredentials(): void {}
}

const OK: StatusObject = { code: Status.OK, details: 'OK', metadata: new Metadata() };

/** What an attempt was given, held only weakly by the test. */
interface Probes {
  child: HeldChildCall;
  settled: Promise<GrpcResponse>;
  request: WeakRef<GrpcRequest>;
  context: WeakRef<CallContext>;
}

function startAttempt(): Probes {
  const req: GrpcRequest = {
    method: {
      path: '/weft.test.Echo/Unary',
      service: 'weft.test.Echo',
      name: 'Unary',
      requestStream: false,
      responseStream: false,
      idempotent: false,
    } as GrpcRequest['method'],
    metadata: new Metadata(),
    messages: new MessageLog(1 << 20),
    host: undefined,
    credentials: undefined,
    callerDeadline: Number.POSITIVE_INFINITY,
    remainingMs: Number.POSITIVE_INFINITY,
    attempt: 1,
    readsWanted: 0,
    responseStarted: false,
  };
  const ctx = new CallContext('svc');
  ctx.attempts = [];
  const child = new HeldChildCall();
  let resolve!: (response: GrpcResponse) => void;
  let reject!: (error: unknown) => void;
  const settled = new Promise<GrpcResponse>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const owner = { attemptEnded() {}, connected: () => true };
  const attempt = new GrpcAttempt(req, ctx, '127.0.0.1:1', owner, resolve, reject);
  attempt.start(() => child as unknown as ChildCall);
  req.messages.append(Buffer.from('hi'), undefined, undefined);
  req.messages.halfClose();
  return { child, settled, request: new WeakRef(req), context: new WeakRef(ctx) };
}

/** Hand the attempt's response to a caller's listener that the test holds only weakly. */
function deliver(attempt: GrpcAttempt): { heard: string[]; sink: WeakRef<object> } {
  const heard: string[] = [];
  const sink = {
    onReceiveMetadata: () => heard.push('metadata'),
    onReceiveMessage: () => heard.push('message'),
    onReceiveStatus: (status: StatusObject) => heard.push(`status ${status.code}`),
  };
  attempt.deliverTo(sink);
  return { heard, sink: new WeakRef(sink) };
}

/** Collect garbage after the current job, when weak references made in it may be cleared. */
async function collect(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}

describe('a gRPC attempt lets go of its call when it is over', () => {
  it('keeps the call while it runs, and drops the call, the request and the context once the caller has the status', async () => {
    const probes = startAttempt();
    await collect();
    // Running: what grpc-js holds (the attempt) reaches the request and the context.
    expect(probes.request.deref()).toBeDefined();
    expect(probes.context.deref()).toBeDefined();

    const attempt = probes.child.listener!;
    attempt.onReceiveMetadata(new Metadata());
    attempt.onReceiveMessage({ message: 'hi' });
    attempt.onReceiveStatus(OK);
    expect(await probes.settled).toBe(attempt);
    const { heard, sink } = deliver(attempt);
    expect(heard).toEqual(['metadata', 'message', 'status 0']);
    expect(attempt.attemptRecords).toEqual([]);

    await collect();
    // Over and delivered: grpc-js still holds the attempt, but nothing of the call through it.
    expect(probes.child.listener).toBe(attempt);
    expect(probes.request.deref()).toBeUndefined();
    expect(probes.context.deref()).toBeUndefined();
    expect(sink.deref()).toBeUndefined();
    expect(attempt.getPeer()).toBe('127.0.0.1:1');
  });

  it('drops the call when a finished response is discarded (a retried attempt) and never adopted', async () => {
    const probes = startAttempt();
    const attempt = probes.child.listener!;
    attempt.onReceiveStatus({ code: Status.UNAVAILABLE, details: 'try another', metadata: new Metadata() });
    await probes.settled;
    await collect();
    expect(probes.context.deref()).toBeDefined();
    attempt.cancel(Status.CANCELLED, 'Discarded by weft');
    await collect();
    expect(probes.request.deref()).toBeUndefined();
    expect(probes.context.deref()).toBeUndefined();
  });
});
