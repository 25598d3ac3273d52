/**
 * P2C Peak EWMA on real loopback servers: with four replicas, one 50 ms slower than the others,
 * at least 90% of traffic goes to the three fast ones. Round robin, the load-blind baseline, sends
 * the slow one its full quarter — which shows the test can tell the difference. Probation's probes
 * (copies marked `weft-probe`) reach the servers too and are counted apart from callers' requests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type BalancerStrategy, createHttpClient, p2cPeakEwma, roundRobin } from '../../src/index.js';
import { PROBE_HEADER } from '../../src/policies.js';
import { type Backend, Backends, replyAfter } from '../support/http-servers.js';

const backends = new Backends();
afterEach(() => backends.closeAll());

async function shareToSlow(
  strategy: BalancerStrategy,
): Promise<{ slowShare: number; failures: number; probes: number }> {
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
  // Callers' requests, counted at the servers; probation's probes (marked weft-probe) are copies
  // beside them, sent only to the slow replica, and are counted apart.
  const callers = (b: Backend) => b.seen.filter((r) => r.headers[PROBE_HEADER] === undefined).length;
  const slowCount = callers(slow);
  const all = slowCount + fast.reduce((n, b) => n + callers(b), 0);
  expect(all).toBe(total);
  for (const b of fast) expect(b.seen.length).toBe(callers(b));
  return { slowShare: slowCount / all, failures, probes: slow.seen.length - slowCount };
}

describe('slow replica', () => {
  it('P2C Peak EWMA sends >= 90% of traffic away from a replica 50 ms slower', async () => {
    const { slowShare, failures, probes } = await shareToSlow(p2cPeakEwma());
    expect(failures).toBe(0);
    expect(slowShare).toBeLessThanOrEqual(0.1);
    // At most one probe a second and one per 100 calls: this short run has room for a few.
    expect(probes).toBeLessThanOrEqual(6);
  });

  it('round robin (the baseline) sends the slow replica its full share', async () => {
    const { slowShare, probes } = await shareToSlow(roundRobin());
    expect(slowShare).toBeGreaterThan(0.2);
    expect(probes).toBe(0); // round robin keeps no probation
  });
});
