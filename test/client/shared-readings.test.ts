/**
 * Shared clock readings (src/core/shared-readings.ts): on a call's first descent through the
 * client's own layers the clock is read once, at the client's start, and once more when the
 * attempt settles; a layer of the user's in between makes the layer below read it again. The
 * deadline header shows which reading a layer took, on a virtual clock a user's layer moves.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallInfo } from '../../src/core/call-info.js';
import type { Next } from '../../src/core/service.js';
import { decideSharedReadings, SharedReadings } from '../../src/core/shared-readings.js';
import { Stack } from '../../src/core/stack.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { createHttpClient, type HttpClient } from '../../src/index.js';
import { openTelemetryTracing } from '../../src/opentelemetry.js';
import { prometheusMetrics } from '../../src/prometheus.js';
import { Backends, replyAfter } from '../support/http-servers.js';

/** A virtual clock that counts how often it is read. */
class CountingClock extends VirtualClock {
  reads = 0;
  override now(): number {
    this.reads++;
    return super.now();
  }
}

const backends = new Backends();
const clients: HttpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await backends.closeAll();
});

function client(options: Parameters<typeof createHttpClient>[0]): HttpClient {
  const c = createHttpClient(options);
  clients.push(c);
  return c;
}

/** A user's filter that takes `ms` of (virtual) time, synchronously. */
const slowFilter =
  (clock: VirtualClock, ms: number) =>
  <Req, Res>(req: Req, ctx: CallInfo, next: Next<Req, Res>): Promise<Res> => {
    clock.advance(ms);
    return next(req, ctx);
  };

describe('shared clock readings', () => {
  it('a call through the default stack, with metrics and tracing, reads the clock twice', async () => {
    const b = await backends.start(replyAfter(0));
    const clock = new CountingClock();
    const c = client({
      endpoints: [b.address],
      clock,
      timeoutMs: 1_000,
      attemptTimeoutMs: 500,
      retry: { maxAttempts: 3 },
      failureAccrual: { consecutiveFailures: 5 },
      telemetry: [prometheusMetrics({ registry: new Registry() }), openTelemetryTracing()],
    });
    await (await c.request({ path: '/' })).body.text(); // the first call warms discovery up
    clock.reads = 0;
    await (await c.request({ path: '/' })).body.text();
    // The client's start, and the attempt's settle.
    expect(clock.reads).toBe(2);
    expect(b.seen[1]!.headers['weft-timeout-ms']).toBe('500');
  });

  it("a user's filter above attempt: the attempt reads the clock itself", async () => {
    const b = await backends.start(replyAfter(0));
    const clock = new VirtualClock();
    const c = client({
      endpoints: [b.address],
      clock,
      timeoutMs: 1_000,
      attemptTimeoutMs: 500,
      stack: (s) =>
        s.insertBefore('attempt', { role: 'slow', description: '', layer: slowFilter(clock, 30) }),
      // A layer of the user's above the header too, so that the header reads the clock itself.
      endpointStack: (s) => s.prepend({ role: 'mine', description: '', layer: (next) => next }),
    });
    await (await c.request({ path: '/' })).body.text();
    // The attempt's 500 ms count from when it started, 30 ms after the call did.
    expect(b.seen[0]!.headers['weft-timeout-ms']).toBe('500');
  });

  it("a user's filter below attempt: the balancer reads the clock itself", async () => {
    const b = await backends.start(replyAfter(0));
    const clock = new VirtualClock();
    const c = client({
      endpoints: [b.address],
      clock,
      timeoutMs: 1_000,
      attemptTimeoutMs: 500,
      stack: (s) => s.insertAfter('attempt', { role: 'slow', description: '', layer: slowFilter(clock, 30) }),
    });
    await (await c.request({ path: '/' })).body.text();
    // The 30 ms the filter took came out of the attempt's 500.
    expect(b.seen[0]!.headers['weft-timeout-ms']).toBe('470');
  });

  it("a user's endpoint layer above the header: the header reads the clock itself", async () => {
    const b = await backends.start(replyAfter(0));
    const clock = new VirtualClock();
    const c = client({
      endpoints: [b.address],
      clock,
      timeoutMs: 1_000,
      endpointStack: (s) =>
        s.prepend({
          role: 'slow',
          description: '',
          layer: (next) => ({
            call: (req, ctx) => slowFilter(clock, 30)(req, ctx, (r, x) => next.call(r, x)),
            get status() {
              return next.status;
            },
            close: () => next.close(),
          }),
        }),
    });
    await (await c.request({ path: '/' })).body.text();
    expect(b.seen[0]!.headers['weft-timeout-ms']).toBe('970');
  });
});

