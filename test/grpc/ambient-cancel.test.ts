/**
 * A weft gRPC call made while serving a request hears that request's cancellation (the ambient
 * context's `signal`, set by grpcDeadlineInterceptor) for as long as it runs: before its response
 * starts, and after, while a stream flows. It ends CANCELLED, and its server sees the cancel.
 * And the caller's Metadata is never written on (tracing writes on weft's copy).
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { runWithAmbientContext } from '../../src/core/ambient.js';
import { realClock } from '../../src/core/clock.js';
import { createGrpcClient } from '../../src/grpc.js';
import { openTelemetryTracing } from '../../src/opentelemetry.js';
import { collect, EchoClient, type EchoReply, GrpcBackends, unary } from '../support/grpc-servers.js';
import { inMemoryTracing } from '../support/otel.js';

const { provider } = inMemoryTracing();
const backends = new GrpcBackends();
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await backends.closeAll();
});

describe('the ambient signal', () => {
  it('cancels a stream whose response has started, and a call that has not started yet', async () => {
    let serverSawCancel: () => void = () => {};
    const cancelledOnServer = new Promise<void>((resolve) => {
      serverSawCancel = resolve;
    });
    const b = await backends.start('b', {
      serverStream: (call) => {
        call.on('cancelled', () => serverSawCancel());
        call.write({ message: 'first', server: 'b' });
      },
    });
    const c = createGrpcClient(EchoClient, { endpoints: [b.address] }) as grpc.Client;
    clients.push(c);
    const incoming = new AbortController();
    const context = { deadline: Number.POSITIVE_INFINITY, clock: realClock, signal: incoming.signal };
    const stream = runWithAmbientContext(context, () =>
      (c as unknown as Record<string, Function>).serverStream!({ message: 'm', count: 1 }),
    ) as grpc.ClientReadableStream<EchoReply>;
    const result = collect(stream);
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    incoming.abort(new Error('the incoming call was cancelled'));
    const { messages, error } = await result;
    expect(messages).toEqual(['first']);
    expect(error?.code).toBe(grpc.status.CANCELLED);
    await cancelledOnServer;

    // Already aborted: nothing is sent.
    const before = b.seen.length;
    const late = (await runWithAmbientContext(context, () => unary(c, 'unary', {})).catch(
      (e: unknown) => e,
    )) as grpc.ServiceError;
    expect(late.code).toBe(grpc.status.CANCELLED);
    expect(b.seen.length).toBe(before);
  });

  it("leaves the caller's Metadata as it was, though tracing writes on each attempt's", async () => {
    const b = await backends.start('b');
    const c = createGrpcClient(EchoClient, {
      endpoints: [b.address],
      telemetry: openTelemetryTracing({ tracerProvider: provider }),
    }) as grpc.Client;
    clients.push(c);
    const metadata = new grpc.Metadata();
    metadata.set('x-mine', '1');
    await unary(c, 'unary', {}, metadata);
    await unary(c, 'unary', {}, metadata);
    expect(metadata.getMap()).toEqual({ 'x-mine': '1' });
    expect(b.seen.map((s) => s.metadata.get('x-mine'))).toEqual([['1'], ['1']]);
    const traceparents = b.seen.map((s) => String(s.metadata.get('traceparent')[0]));
    expect(traceparents[0]).toMatch(/^00-/);
    expect(traceparents[1]).not.toBe(traceparents[0]);
  });
});
