/**
 * Deadlines end to end on loopback: an outer service's budget reaches the inner service reduced
 * by the time already spent (two hops, through the ambient context); an expired budget sends
 * nothing; a slow server turns into DeadlineExceededError; the per-attempt timeout; malformed and
 * absurd incoming values are ignored or clamped.
 */
import { describe, expect, it } from 'vitest';
import type { CallInfo } from '../../src/core/call-info.js';
import type { Cancellation } from '../../src/core/cancellation.js';
import type { CallContext } from '../../src/core/context.js';
import type { Filter, Next } from '../../src/core/service.js';
import type { Stack } from '../../src/core/stack.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import {
  AttemptTimeoutError,
  DEADLINE_HEADER,
  DeadlineExceededError,
  type HttpClient,
  type HttpRequest,
  type HttpResponse,
  NoEndpointsError,
  runWithIncomingDeadline,
  staticResolver,
} from '../../src/index.js';
import { parseDeadlineHeader } from '../../src/policies.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';

const { backends, client } = loopbackFixtures();

/** A front service that spends `workMs`, then calls `inner` through weft, under the incoming deadline. */
async function frontService(inner: HttpClient, workMs: number) {
  return backends.start((req, res) =>
    runWithIncomingDeadline(req.headers, async () => {
      await new Promise((r) => setTimeout(r, workMs));
      try {
        const answer = await inner.request({ path: '/inner' });
        res.end(await answer.body.text());
      } catch (error) {
        res.statusCode = 504;
        res.end((error as Error).name);
      }
    }),
  );
}

describe('deadline propagation across two hops', () => {
  it('the inner service sees less time than the outer budget', async () => {
    const inner = await backends.start(replyAfter(0, 'inner ok'));
    const innerClient = client({ endpoints: [inner.address] });
    const front = await frontService(innerClient, 30);
    const outer = client({ endpoints: [front.address], timeoutMs: 2_000 });

    const res = await outer.request({ path: '/front' });
    expect(await res.body.text()).toBe('inner ok');

    const atFront = Number(front.seen[0]!.headers[DEADLINE_HEADER]);
    const atInner = Number(inner.seen[0]!.headers[DEADLINE_HEADER]);
    expect(atFront).toBeGreaterThan(0);
    expect(atFront).toBeLessThanOrEqual(2_000);
    // The front spent >= 30 ms before calling: the inner budget is smaller by at least that.
    expect(atInner).toBeLessThanOrEqual(atFront - 30);
    expect(atInner).toBeGreaterThan(0);
  });

  it('an expired incoming budget sends nothing downstream', async () => {
    const inner = await backends.start(replyAfter(0));
    const innerClient = client({ endpoints: [inner.address] });
    const front = await frontService(innerClient, 0);
    const outer = client({ endpoints: [front.address], propagateDeadline: false });

    const res = await outer.request({ path: '/front', headers: { [DEADLINE_HEADER]: '0' } });
    expect(res.statusCode).toBe(504);
    expect(await res.body.text()).toBe('DeadlineExceededError');
    expect(inner.seen).toHaveLength(0);
  });

  it('an ambient deadline spent while working fails the outbound call without sending', async () => {
    const inner = await backends.start(replyAfter(0));
    const innerClient = client({ endpoints: [inner.address] });
    const front = await frontService(innerClient, 80);
    const outer = client({ endpoints: [front.address], propagateDeadline: false });
    const res = await outer.request({ path: '/front', headers: { [DEADLINE_HEADER]: '40' } });
    expect(await res.body.text()).toBe('DeadlineExceededError');
    expect(inner.seen).toHaveLength(0);
  });

  it('a client can opt out of inheriting the ambient deadline', async () => {
    const inner = await backends.start(replyAfter(0, 'sent anyway'));
    const innerClient = client({ endpoints: [inner.address], inheritAmbientDeadline: false });
    const front = await frontService(innerClient, 0);
    const outer = client({ endpoints: [front.address], propagateDeadline: false });
    const res = await outer.request({ path: '/front', headers: { [DEADLINE_HEADER]: '0' } });
    expect(await res.body.text()).toBe('sent anyway');
  });
});

