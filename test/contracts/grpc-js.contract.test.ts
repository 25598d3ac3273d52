/**
 * Contract tests: what weft's gRPC client relies on in @grpc/grpc-js beyond its types, asserted
 * against the grpc-js installed here (1.14.7; the peer range is ^1.10, and CI runs these on 1.10
 * too). When one fails after an upgrade, adapt the weft file named in the test, then the test.
 *
 * - src/grpc/attempt.ts: a call that grpc-js's load balancer never gave a connection (a refused
 *   port) ends UNAVAILABLE with details starting "No connection established": weft requeues such
 *   a call, even a non-idempotent one, because it never left the client.
 * - src/grpc/attempt.ts: grpc-js takes a message into its own buffer and calls the write callback
 *   at once, before any connection exists, so weft cannot use write callbacks to tell "sent".
 * - src/grpc/attempt.ts: a call copies the metadata it is started with (a first attempt sends the
 *   call's own, which retries then copy and mark), so a later change to it sends nothing.
 * - src/grpc/transport.ts: `getConnectivityState(false)` is TRANSIENT_FAILURE after a refused
 *   connection (weft's endpoint is `busy`), and READY after a call went through.
 * - src/grpc/channel.ts, src/grpc/call.ts: a generated client built with `channelOverride` calls
 *   the override's `createCall(path, deadline, host, parent, flags)` and drives the returned call
 *   through `start`, `sendMessageWithContext`, `halfClose`, `startRead`.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { NEVER_SENT_DETAILS } from '../../src/grpc/attempt.js';
import { refusedPort } from '../support/chaos-servers.js';
import { EchoClient, GrpcBackends, unary } from '../support/grpc-servers.js';

const backends = new GrpcBackends();
const channels: grpc.Channel[] = [];
afterEach(async () => {
  for (const c of channels.splice(0)) c.close();
  await backends.closeAll();
});

function channel(target: string): grpc.Channel {
  const c = new grpc.Channel(target, grpc.credentials.createInsecure(), {});
  channels.push(c);
  return c;
}

/** Run one unary call on `ch` by hand, as weft's attempt does; resolve with its status and whether the write callback ran before it. */
function callOn(ch: grpc.Channel): Promise<{ status: grpc.StatusObject; wroteBeforeStatus: boolean }> {
  return new Promise((resolve) => {
    let wrote = false;
    const call = ch.createCall('/weft.test.Echo/Unary', Date.now() + 5_000, undefined, null, 0);
    call.start(new grpc.Metadata(), {
      onReceiveMetadata() {},
      onReceiveMessage() {},
      onReceiveStatus(status) {
        resolve({ status, wroteBeforeStatus: wrote });
      },
    });
    call.sendMessageWithContext({ callback: () => (wrote = true) }, Buffer.from([10, 0]));
    call.halfClose();
    call.startRead();
  });
}

describe('grpc-js contract (src/grpc/attempt.ts, src/grpc/transport.ts)', () => {
  it('a refused endpoint: UNAVAILABLE, "No connection established", TRANSIENT_FAILURE; the write callback ran anyway', async () => {
    const port = await refusedPort();
    const ch = channel(`ipv4:127.0.0.1:${port}`);
    const { status, wroteBeforeStatus } = await callOn(ch);
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details.startsWith(NEVER_SENT_DETAILS)).toBe(true);
    expect(wroteBeforeStatus).toBe(true);
    expect(ch.getConnectivityState(false)).toBe(grpc.connectivityState.TRANSIENT_FAILURE);
  });

  it('a live endpoint: OK, and the channel is READY after', async () => {
    const b = await backends.start('a');
    const ch = channel(`ipv4:${b.address}`);
    const { status } = await callOn(ch);
    expect(status.code).toBe(grpc.status.OK);
    expect(ch.getConnectivityState(false)).toBe(grpc.connectivityState.READY);
  });
});

describe('grpc-js contract (src/grpc/attempt.ts: the metadata a call starts with)', () => {
  it('is copied at start: a change made after start is not sent', async () => {
    const b = await backends.start('a');
    const ch = channel(`ipv4:${b.address}`);
    const metadata = new grpc.Metadata();
    metadata.set('x-seen', 'at-start');
    await new Promise<void>((resolve) => {
      const call = ch.createCall('/weft.test.Echo/Unary', Date.now() + 5_000, undefined, null, 0);
      call.start(metadata, {
        onReceiveMetadata() {},
        onReceiveMessage() {},
        onReceiveStatus: () => resolve(),
      });
      metadata.set('x-seen', 'after-start');
      call.sendMessageWithContext({}, Buffer.from([10, 0]));
      call.halfClose();
      call.startRead();
    });
    expect(b.seen[0]!.metadata.get('x-seen')).toEqual(['at-start']);
  });
});

describe('grpc-js contract (src/grpc/channel.ts, src/grpc/call.ts)', () => {
  it('a generated client drives the channelOverride through createCall and the Call methods', async () => {
    const b = await backends.start('a');
    const real = channel(`ipv4:${b.address}`);
    const seen: string[] = [];
    const override = {
      close: () => real.close(),
      getTarget: () => real.getTarget(),
      getConnectivityState: (t: boolean) => real.getConnectivityState(t),
      watchConnectivityState: real.watchConnectivityState.bind(real),
      getChannelzRef: () => real.getChannelzRef(),
      createCall(...args: Parameters<grpc.Channel['createCall']>) {
        seen.push(`createCall ${args[0]} ${typeof args[1]}`);
        const call = real.createCall(...args);
        return new Proxy(call, {
          get(target, key) {
            const value = Reflect.get(target, key);
            if (typeof value !== 'function') return value;
            return (...a: unknown[]) => {
              seen.push(String(key));
              return value.apply(target, a);
            };
          },
        });
      },
    } as grpc.ChannelInterface;
    const client = new EchoClient('ignored', grpc.credentials.createInsecure(), {
      channelOverride: override,
    });
    await unary(client, 'unary', { message: 'x' }, new grpc.Metadata(), { deadline: Date.now() + 5_000 });
    expect(seen[0]).toBe('createCall /weft.test.Echo/Unary number');
    for (const method of ['start', 'sendMessageWithContext', 'halfClose', 'startRead'])
      expect(seen).toContain(method);
  });
});
