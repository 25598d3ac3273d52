/**
 * Circuit breaker on the virtual clock: it opens on cockatiel's verdict, fails fast without
 * sending while open, half-opens exactly when the open period ends, admits only its probes, closes
 * or re-opens on their outcome with a growing period, ignores what says nothing about the
 * destination, and validates its options. Sampling mode moves Date in step with the clock,
 * because cockatiel's SamplingBreaker reads Date.now().
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { failure, retryable, SUCCESS } from '../../src/core/classification.js';
import { CallContext } from '../../src/core/context.js';
import { CircuitOpenError, ClientClosedError } from '../../src/core/errors.js';
import type { Next } from '../../src/core/service.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import {
  CIRCUIT_BREAKER_DEFAULTS,
  type CircuitBreakerOptions,
  type CircuitStateChange,
  circuitBreaker,
} from '../../src/policies/circuit-breaker.js';
import { expectConfigError } from '../support/config-errors.js';

type Behaviour = 'ok' | 'fail' | 'throw' | 'unavailable' | 'hold';

/** A scripted backend: what the next call does, how many calls it saw, and the held ones. */
function backend() {
  const state = {
    mode: 'ok' as Behaviour,
    calls: 0,
    held: [] as { resolve: (ok: boolean) => void }[],
  };
  const next: Next<string, string> = (_req, ctx) => {
    state.calls++;
    switch (state.mode) {
      case 'ok':
        (ctx as CallContext).classification = SUCCESS;
        return Promise.resolve('ok');
      case 'fail':
        (ctx as CallContext).classification = failure('status 500');
        return Promise.resolve('500');
      case 'unavailable':
        (ctx as CallContext).classification = retryable('status 503');
        return Promise.resolve('503');
      case 'throw':
        return Promise.reject(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
      case 'hold':
        return new Promise((resolve, reject) => {
          state.held.push({
            resolve: (ok) => {
              (ctx as CallContext).classification = ok ? SUCCESS : failure('status 500');
              if (ok) resolve('ok');
              else reject(new Error('probe failed'));
            },
          });
        });
    }
  };
  return { state, next };
}

function setup(options: Partial<CircuitBreakerOptions> = {}) {
  const clock = new VirtualClock();
  const breaker = circuitBreaker<string, string>({ clock, ...options } as CircuitBreakerOptions);
  const b = backend();
  const changes: CircuitStateChange[] = [];
  breaker.onStateChange((c) => changes.push(c));
  const call = (signal?: AbortSignal) => breaker('req', new CallContext('svc', signal), b.next);
  /** Make `n` calls that settle (either way); resolves with their errors (undefined when ok). */
  const calls = async (n: number) => {
    const errors: unknown[] = [];
    for (let i = 0; i < n; i++)
      errors.push(
        await call().then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
    return errors;
  };
  return { clock, breaker, backend: b.state, changes, call, calls };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('circuit breaker (consecutive)', () => {
  it('opens after 5 consecutive failed calls, not before, and a success resets the count', async () => {
    const t = setup();
    t.backend.mode = 'fail';
    await t.calls(4);
    t.backend.mode = 'ok';
    await t.calls(1);
    t.backend.mode = 'fail';
    await t.calls(4);
    expect(t.breaker.state()).toBe('closed');
    await t.calls(1);
    expect(t.breaker.state()).toBe('open');
    expect(t.backend.calls).toBe(10);
    expect(t.changes).toEqual([
      { from: 'closed', to: 'open', at: 0, reason: 'status 500', retryAfterMs: 5_000 },
    ]);
  });

  it('counts thrown errors and retryable outcomes (503) as failures', async () => {
    const t = setup({ threshold: 2 });
    t.backend.mode = 'throw';
    await t.calls(1);
    t.backend.mode = 'unavailable';
    await t.calls(1);
    expect(t.breaker.state()).toBe('open');
    expect(t.changes[0]?.reason).toBe('status 503');
  });

  it('fails fast while open: nothing reaches next, and retryAfterMs is the time to the probe', async () => {
    const t = setup({ threshold: 1 });
    t.backend.mode = 'fail';
    await t.calls(1);
    expect(t.backend.calls).toBe(1);
    t.clock.advance(1_200);
    const error = await rejection(t.call());
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).code).toBe('WEFT_CIRCUIT_OPEN');
    expect((error as CircuitOpenError).retryAfterMs).toBe(3_800);
    expect((error as CircuitOpenError).destination).toBe('svc');
    const more = await t.calls(20);
    expect(more.every((e) => e instanceof CircuitOpenError)).toBe(true);
    expect(t.backend.calls).toBe(1);
  });

  it('half-opens exactly when halfOpenAfterMs has passed, leaving no timer behind', async () => {
    const t = setup({ threshold: 1, halfOpenAfterMs: 2_000 });
    t.backend.mode = 'fail';
    await t.calls(1);
    t.clock.advance(1_999);
    expect(t.breaker.state()).toBe('open');
    expect(((await rejection(t.call())) as CircuitOpenError).retryAfterMs).toBe(1);
    t.clock.advance(1);
    expect(t.breaker.state()).toBe('half-open');
    expect(t.clock.pendingTimers).toBe(0);
    expect(t.changes.map((c) => `${c.from}>${c.to}@${c.at}`)).toEqual([
      'closed>open@0',
      'open>half-open@2000',
    ]);
  });

  it('admits one probe at a time: concurrent calls fail fast with retryAfterMs 0; success closes', async () => {
    const t = setup({ threshold: 1 });
    t.backend.mode = 'fail';
    await t.calls(1);
    t.clock.advance(5_000);
    t.backend.mode = 'hold';
    const probe = t.call();
    const others = await Promise.all([rejection(t.call()), rejection(t.call()), rejection(t.call())]);
    for (const e of others) {
      expect(e).toBeInstanceOf(CircuitOpenError);
      expect((e as CircuitOpenError).retryAfterMs).toBe(0);
    }
    expect(t.backend.calls).toBe(2); // the failure, then the probe only
    t.backend.held[0]?.resolve(true);
    await expect(probe).resolves.toBe('ok');
    expect(t.breaker.state()).toBe('closed');
    t.backend.mode = 'ok';
    await expect(t.call()).resolves.toBe('ok');
    expect(t.changes.at(-1)).toMatchObject({ from: 'half-open', to: 'closed', reason: 'probe succeeded' });
  });

  it('re-opens when the probe fails, doubling the open period up to the cap, and resets it on close', async () => {
    const t = setup({ threshold: 1, halfOpenAfterMs: 1_000, maxHalfOpenAfterMs: 3_000 });
    t.backend.mode = 'fail';
    await t.calls(1);
    const periods: number[] = [];
    for (let i = 0; i < 4; i++) {
      periods.push(((await rejection(t.call())) as CircuitOpenError).retryAfterMs);
      t.clock.advance(periods[i]!);
      expect(t.breaker.state()).toBe('half-open');
      await t.calls(1); // the probe fails
      expect(t.breaker.state()).toBe('open');
    }
    periods.push(((await rejection(t.call())) as CircuitOpenError).retryAfterMs);
    expect(periods).toEqual([1_000, 2_000, 3_000, 3_000, 3_000]);
    expect(t.changes.filter((c) => c.to === 'open').map((c) => c.reason)).toContain(
      'probe failed: status 500',
    );
    t.clock.advance(3_000);
    t.backend.mode = 'ok';
    await t.calls(1);
    expect(t.breaker.state()).toBe('closed');
    t.backend.mode = 'fail';
    await t.calls(1);
    expect(((await rejection(t.call())) as CircuitOpenError).retryAfterMs).toBe(1_000);
  });

  it('resets the cockatiel breaker on close: it takes a full threshold of failures to open again', async () => {
    const t = setup({ threshold: 3 });
    t.backend.mode = 'fail';
    await t.calls(3);
    t.clock.advance(5_000);
    t.backend.mode = 'ok';
    await t.calls(1);
    expect(t.breaker.state()).toBe('closed');
    t.backend.mode = 'fail';
    await t.calls(2);
    expect(t.breaker.state()).toBe('closed');
    await t.calls(1);
    expect(t.breaker.state()).toBe('open');
  });

  it('with halfOpenProbes 3, admits three probes and closes only when all three succeed', async () => {
    const t = setup({ threshold: 1, halfOpenProbes: 3 });
    t.backend.mode = 'fail';
    await t.calls(1);
    t.clock.advance(5_000);
    t.backend.mode = 'hold';
    const probes = [t.call(), t.call(), t.call()];
    expect(await rejection(t.call())).toBeInstanceOf(CircuitOpenError);
    t.backend.held[0]?.resolve(true);
    t.backend.held[1]?.resolve(true);
    await Promise.all([probes[0], probes[1]]);
    expect(t.breaker.state()).toBe('half-open');
    // Two probes succeeded and one is running: the quota is used, later calls still fail fast.
    expect(await rejection(t.call())).toBeInstanceOf(CircuitOpenError);
    t.backend.held[2]?.resolve(true);
    await probes[2];
    expect(t.breaker.state()).toBe('closed');
  });

  it('with several probes, one failure re-opens the circuit', async () => {
    const t = setup({ threshold: 1, halfOpenProbes: 2 });
    t.backend.mode = 'fail';
    await t.calls(1);
    t.clock.advance(5_000);
    t.backend.mode = 'hold';
    const probes = [t.call(), t.call()];
    t.backend.held[0]?.resolve(true);
    t.backend.held[1]?.resolve(false);
    await Promise.allSettled(probes);
    expect(t.breaker.state()).toBe('open');
  });

  it('ignores ignorable outcomes: callers aborting and a closed client never trip it', async () => {
    const t = setup({ threshold: 2 });
    const controller = new AbortController();
    const next: Next<string, string> = () => {
      controller.abort(new Error('caller gave up'));
      return Promise.reject(controller.signal.reason);
    };
    for (let i = 0; i < 10; i++) {
      await rejection(t.breaker('req', new CallContext('svc', controller.signal), next));
      await rejection(
        t.breaker('req', new CallContext('svc'), () => Promise.reject(new ClientClosedError())),
      );
    }
    expect(t.breaker.state()).toBe('closed');
    // Nor do they break a run of failures: ignorable outcomes are not successes either.
    t.backend.mode = 'fail';
    await t.calls(1);
    await rejection(t.breaker('req', new CallContext('svc'), () => Promise.reject(new ClientClosedError())));
    await t.calls(1);
    expect(t.breaker.state()).toBe('open');
  });

  it('gives the probe slot back when the probe ends ignorably', async () => {
    const t = setup({ threshold: 1 });
    t.backend.mode = 'fail';
    await t.calls(1);
    t.clock.advance(5_000);
    await rejection(t.breaker('req', new CallContext('svc'), () => Promise.reject(new ClientClosedError())));
    expect(t.breaker.state()).toBe('half-open');
    t.backend.mode = 'ok';
    await expect(t.call()).resolves.toBe('ok');
    expect(t.breaker.state()).toBe('closed');
  });

  it('does not let calls admitted before a transition decide the new state', async () => {
    const t = setup({ threshold: 1 });
    t.backend.mode = 'hold';
    const stale = [t.call(), t.call()];
    t.backend.mode = 'fail';
    await t.calls(1); // opens
    t.clock.advance(5_000);
    expect(t.breaker.state()).toBe('half-open');
    // A call sent while closed succeeds now: it is not the probe, the circuit stays half-open.
    t.backend.held[0]?.resolve(true);
    await stale[0];
    expect(t.breaker.state()).toBe('half-open');
    t.backend.mode = 'ok';
    await t.call(); // the probe
    expect(t.breaker.state()).toBe('closed');
    // The other old call fails now: it belongs to an earlier closed period and is not counted.
    t.backend.held[1]?.resolve(false);
    await rejection(stale[1]!);
    expect(t.breaker.state()).toBe('closed');
  });

  it('catches up on a late timer: a call after the open period becomes the probe', async () => {
    const clock = new VirtualClock();
    // A clock whose timers never fire, like a real timer that is late.
    const lazy = { now: () => clock.now(), setTimeout: () => ({}), clearTimeout: () => {} };
    const breaker = circuitBreaker<string, string>({ clock: lazy, threshold: 1 });
    const b = backend();
    b.state.mode = 'throw';
    await rejection(breaker('req', new CallContext('svc'), b.next));
    clock.advance(5_000);
    expect(breaker.state()).toBe('open');
    b.state.mode = 'ok';
    await expect(breaker('req', new CallContext('svc'), b.next)).resolves.toBe('ok');
    expect(breaker.state()).toBe('closed');
  });

  it('keeps calling listeners when one throws, and stops calling removed ones', async () => {
    const t = setup({ threshold: 1 });
    const warnings: unknown[] = [];
    const onWarning = (w: unknown) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      t.breaker.onStateChange(() => {
        throw new Error('listener bug');
      });
      const seen: string[] = [];
      const remove = t.breaker.onStateChange((c) => seen.push(c.to));
      t.backend.mode = 'fail';
      await t.calls(1);
      remove();
      t.clock.advance(5_000);
      expect(seen).toEqual(['open']);
      expect(t.changes.map((c) => c.to)).toEqual(['open', 'half-open']);
      await new Promise((r) => setImmediate(r));
      expect(warnings.length).toBeGreaterThan(0);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('circuit breaker (sampling)', () => {
  const T0 = Date.UTC(2030, 0, 1);
  afterEach(() => {
    vi.useRealTimers();
  });

  function sampling(options: Partial<CircuitBreakerOptions> = {}) {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    const t = setup({ breaker: 'sampling', ...options } as Partial<CircuitBreakerOptions>);
    /** Move the VirtualClock and Date together. */
    const step = (ms: number) => {
      t.clock.advance(ms);
      vi.setSystemTime(T0 + t.clock.now());
    };
    return { ...t, step };
  }

  it('needs the minimum throughput: 19 failures in 10 s do not open it, the 20th does', async () => {
    const t = sampling();
    t.backend.mode = 'fail';
    for (let i = 0; i < 19; i++) {
      await t.calls(1);
      t.step(400);
    }
    expect(t.breaker.state()).toBe('closed');
    await t.calls(1);
    expect(t.breaker.state()).toBe('open');
  });

  it('opens only above the failure rate: 50% of 20 is not enough, 11 of 21 is', async () => {
    const t = sampling();
    t.backend.mode = 'ok';
    await t.calls(10);
    t.backend.mode = 'fail';
    await t.calls(10);
    expect(t.breaker.state()).toBe('closed');
    await t.calls(1);
    expect(t.breaker.state()).toBe('open');
  });

  it('honours threshold and minimumRps options', async () => {
    const t = sampling({ threshold: 0.2, minimumRps: 1 });
    t.backend.mode = 'ok';
    await t.calls(8);
    t.backend.mode = 'fail';
    await t.calls(2); // 2 of 10: not above 20%
    expect(t.breaker.state()).toBe('closed');
    await t.calls(1); // 3 of 11
    expect(t.breaker.state()).toBe('open');
  });

  it('forgets failures as the window slides', async () => {
    const t = sampling();
    t.backend.mode = 'fail';
    await t.calls(15);
    t.backend.mode = 'ok';
    for (let i = 0; i < 9; i++) {
      t.step(1_000);
      await t.calls(1);
    }
    t.step(2_000);
    t.backend.mode = 'fail';
    // Counting the 15 old failures this would be 16 of 25; within the last 10 s it is 1 of 10.
    await t.calls(1);
    expect(t.breaker.state()).toBe('closed');
  });

  it('forgets everything after a quiet spell of a whole window', async () => {
    const t = sampling();
    t.backend.mode = 'fail';
    await t.calls(15);
    t.step(60_000);
    await t.calls(5); // 20 failures in all, but only 5 in the last 10 s
    expect(t.breaker.state()).toBe('closed');
  });

  it('runs the same open, half-open and close cycle on the clock', async () => {
    const t = sampling({ halfOpenAfterMs: 1_000 });
    t.backend.mode = 'fail';
    await t.calls(20);
    expect(t.breaker.state()).toBe('open');
    t.step(1_000);
    expect(t.breaker.state()).toBe('half-open');
    t.backend.mode = 'ok';
    await t.calls(1);
    expect(t.breaker.state()).toBe('closed');
    // Closing started a fresh history (holding the probe's success): 18 failures make 19 calls,
    // below the minimum throughput; the next one reaches it.
    t.backend.mode = 'fail';
    await t.calls(18);
    expect(t.breaker.state()).toBe('closed');
    await t.calls(1);
    expect(t.breaker.state()).toBe('open');
  });
});

describe('circuit breaker options', () => {
  const cases: [string, unknown][] = [
    ['circuitBreaker', 'on'],
    ['circuitBreaker.breaker', { breaker: 'count' }],
    ['circuitBreaker.threshold', { threshold: 0 }],
    ['circuitBreaker.threshold', { threshold: 2.5 }],
    ['circuitBreaker.threshold', { threshold: 0.5 }],
    ['circuitBreaker.threshold', { breaker: 'sampling', threshold: 1 }],
    ['circuitBreaker.threshold', { breaker: 'sampling', threshold: 0 }],
    ['circuitBreaker.threshold', { breaker: 'sampling', threshold: '0.5' }],
    ['circuitBreaker.samplingDurationMs', { breaker: 'sampling', samplingDurationMs: 500 }],
    ['circuitBreaker.samplingDurationMs', { breaker: 'sampling', samplingDurationMs: Infinity }],
    ['circuitBreaker.samplingDurationMs', { samplingDurationMs: 10_000 }],
    ['circuitBreaker.minimumRps', { breaker: 'sampling', minimumRps: 0 }],
    ['circuitBreaker.minimumRps', { minimumRps: 2 }],
    ['circuitBreaker.halfOpenAfterMs', { halfOpenAfterMs: -1 }],
    ['circuitBreaker.halfOpenAfterMs', { halfOpenAfterMs: Infinity }],
    ['circuitBreaker.maxHalfOpenAfterMs', { halfOpenAfterMs: 5_000, maxHalfOpenAfterMs: 1_000 }],
    ['circuitBreaker.halfOpenProbes', { halfOpenProbes: 0 }],
    ['circuitBreaker.halfOpenProbes', { halfOpenProbes: 1.5 }],
    ['circuitBreaker.clock', { clock: {} }],
  ];
  for (const [option, value] of cases) {
    it(`rejects ${JSON.stringify(value)} naming ${option}`, () => {
      expectConfigError(() => circuitBreaker(value as CircuitBreakerOptions), option);
    });
  }

  it('defaults to the documented values', async () => {
    expect(CIRCUIT_BREAKER_DEFAULTS).toMatchObject({
      breaker: 'consecutive',
      consecutiveThreshold: 5,
      samplingThreshold: 0.5,
      samplingDurationMs: 10_000,
      minimumRps: 2,
      halfOpenAfterMs: 5_000,
      maxHalfOpenAfterMs: 30_000,
      halfOpenProbes: 1,
    });
    const t = setup();
    t.backend.mode = 'fail';
    await t.calls(5);
    const periods: number[] = [];
    for (let i = 0; i < 4; i++) {
      periods.push(((await rejection(t.call())) as CircuitOpenError).retryAfterMs);
      t.clock.advance(periods[i]!);
      await t.calls(1);
    }
    expect(periods).toEqual([5_000, 10_000, 20_000, 30_000]);
  });

  it('lengthens the default cap when halfOpenAfterMs is longer than it', async () => {
    const t = setup({ threshold: 1, halfOpenAfterMs: 60_000 });
    t.backend.mode = 'fail';
    await t.calls(1);
    expect(((await rejection(t.call())) as CircuitOpenError).retryAfterMs).toBe(60_000);
  });
});