describe('deadline on a single call', () => {
  it('a server slower than the total timeout yields DeadlineExceededError with details', async () => {
    const slow = await backends.start(replyAfter(2_000));
    const c = client({ endpoints: [slow.address], timeoutMs: 100 });
    const error = await c.request({ path: '/' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    const d = error as DeadlineExceededError;
    expect(d.code).toBe('WEFT_DEADLINE_EXCEEDED');
    expect(d.budgetMs).toBe(100);
    expect(d.destination).toBe(c.name);
    expect(d.message).toContain('100ms');
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]!.endpoint).toBe(slow.address);
    expect(d.message).toContain(`#1 ${slow.address}`);
  });

  it('a per-call timeout overrides the client default', async () => {
    const slow = await backends.start(replyAfter(2_000));
    const c = client({ endpoints: [slow.address] });
    const error = await c.request({ path: '/', timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(Number(slow.seen[0]?.headers[DEADLINE_HEADER] ?? 50)).toBeLessThanOrEqual(50);
  });

  it('the per-attempt timeout fires before the total one and is sent as the budget', async () => {
    const slow = await backends.start(replyAfter(2_000));
    const c = client({ endpoints: [slow.address], timeoutMs: 5_000, attemptTimeoutMs: 80 });
    const error = await c.request({ path: '/' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AttemptTimeoutError);
    expect((error as AttemptTimeoutError).endpoint).toBe(slow.address);
    await new Promise((r) => setTimeout(r, 20));
    expect(Number(slow.seen[0]?.headers[DEADLINE_HEADER])).toBeLessThanOrEqual(80);
  });

  it('the fetch path honours per-call timeouts too', async () => {
    const slow = await backends.start(replyAfter(2_000));
    const c = client({ endpoints: [slow.address] });
    const error = await c.fetch('/', { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError); // fetch wraps network errors ...
    expect((error as TypeError).cause).toBeInstanceOf(DeadlineExceededError); // ... with ours as cause
  });

  it('with no timeout at all the header is not sent', async () => {
    const b = await backends.start(replyAfter(0));
    const c = client({ endpoints: [b.address], timeoutMs: Number.POSITIVE_INFINITY });
    await (await c.request({ path: '/' })).body.text();
    expect(b.seen[0]!.headers[DEADLINE_HEADER]).toBeUndefined();
  });
});

describe('layers that wait before they call the next one', () => {
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // A user's filter or endpoint layer that awaits something first (a queue, a token).
  const waiting =
    <Req, Res>(ms: number) =>
    async (req: Req, ctx: CallInfo, next: Next<Req, Res>): Promise<Res> => {
      await wait(ms);
      return next(req, ctx);
    };

  it("a user's filter above attempt: the time it waited is not sent and not measured as RTT", async () => {
    const b = await backends.start(replyAfter(0));
    const c = client({
      endpoints: [b.address],
      timeoutMs: 5_000,
      stack: (s) => s.insertBefore('attempt', { role: 'queue', description: 'waits', layer: waiting(300) }),
    });
    await (await c.request({ path: '/' })).body.text();
    expect(Number(b.seen[0]!.headers[DEADLINE_HEADER])).toBeLessThanOrEqual(4_700);
    // Peak EWMA takes any RTT above its 30 ms start at once: the 300 ms wait is not in it.
    expect(c.endpoints()[0]!.cost).toBeLessThan(300);
  });

  it("a user's endpoint layer: the time it waited is not sent", async () => {
    const b = await backends.start(replyAfter(0));
    const c = client({
      endpoints: [b.address],
      timeoutMs: 5_000,
      endpointStack: (s) =>
        s.prepend({
          role: 'queue',
          description: 'waits',
          layer: (next) => ({
            call: (req, ctx) => waiting<HttpRequest, HttpResponse>(300)(req, ctx, (r, x) => next.call(r, x)),
            get status() {
              return next.status;
            },
            close: () => next.close(),
            settled: (ctx, outcome, failed) => next.settled?.(ctx, outcome, failed),
          }),
        }),
    });
    await (await c.request({ path: '/' })).body.text();
    expect(Number(b.seen[0]!.headers[DEADLINE_HEADER])).toBeLessThanOrEqual(4_700);
  });

  it('the total timeout counts from the call, including a wait above the deadline layer', async () => {
    const b = await backends.start(replyAfter(0));
    const c = client({
      endpoints: [b.address],
      timeoutMs: 5_000,
      stack: (s) => s.prepend({ role: 'queue', description: 'waits', layer: waiting(300) }),
    });
    await (await c.request({ path: '/' })).body.text();
    expect(Number(b.seen[0]!.headers[DEADLINE_HEADER])).toBeLessThanOrEqual(4_700);
  });
});

describe('per-attempt timeout bookkeeping', () => {
  /** A filter below `attempt` that keeps each attempt's context and its token as sent. */
  function spy() {
    const seen: Array<{ ctx: CallContext; token: unknown }> = [];
    const layer = (req: HttpRequest, info: CallInfo, next: Next<HttpRequest, HttpResponse>) => {
      const ctx = info as CallContext;
      seen.push({ ctx, token: ctx.cancellation });
      return next(req, ctx);
    };
    return {
      seen,
      edit: (s: Stack<Filter<HttpRequest, HttpResponse>>) =>
        s.insertAfter('attempt', { role: 'spy', description: 'spy', layer }),
    };
  }

  it('stops the timer when the attempt answers, and gives the call its own token back', async () => {
    const b = await backends.start(replyAfter(0));
    const clock = new VirtualClock();
    const s = spy();
    const c = client({ endpoints: [b.address], clock, attemptTimeoutMs: 100, stack: s.edit });
    await (await c.request({ path: '/' })).body.text();
    const { ctx, token } = s.seen[0]!;
    expect(ctx.cancellation).not.toBe(token); // the call's own token again
    await clock.advanceAsync(1_000);
    expect((token as Cancellation).cancelled).toBe(false); // its expiry was removed, so it never fired
  });

  it("a timed-out attempt's error lists that attempt, with or without a retry layer above", async () => {
    const slow = await backends.start(replyAfter(2_000));
    for (const maxAttempts of [1, 2]) {
      const c = client({ endpoints: [slow.address], attemptTimeoutMs: 60 });
      const error = (await c
        .request({ path: '/', maxAttempts })
        .catch((e: unknown) => e)) as AttemptTimeoutError;
      expect(error).toBeInstanceOf(AttemptTimeoutError);
      expect(error.attempts?.map((a) => a.endpoint)).toEqual(Array(maxAttempts).fill(slow.address));
      expect(error.message).toContain(`#${maxAttempts} ${slow.address}`);
    }
  });

  it('stops the timer of an attempt that found no endpoint, with nothing above to report it', async () => {
    const clock = new VirtualClock();
    const s = spy();
    const c = client({
      resolver: staticResolver([]),
      clock,
      retry: false,
      attemptTimeoutMs: 100,
      stack: s.edit,
    });
    await expect(c.request({ path: '/' })).rejects.toBeInstanceOf(NoEndpointsError);
    await clock.advanceAsync(1_000);
    expect((s.seen[0]!.token as Cancellation).cancelled).toBe(false);
  });
});

describe('incoming deadline header', () => {
  it('accepts whole milliseconds', () => {
    expect(parseDeadlineHeader('1500')).toBe(1500);
    expect(parseDeadlineHeader(' 0 ')).toBe(0);
    expect(parseDeadlineHeader(['250'])).toBe(250);
  });

  it('ignores malformed values rather than trusting them', () => {
    for (const bad of ['', '-5', '1e3', '12abc', '1.5', 'Infinity', '0x10', '1'.repeat(40), undefined]) {
      expect(parseDeadlineHeader(bad)).toBeUndefined();
    }
    expect(parseDeadlineHeader(['1', '2'])).toBeUndefined();
  });

  it('clamps absurd values to the cap', () => {
    expect(parseDeadlineHeader('86400000')).toBe(300_000);
    expect(parseDeadlineHeader('9999999999999999999')).toBe(300_000);
    expect(parseDeadlineHeader('5000', 1_000)).toBe(1_000);
  });

  it('runWithIncomingDeadline ignores a malformed header and honours a good one', async () => {
    const inner = await backends.start(replyAfter(0));
    const c = client({ endpoints: [inner.address], timeoutMs: 10_000 });
    await runWithIncomingDeadline({ [DEADLINE_HEADER]: 'soon' }, async () => {
      await (await c.request({ path: '/a' })).body.text();
    });
    await runWithIncomingDeadline({ [DEADLINE_HEADER]: '700' }, async () => {
      await (await c.request({ path: '/b' })).body.text();
    });
    expect(Number(inner.seen[0]!.headers[DEADLINE_HEADER])).toBeGreaterThan(700);
    expect(Number(inner.seen[1]!.headers[DEADLINE_HEADER])).toBeLessThanOrEqual(700);
  });
});
