/**
 * gRPC over TLS and mTLS through weft: every endpoint's channel is called by the service's name
 * (the `authority` option), which the server sees as `:authority` and which the server's
 * certificate must match, though the channel connects to an IP address. Certificates are made at
 * run time with openssl (test/support/tls.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcClient } from '../../src/grpc.js';
import { EchoClient, type GrpcBackend, startGrpcBackend, unary } from '../support/grpc-servers.js';
import { makeTestPki, type TestPki } from '../support/tls.js';

const NAME = 'echo.weft.test';
let pki: TestPki;
let server: GrpcBackend;
const clients: grpc.Client[] = [];

beforeAll(async () => {
  pki = makeTestPki(NAME);
  const credentials = grpc.ServerCredentials.createSsl(
    Buffer.from(pki.ca),
    [{ cert_chain: Buffer.from(pki.serverCert), private_key: Buffer.from(pki.serverKey) }],
    true, // mTLS: a client must present a certificate the CA signed
  );
  server = await startGrpcBackend('tls', {}, 0, '127.0.0.1', credentials);
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(() => server.close());

function client(options: Omit<Parameters<typeof createGrpcClient>[1], 'endpoints'>): grpc.Client {
  const c = createGrpcClient(EchoClient, {
    endpoints: [server.address],
    retry: false,
    ...options,
  }) as grpc.Client;
  clients.push(c);
  return c;
}

describe('TLS and mTLS', () => {
  it("calls an IP endpoint by the service's name: :authority and the certificate's name", async () => {
    const c = client({
      authority: NAME,
      credentials: grpc.credentials.createSsl(
        Buffer.from(pki.ca),
        Buffer.from(pki.clientKey),
        Buffer.from(pki.clientCert),
      ),
    });
    expect(await unary(c, 'unary', { message: 'secure' })).toEqual({ message: 'secure', server: 'tls' });
    const seen = server.seen.at(-1)!;
    // grpc-js 1.10's server calls have no getHost(): :authority is checked where it can be read.
    const getHost = (seen.call as unknown as { getHost?: () => string }).getHost;
    if (getHost !== undefined || 'getHost' in grpc.ServerInterceptingCall.prototype) {
      expect(getHost?.call(seen.call)).toBe(NAME);
    }
  });

  it('fails without a client certificate, and with a name the certificate does not carry', async () => {
    const noClientCert = client({
      authority: NAME,
      credentials: grpc.credentials.createSsl(Buffer.from(pki.ca)),
    });
    const wrongName = client({
      authority: 'other.weft.test',
      credentials: grpc.credentials.createSsl(
        Buffer.from(pki.ca),
        Buffer.from(pki.clientKey),
        Buffer.from(pki.clientCert),
      ),
    });
    const before = server.seen.length;
    for (const c of [noClientCert, wrongName]) {
      const error = (await unary(c, 'unary', {}).catch((e: unknown) => e)) as grpc.ServiceError;
      // UNAVAILABLE (grpc-js 1.14) or INTERNAL (1.10, which reports a failed handshake so).
      expect([grpc.status.UNAVAILABLE, grpc.status.INTERNAL]).toContain(error.code);
    }
    expect(server.seen.length).toBe(before);
  });
});
