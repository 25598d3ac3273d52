/**
 * Hedged gRPC calls through weft, on real grpc-js servers: once weft knows the method's usual
 * latency, a call still unanswered past it gets a backup copy on another endpoint; the first
 * answer wins and the other copy is cancelled, which its server sees. Only idempotent calls hedge,
 * and a backup carries `grpc-previous-rpc-attempts`.
 */
import type * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createGrpcClient } from '../../src/grpc.js';
import { roundRobin } from '../../src/index.js';
import { EchoClient, GrpcBackends, unary } from '../support/grpc-servers.js';

const backends = new GrpcBackends();
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await backends.closeAll();
});

describe('hedging', () => {
  it('a slow call gets a backup elsewhere; the backup wins and the slow copy is cancelled', async () => {
    let slowNext = false;
    let cancelledOnServer = 0;
    const slowWhenAsked = await backends.start('sometimes-slow', {
      idempotentUnary: (call, callback) => {
        if (!slowNext) {
          callback(null, { message: 'fast', server: 'sometimes-slow' });
          return;
        }
        call.on('cancelled', () => cancelledOnServer++);
        setTimeout(() => callback(null, { message: 'late', server: 'sometimes-slow' }), 3_000).unref();
      },
    });
    const fast = await backends.start('fast');
    const c = createGrpcClient(EchoClient, {
      endpoints: [slowWhenAsked.address, fast.address],
      balancer: roundRobin(),
      hedge: { minSamples: 10, maxExtraLoad: 0.1, minDelayMs: 20 },
    }) as grpc.Client;
    clients.push(c);
    for (let i = 0; i < 20; i++) await unary(c, 'idempotentUnary', { message: 'warm' });
    slowNext = true;
    // Round robin: one of the next two calls starts on the slow server and is rescued by a hedge.
    const replies = await Promise.all([unary(c, 'idempotentUnary', {}), unary(c, 'idempotentUnary', {})]);
    expect(replies.map((r) => r.server)).toEqual(['fast', 'fast']);
    const backups = fast.seen.filter((s) => s.metadata.get('grpc-previous-rpc-attempts').length > 0);
    expect(backups.length).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 50 && cancelledOnServer === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(cancelledOnServer).toBeGreaterThanOrEqual(1);
  });

  it('a call that is not idempotent never hedges', async () => {
    const slow = await backends.start('slow', {
      unary: (_call, callback) =>
        setTimeout(() => callback(null, { message: 'slow', server: 'slow' }), 150).unref(),
    });
    const other = await backends.start('other', {
      unary: (_call, callback) =>
        setTimeout(() => callback(null, { message: 'slow', server: 'other' }), 150).unref(),
    });
    const c = createGrpcClient(EchoClient, {
      endpoints: [slow.address, other.address],
      hedge: { minSamples: 2, maxExtraLoad: 0.5, minDelayMs: 1 },
    }) as grpc.Client;
    clients.push(c);
    for (let i = 0; i < 4; i++) await unary(c, 'unary', {});
    expect(slow.seen.length + other.seen.length).toBe(4);
  });
});
