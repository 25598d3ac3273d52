/**
 * The process hold's bookkeeping inside the runner (the child-process tests in
 * ./process-lifetime.test.ts show its effect on a real process): every call counts while it is in
 * flight, and every way a call can end lets go of it exactly once, so an idle client never holds
 * the process open.
 */
import { fetch as undiciFetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { callsHoldingProcess } from '../../src/core/process-hold.js';
import type { HttpRequest, HttpResponse } from '../../src/index.js';
import type { Filter } from '../../src/policies.js';
import { failingWhile, hang, refusedPort } from '../support/chaos-servers.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';

const { backends, client } = loopbackFixtures();

describe('the process hold', () => {
  it('counts a call while it is in flight and lets go when it answers', async () => {
    const backend = await backends.start(replyAfter(50));
    const c = client({ endpoints: [backend.address] });
    expect(callsHoldingProcess()).toBe(0);
    const pending = c.request({ path: '/' });
    const second = c.request({ path: '/' });
    expect(callsHoldingProcess()).toBe(2);
    await (await pending).body.text();
    await (await second).body.text();
    expect(callsHoldingProcess()).toBe(0);
  });

  it('lets go after failed calls, retried or not, with and without a deadline', async () => {
    const port = await refusedPort();
    const retried = client({ endpoints: [`127.0.0.1:${port}`] });
    await expect(retried.request({ path: '/' })).rejects.toThrow();
    const bare = client({
      endpoints: [`127.0.0.1:${port}`],
      retry: false,
      timeoutMs: Number.POSITIVE_INFINITY,
    });
    await expect(bare.request({ path: '/' })).rejects.toThrow();
    expect(callsHoldingProcess()).toBe(0);
  });

  it('lets go after a response that retries gave up on, and after attempt timeouts', async () => {
    const failing = await backends.start(failingWhile(() => true));
    const c = client({ endpoints: [failing.address] });
    expect((await c.request({ path: '/' })).statusCode).toBe(503);
    const hanging = await backends.start(hang());
    const slow = client({ endpoints: [hanging.address], attemptTimeoutMs: 20, timeoutMs: 2_000 });
    await expect(slow.request({ path: '/' })).rejects.toMatchObject({ code: 'WEFT_ATTEMPT_TIMEOUT' });
    expect(callsHoldingProcess()).toBe(0);
  });

  it('lets go when a layer throws instead of returning a promise, and the call fails with its error', async () => {
    const backend = await backends.start(replyAfter(0));
    const thrown = new Error('a filter that throws');
    const throwing: Filter<HttpRequest, HttpResponse> = () => {
      throw thrown;
    };
    const c = client({
      endpoints: [backend.address],
      stack: (s) => s.prepend({ role: 'throws', description: 'throws at once', layer: throwing }),
    });
    await expect(c.request({ path: '/' })).rejects.toMatchObject({ cause: thrown });
    expect(callsHoldingProcess()).toBe(0);
  });

  it('lets go after fetch and dispatcher calls, a caller abort and a hedged call', async () => {
    const backend = await backends.start(replyAfter(0));
    const c = client({ endpoints: [backend.address], hedge: { minSamples: 1, maxExtraLoad: 0.5 } });
    await (await c.fetch('/a')).text();
    await (await c.fetch('/b', { timeoutMs: 1_000 })).text();
    await (await undiciFetch(`http://${backend.address}/c`, { dispatcher: c.dispatcher })).text();
    for (let i = 0; i < 5; i++) await (await c.request({ path: '/hedged' })).body.text();
    const controller = new AbortController();
    const aborted = c.request({ path: '/', signal: controller.signal });
    controller.abort(new Error('caller gave up'));
    await expect(aborted).rejects.toThrow('caller gave up');
    expect(callsHoldingProcess()).toBe(0);
  });
});
