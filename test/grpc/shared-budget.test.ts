/**
 * One retry budget for a service's HTTP and gRPC clients: the retries one spends are gone for the
 * other (Finagle shares a budget the same way). Passed as `retry.budget`: another client's
 * `retryBudget`, or a `RetryBudget` built on the clients' clock.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { realClock } from '../../src/core/clock.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { createGrpcClient } from '../../src/grpc.js';
import { ConfigError, createHttpClient, type HttpClient } from '../../src/index.js';
import { RetryBudget } from '../../src/policies.js';
import { EchoClient, failWith, GrpcBackends, unary } from '../support/grpc-servers.js';
import { Backends } from '../support/http-servers.js';

const http = new Backends();
const grpcBackends = new GrpcBackends();
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await http.closeAll();
  await grpcBackends.closeAll();
});

describe('a retry budget shared by an HTTP and a gRPC client', () => {
  it('retries spent over HTTP leave none for gRPC', async () => {
    // A reserve of 2 retries over the window, nothing earned from traffic.
    const budget = new RetryBudget(realClock, { minRetriesPerSecond: 0.2, percentCanRetry: 0 });
    expect(budget.balance()).toBe(2);
    const failingHttp = await http.start((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const httpClient: HttpClient = createHttpClient({
      endpoints: [failingHttp.address],
      retry: { budget, backoffInitialMs: 1, backoffMaxMs: 2 },
    });
    closers.push(() => httpClient.close());
    const failingGrpc = await grpcBackends.start('down', {
      idempotentUnary: failWith(grpc.status.UNAVAILABLE),
    });
    const grpcClient = createGrpcClient(EchoClient, {
      endpoints: [failingGrpc.address],
      retry: { budget: httpClient.retryBudget, backoffInitialMs: 1, backoffMaxMs: 2 },
    }) as grpc.Client;
    closers.push(() => grpcClient.close());
    expect(httpClient.retryBudget).toBe(budget);

    const res = await httpClient.request({ path: '/', method: 'GET' });
    await res.body.text();
    expect(failingHttp.seen).toHaveLength(3); // two retries: the whole reserve
    await unary(grpcClient, 'idempotentUnary', {}).catch(() => undefined);
    expect(failingGrpc.seen).toHaveLength(1); // nothing left to retry with
  });

  it('refuses a shared budget on another clock', () => {
    const budget = new RetryBudget(new VirtualClock());
    expect(() => createGrpcClient(EchoClient, { endpoints: ['127.0.0.1:1'], retry: { budget } })).toThrow(
      ConfigError,
    );
  });
});
