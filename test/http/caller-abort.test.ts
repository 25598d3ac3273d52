/**
 * A caller that gives up on a fetch() while weft waits to retry it: the call fails with the
 * caller's reason, and the circuit breaker does not count it against the destination (the caller's
 * abort arrives on the call's own token, not on a signal weft holds). The backoff runs on a
 * virtual clock, so the call waits in it until the test aborts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { failingWhile } from '../support/chaos-servers.js';
import { loopbackFixtures } from '../support/fixtures.js';

const { backends, client } = loopbackFixtures();

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a caller's abort during a retry backoff", () => {
  it('fails the call with its reason and does not trip the breaker', async () => {
    // Full jitter draws the backoff from [0, 25 ms): mid-range, so that the call surely waits.
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const backend = await backends.start(failingWhile(() => true));
    const c = client({
      endpoints: [backend.address],
      clock: new VirtualClock(),
      circuitBreaker: { threshold: 1 },
    });
    const controller = new AbortController();
    const pending = c.fetch('/', { signal: controller.signal });
    // The first attempt's 503 has been judged: the call now waits out its backoff on the clock.
    await vi.waitFor(() => expect(c.endpoints()[0]!.attempts).toBe(1));
    controller.abort(new Error('the caller gave up'));
    await expect(pending).rejects.toThrow('the caller gave up');
    expect(backend.seen).toHaveLength(1);
    expect(c.circuitBreaker!.state()).toBe('closed');
  });
});
