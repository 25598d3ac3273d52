/**
 * Chaos: replicas that fail for everything. One failing replica is retried around, ejected,
 * probed and returned once it recovers; a whole failing service costs at most the retry budget
 * in extra attempts (counted at the servers), and the circuit breaker then fails calls fast.
 */
import { describe, expect, it } from 'vitest';
import { CircuitOpenError, type HttpClient } from '../../src/index.js';
import { failingWhile } from '../support/chaos-servers.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';

const { backends, client } = loopbackFixtures();

async function load(c: HttpClient, calls: number, concurrency: number) {
  let sent = 0;
  let ok = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (sent < calls) {
      sent++;
      try {
        const res = await c.request({ path: '/' });
        await res.body.text();
        if (res.statusCode === 200) ok++;
        else errors.push(res.statusCode);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ok, errors };
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe('chaos: outages', () => {
  it('a replica answering 503 to everything: callers see >= 99.9% success; it is ejected, probed and returned', async () => {
    let failing = true;
    const healthy = await Promise.all([1, 2, 3].map(() => backends.start(replyAfter(1))));
    const broken = await backends.start(failingWhile(() => failing));
    const c = client({
      endpoints: [...healthy, broken].map((b) => b.address),
      failureAccrual: { minEjectionMs: 200, maxEjectionMs: 400 },
    });
    const first = await load(c, 2_000, 8);
    expect(first.ok / 2_000).toBeGreaterThanOrEqual(0.999);
    const brokenStats = () => c.endpoints().find((e) => e.address === broken.address)!;
    expect(brokenStats().accrual?.ejections).toBeGreaterThanOrEqual(1);
    // Ejected, it saw only the first failures and the occasional probe, not its quarter.
    expect(broken.seen.length).toBeLessThan(100);

    failing = false;
    const before = broken.seen.length;
    // Past its ejection time it admits one probe; the probe succeeds and it takes traffic again.
    await waitFor(() => brokenStats().accrual?.state !== 'dead', 'the ejection to end');
    const second = await load(c, 1_000, 8);
    expect(second.ok).toBe(1_000);
    expect(brokenStats().accrual?.state).toBe('alive');
    expect(broken.seen.length - before).toBeGreaterThan(50);
  });

  it('every replica failing: extra attempts stay within the retry budget', async () => {
    const replicas = await Promise.all([1, 2, 3].map(() => backends.start(failingWhile(() => true))));
    const c = client({ endpoints: replicas.map((b) => b.address), failureAccrual: false });
    const calls = 500;
    const { ok } = await load(c, calls, 4);
    expect(ok).toBe(0);
    const attempts = replicas.reduce((n, b) => n + b.seen.length, 0);
    // Budget: 20% of calls + a reserve of 10/s over 10 s. Without it: up to 3 × 500 = 1 500.
    expect(attempts).toBeGreaterThan(calls);
    expect(attempts).toBeLessThanOrEqual(calls + 0.2 * calls + 100 + 1);
  });

  it('every replica failing: once the breaker opens, calls fail fast with a typed error and send nothing', async () => {
    const replicas = await Promise.all([1, 2].map(() => backends.start(failingWhile(() => true))));
    const c = client({
      endpoints: replicas.map((b) => b.address),
      circuitBreaker: { halfOpenAfterMs: 60_000 },
    });
    const first = await load(c, 5, 1);
    expect(first.ok).toBe(0);
    expect(c.circuitBreaker?.state()).toBe('open');
    const seen = replicas.reduce((n, b) => n + b.seen.length, 0);
    const rest = await load(c, 200, 4);
    expect(rest.errors).toHaveLength(200);
    for (const error of rest.errors) expect(error).toBeInstanceOf(CircuitOpenError);
    expect((rest.errors[0] as CircuitOpenError).code).toBe('WEFT_CIRCUIT_OPEN');
    expect(replicas.reduce((n, b) => n + b.seen.length, 0)).toBe(seen);
  });
});
