/**
 * P2C Peak EWMA on real loopback servers: with four replicas, one 50 ms slower than the others,
 * at least 90% of traffic goes to the three fast ones. Round robin, the load-blind baseline, sends
 * the slow one its full quarter — which shows the test can tell the difference.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type BalancerStrategy, createHttpClient, p2cPeakEwma, roundRobin } from '../../src/index.js';
import { Backends, replyAfter } from '../support/http-servers.js';

const backends = new Backends();
afterEach(() => backends.closeAll());

async function shareToSlow(strategy: BalancerStrategy): Promise<{ slowShare: number; failures: number }> {
  const fast = await Promise.all([1, 2, 3].map(() => backends.start(replyAfter(1))));
  const slow = await backends.start(replyAfter(51));
  const client = createHttpClient({ endpoints: [...fast, slow].map((b) => b.address), balancer: strategy });
  const total = 600;
  let sent = 0;
  let failures = 0;
  const worker = async () => {
    while (sent < total) {
      sent++;
      try {
        const res = await client.request({ path: '/' });
        await res.body.text();
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await client.close();
  const slowCount = slow.seen.length;
  const all = slowCount + fast.reduce((n, b) => n + b.seen.length, 0);
  expect(all).toBe(total);
  return { slowShare: slowCount / all, failures };
}

describe('slow replica', () => {
  it('P2C Peak EWMA sends >= 90% of traffic away from a replica 50 ms slower', async () => {
    const { slowShare, failures } = await shareToSlow(p2cPeakEwma());
    expect(failures).toBe(0);
    expect(slowShare).toBeLessThanOrEqual(0.1);
  });

  it('round robin (the baseline) sends the slow replica its full share', async () => {
    const { slowShare } = await shareToSlow(roundRobin());
    expect(slowShare).toBeGreaterThan(0.2);
  });
});
