/**
 * Chaos: a heavy tail. One replica is sometimes very slow; with hedging on, backups go out for
 * the slow attempts and win, the slow copies are cancelled, and the extra load stays near the
 * configured share. Counts only: no assertion on how fast anything was.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpClient, DeadlineExceededError, type HttpClient, roundRobin } from '../../src/index.js';
import { Backends, replyAfter } from '../support/http-servers.js';

const backends = new Backends();
const clients: HttpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await backends.closeAll();
});

describe('chaos: heavy tail with hedging', () => {
  it('sends backups for slow attempts, which win; extra load stays bounded', async () => {
    let n = 0;
    // Every 10th request to this replica stalls for 2 s; the rest take 5 ms, like the other one.
    const tail = await backends.start((_req, res) => {
      n++;
      setTimeout(() => res.end('tail'), n % 10 === 0 ? 2_000 : 5);
    });
    const steady = await backends.start(replyAfter(5, 'steady'));
    const c = createHttpClient({
      endpoints: [tail.address, steady.address],
      balancer: roundRobin(),
      hedge: { maxExtraLoad: 0.1, minSamples: 20 },
      failureAccrual: false,
    });
    clients.push(c);
    const calls = 200;
    for (let i = 0; i < calls; i++) {
      const res = await c.request({ path: `/${i}` });
      await res.body.text();
    }
    const stats = c.hedgeStats!;
    expect(stats.sent).toBeGreaterThan(0);
    expect(stats.won).toBeGreaterThan(0);
    expect(stats.won).toBeLessThanOrEqual(stats.sent);
    // Attempts at the servers: one per call, plus at most one per backup (a backup cancelled
    // before it was written never arrives).
    const attempts = tail.seen.length + steady.seen.length;
    expect(attempts).toBeGreaterThanOrEqual(calls);
    expect(attempts).toBeLessThanOrEqual(calls + stats.sent);
    // Backups go out for the slowest calls, not for every call: every call here takes longer
    // than minDelayMs (1 ms), so without the learned p90 all 200 would hedge. Run alone this sends
    // about 15; the bound leaves room for a machine busy with other tests, which shifts latencies
    // after the threshold was learned.
    expect(stats.sent).toBeLessThanOrEqual(0.5 * calls);
  });

  it("a hedged call with a caller's signal still ends at its deadline, both copies cancelled", async () => {
    let hang = false;
    const seen: string[] = [];
    const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      seen.push(req.url ?? '');
      if (!hang) res.end('ok');
    };
    const a = await backends.start(handler);
    const b = await backends.start(handler);
    const c = createHttpClient({
      endpoints: [a.address, b.address],
      hedge: { minSamples: 5 },
      failureAccrual: false,
    });
    clients.push(c);
    for (let i = 0; i < 5; i++) await (await c.request({ path: '/warm' })).body.text();
    hang = true;
    const controller = new AbortController();
    const outcome = await c.request({ path: '/stuck', signal: controller.signal, timeoutMs: 300 }).then(
      () => 'resolved',
      (e: unknown) => e,
    );
    expect(outcome).toBeInstanceOf(DeadlineExceededError);
    expect(c.hedgeStats!.sent).toBe(1);
    expect(seen.filter((u) => u === '/stuck')).toHaveLength(2);
  });
});
