/**
 * An endpoint's success rate over the last 30 s (src/balance/success-window.ts): counted in
 * one-second buckets on whatever clock the caller reads (plain numbers here), sliding as time
 * passes; and, through a client on loopback, counted as the classifier judged each attempt.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { SUCCESS_WINDOW_MS, SuccessWindow } from '../../src/balance/success-window.js';
import { loopbackFixtures } from '../support/fixtures.js';

describe('SuccessWindow', () => {
  it('has no rate before any attempt', () => {
    const w = new SuccessWindow();
    expect(w.counts(5_000)).toEqual({ attempts: 0, successes: 0 });
    expect(w.rate(5_000)).toBeNaN();
  });

  it('is successes over attempts', () => {
    const w = new SuccessWindow();
    w.record(100, true);
    w.record(200, true);
    w.record(1_300, false);
    w.record(2_900, true);
    expect(w.counts(3_000)).toEqual({ attempts: 4, successes: 3 });
    expect(w.rate(3_000)).toBe(0.75);
  });

  it('forgets an attempt once it is 30 s old (to the second)', () => {
    const w = new SuccessWindow();
    w.record(0, false);
    w.record(10_500, true);
    expect(SUCCESS_WINDOW_MS).toBe(30_000);
    expect(w.counts(29_999)).toEqual({ attempts: 2, successes: 1 });
    expect(w.counts(30_000)).toEqual({ attempts: 1, successes: 1 });
    expect(w.counts(39_999)).toEqual({ attempts: 1, successes: 1 });
    expect(w.counts(40_000)).toEqual({ attempts: 0, successes: 0 });
  });

  it('empties the buckets it passes over, after a gap of any length', () => {
    const w = new SuccessWindow();
    for (let t = 0; t < 30_000; t += 1_000) w.record(t, false);
    w.record(45_000, true);
    expect(w.counts(45_000)).toEqual({ attempts: 15, successes: 1 });
    w.record(500_000, true);
    expect(w.counts(500_000)).toEqual({ attempts: 1, successes: 1 });
  });

  it('counts a reading a little behind the newest bucket in that bucket', () => {
    const w = new SuccessWindow();
    w.record(5_200, true);
    w.record(4_900, false);
    expect(w.counts(5_300)).toEqual({ attempts: 2, successes: 1 });
    expect(w.counts(4_950)).toEqual({ attempts: 2, successes: 1 });
  });
});

describe('through a client', () => {
  const { backends, client } = loopbackFixtures();

  it('counts attempts as the classifier judged them, and not the caller abandoning one', async () => {
    const backend = await backends.start((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 300);
        return;
      }
      res.writeHead(req.url === '/gone' ? 404 : req.url === '/down' ? 503 : 200);
      res.end();
    });
    const c = client({ endpoints: [backend.address], retry: false, failureAccrual: false });
    const rate = () => c.endpoints()[0]!;
    for (const path of ['/', '/gone', '/down', '/']) {
      const res = await c.request({ path });
      await res.body.dump();
    }
    // A 404 is the server's answer (a success for the endpoint); a 503 is a failure.
    expect(rate()).toMatchObject({ attempts: 4, successRate: 0.75 });
    // The caller gives up on a slow call: that says nothing of the endpoint.
    await expect(c.request({ path: '/slow', signal: AbortSignal.timeout(20) })).rejects.toThrow();
    expect(rate()).toMatchObject({ attempts: 4, successRate: 0.75 });
  });
});
