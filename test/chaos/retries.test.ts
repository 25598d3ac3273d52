/**
 * Chaos: real loopback servers that misbehave on purpose; every test asserts what the servers
 * actually received. Nothing is sent twice unless that is safe.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AttemptTimeoutError, RequestFailedError, roundRobin } from '../../src/index.js';
import { failingWhile, hang, readBodyThenReset, refusedPort } from '../support/chaos-servers.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';

const { backends, client } = loopbackFixtures();

describe('chaos: what is never sent twice', () => {
  it('a POST the server read and then reset is seen exactly once, and the caller gets an error', async () => {
    const resetting = await backends.start(readBodyThenReset());
    const healthy = await backends.start(replyAfter(0));
    const c = client({ endpoints: [resetting.address, healthy.address], balancer: roundRobin() });
    const error = await c
      .request({ path: '/orders', method: 'POST', body: 'order-1' })
      .catch((e: unknown) => e);
    // A clear error: weft's, saying where the call went and what happened, with undici's as cause.
    expect(error).toBeInstanceOf(RequestFailedError);
    const failed = error as RequestFailedError;
    expect(failed.code).toBe('WEFT_REQUEST_FAILED');
    expect(['UND_ERR_SOCKET', 'ECONNRESET']).toContain((failed.cause as { code?: string }).code);
    expect(failed.attempts).toHaveLength(1);
    expect(failed.attempts[0]!.endpoint).toBe(resetting.address);
    expect(failed.message).toContain(`#1 ${resetting.address}`);
    expect(failed.message).toContain(`destination ${failed.destination}`);
    expect(failed.attempts[0]!.decision).toBe('not retried: not retryable');
    expect(failed.message).toContain('(not retried: not retryable)');
    expect(resetting.seen.map((s) => s.body)).toEqual(['order-1']);
    expect(healthy.seen).toHaveLength(0);
  });

  it('the same request with an Idempotency-Key is retried on the other endpoint', async () => {
    const resetting = await backends.start(readBodyThenReset());
    const healthy = await backends.start(replyAfter(0, 'created'));
    const c = client({ endpoints: [resetting.address, healthy.address], balancer: roundRobin() });
    const res = await c.request({
      path: '/orders',
      method: 'POST',
      body: 'order-2',
      headers: { 'idempotency-key': 'k-2' },
    });
    expect(await res.body.text()).toBe('created');
    expect(resetting.seen).toHaveLength(1);
    expect(healthy.seen.map((s) => [s.body, s.headers['weft-attempt']])).toEqual([['order-2', '2']]);
  });

  it('an error tells every attempt and why each was or was not sent again', async () => {
    const dead = [`127.0.0.1:${await refusedPort()}`, `127.0.0.1:${await refusedPort()}`];
    const c = client({ endpoints: dead, retry: { maxAttempts: 2 }, failureAccrual: false });
    const error = (await c.request({ path: '/' }).catch((e: unknown) => e)) as RequestFailedError;
    expect(error).toBeInstanceOf(RequestFailedError);
    expect(error.attempts.map((a) => [a.outcome, a.decision])).toEqual([
      ['ECONNREFUSED', 'requeued'],
      ['ECONNREFUSED', 'not retried: 2 attempts used'],
    ]);
    expect(new Set(error.attempts.map((a) => a.endpoint))).toEqual(new Set(dead));
    expect(error.timeLeftMs).toBeGreaterThan(0);
    expect(error.message).toMatch(/#1 127\.0\.0\.1:\d+ ECONNREFUSED \d+ms \(requeued\)/);
  });

  it('connection refused: every POST arrives exactly once, at the live endpoint', async () => {
    const live = await backends.start(replyAfter(0, 'ok'));
    const dead = `127.0.0.1:${await refusedPort()}`;
    const c = client({ endpoints: [dead, live.address] });
    const bodies = Array.from({ length: 40 }, (_, i) => `payment-${i}`);
    for (const body of bodies) {
      const res = await c.request({ path: '/pay', method: 'POST', body });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    expect(live.seen.map((s) => s.body)).toEqual(bodies);
  });

  it('a replica that hangs: the attempt times out and the call succeeds elsewhere within its deadline', async () => {
    const stuck = await backends.start(hang());
    const live = await backends.start(replyAfter(0, 'answer'));
    const c = client({
      endpoints: [stuck.address, live.address],
      balancer: roundRobin(),
      timeoutMs: 2_000,
      attemptTimeoutMs: 100,
    });
    for (let i = 0; i < 4; i++) {
      const res = await c.request({ path: `/item/${i}` });
      expect(await res.body.text()).toBe('answer');
    }
    expect(stuck.seen.length).toBeGreaterThan(0);
    expect(live.seen).toHaveLength(4);
  });

  it('a POST to a replica that hangs times out and is not sent again', async () => {
    const stuck = await backends.start(hang());
    const live = await backends.start(replyAfter(0));
    const c = client({
      endpoints: [stuck.address, live.address],
      balancer: roundRobin(),
      attemptTimeoutMs: 100,
    });
    const error = await c.request({ path: '/charge', method: 'POST', body: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AttemptTimeoutError);
    // The timed-out attempt is in the error's history and message, with why it was not retried.
    const timeout = error as AttemptTimeoutError;
    expect(timeout.attempts.map((a) => [a.endpoint, a.decision])).toEqual([
      [stuck.address, 'not retried: not retryable'],
    ]);
    expect(timeout.message).toContain(`#1 ${stuck.address}`);
    expect(stuck.seen).toHaveLength(1);
    expect(live.seen).toHaveLength(0);
  });

  it('a streamed body beyond the replay buffer is not retried; one within it is', async () => {
    const unavailable = await backends.start(failingWhile(() => true));
    const live = await backends.start(replyAfter(0, 'stored'));
    const c = client({ endpoints: [unavailable.address, live.address], balancer: roundRobin() });
    const big = Array.from({ length: 20 }, () => Buffer.alloc(8 * 1024, 97)); // 160 KiB > 64 KiB
    const res = await c.request({ path: '/blob', method: 'PUT', body: Readable.from(big) });
    expect(res.statusCode).toBe(503);
    await res.body.text();
    expect(unavailable.seen).toHaveLength(1);
    expect(live.seen).toHaveLength(0);

    // A fresh client starts its round robin at the unavailable replica again.
    const c2 = client({ endpoints: [unavailable.address, live.address], balancer: roundRobin() });
    const small = Array.from({ length: 4 }, () => Buffer.alloc(1024, 98)); // 4 KiB
    const ok = await c2.request({ path: '/blob', method: 'PUT', body: Readable.from(small) });
    expect(await ok.body.text()).toBe('stored');
    expect(unavailable.seen.map((s) => s.body.length)).toEqual([160 * 1024, 4 * 1024]);
    expect(live.seen.map((s) => s.body.length)).toEqual([4 * 1024]);
  });
});
