/**
 * grpc-js's own propagation, through weft: a server handler that passes its call as `parent` to
 * an outbound call gives it the parent's deadline (Propagate.DEADLINE) and its cancellation
 * (Propagate.CANCELLATION), as grpc-js's own channel would.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createGrpcClient } from '../../src/grpc.js';
import { EchoClient, type EchoReply, GrpcBackends, unary } from '../support/grpc-servers.js';

const backends = new GrpcBackends();
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await backends.closeAll();
});

function weftClient(address: string): grpc.Client {
  const c = createGrpcClient(EchoClient, {
    endpoints: [address],
    inheritAmbientDeadline: false,
  }) as grpc.Client;
  clients.push(c);
  return c;
}

describe('a parent call', () => {
  it('gives the outbound call its deadline, and its cancellation', async () => {
    let downstreamCancelled: () => void = () => {};
    const cancelledDownstream = new Promise<void>((resolve) => {
      downstreamCancelled = resolve;
    });
    const downstream = await backends.start('downstream', {
      unary: (call, callback) => callback(null, { message: call.request.message, server: 'downstream' }),
      serverStream: (call) => {
        call.on('cancelled', () => downstreamCancelled());
        call.write({ message: 'first', server: 'downstream' });
      },
    });
    const toDownstream = weftClient(downstream.address);
    const front = await backends.start('front', {
      unary: (call, callback) => {
        unary(toDownstream, 'unary', { message: 'relayed' }, new grpc.Metadata(), { parent: call }).then(
          (reply) => callback(null, reply),
          (error: grpc.ServiceError) => callback(error),
        );
      },
      serverStream: (call) => {
        // Relay a stream; cancelling the front call must cancel the downstream one.
        const relayed = (toDownstream as unknown as Record<string, Function>).serverStream!(
          { message: 'm', count: 1 },
          new grpc.Metadata(),
          { parent: call },
        ) as grpc.ClientReadableStream<EchoReply>;
        relayed.on('data', (m: EchoReply) => call.write(m));
        relayed.on('error', () => {});
      },
    });
    const c = weftClient(front.address);
    expect(
      (await unary(c, 'unary', { message: 'x' }, new grpc.Metadata(), { deadline: Date.now() + 1_000 }))
        .message,
    ).toBe('relayed');
    const [frontSaw, downstreamSaw] = [front.seen[0]!.timeLeftMs, downstream.seen[0]!.timeLeftMs];
    expect(frontSaw).toBeLessThanOrEqual(1_000);
    expect(downstreamSaw).toBeLessThanOrEqual(frontSaw);
    expect(downstreamSaw).toBeGreaterThan(0);

    const stream = (c as unknown as Record<string, Function>).serverStream!({
      message: 'm',
      count: 1,
    }) as grpc.ClientReadableStream<EchoReply>;
    stream.on('error', () => {});
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.cancel();
    await cancelledDownstream;
  });
});