describe('decideSharedReadings', () => {
  const own = { a: () => 'a', b: () => 'b', attempt: () => 'attempt' };
  const built = Stack.of([
    { role: 'a', description: '', layer: own.a },
    { role: 'b', description: '', layer: own.b },
    { role: 'attempt', description: '', layer: own.attempt },
  ]);
  const header = () => 'header';
  const accrual = () => 'accrual';
  const builtEndpoint = Stack.of([
    { role: 'failure-accrual', description: '', layer: accrual },
    { role: 'deadline-header', description: '', layer: header },
  ]);
  const decide = (edited: Stack<unknown>, editedEndpoint: Stack<unknown> = builtEndpoint) => {
    const readings = new SharedReadings();
    decideSharedReadings(
      readings,
      { built, edited },
      { built: builtEndpoint as Stack<unknown>, edited: editedEndpoint },
    );
    return { ...readings };
  };
  const all = { attemptTakesCallStart: true, pickTakesAttemptStart: true, headerTakesPick: true };
  const user = { role: 'user', description: '', layer: () => 'user' };

  it('shares every reading when the stacks are as built, or only reordered or trimmed', () => {
    expect(decide(built)).toEqual(all);
    expect(decide(built.remove('a'))).toEqual(all);
    expect(decide(built.remove('b').insertBefore('a', { role: 'b', description: '', layer: own.b }))).toEqual(
      all,
    );
    expect(decide(built, builtEndpoint.remove('failure-accrual'))).toEqual(all);
  });

  it("stops sharing below a layer of the user's, or a replaced role", () => {
    expect(decide(built.prepend(user))).toEqual({ ...all, attemptTakesCallStart: false });
    expect(decide(built.replace('b', () => 'mine'))).toEqual({ ...all, attemptTakesCallStart: false });
    expect(decide(built.append(user))).toEqual({ ...all, pickTakesAttemptStart: false });
    expect(decide(built, builtEndpoint.prepend(user))).toEqual({ ...all, headerTakesPick: false });
    expect(
      decide(
        built,
        builtEndpoint.replace('failure-accrual', () => 'mine'),
      ),
    ).toEqual({
      ...all,
      headerTakesPick: false,
    });
  });

  it('shares nothing around a role that is gone or replaced', () => {
    const noAttempt = decide(built.remove('attempt'));
    expect(noAttempt.attemptTakesCallStart || noAttempt.pickTakesAttemptStart).toBe(false);
    const mine = decide(built.replace('attempt', () => 'mine'));
    expect(mine.attemptTakesCallStart || mine.pickTakesAttemptStart).toBe(false);
    expect(decide(built, builtEndpoint.remove('deadline-header')).headerTakesPick).toBe(false);
    expect(
      decide(
        built,
        builtEndpoint.replace('deadline-header', () => 'mine'),
      ).headerTakesPick,
    ).toBe(false);
  });

  it('shares nothing until decided (a custom stack)', () => {
    expect({ ...new SharedReadings() }).toEqual({
      attemptTakesCallStart: false,
      pickTakesAttemptStart: false,
      headerTakesPick: false,
    });
  });
});
