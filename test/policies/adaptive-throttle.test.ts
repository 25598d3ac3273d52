/**
 * Adaptive throttling on the virtual clock: nothing is rejected while the backend accepts, the
 * rejection probability is the SRE book's formula over the counts in the window (checked with an
 * injected random source), what counts as a request and an accept, the window slides, locally
 * rejected calls never reach the next filter, and options are validated.
 */
import { describe, expect, it } from 'vitest';
import { failure, retryable, SUCCESS } from '../../src/core/classification.js';
import { CallContext } from '../../src/core/context.js';
import { ClientClosedError, OverloadedError } from '../../src/core/errors.js';
import type { Next } from '../../src/core/service.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import {
  ADAPTIVE_THROTTLE_DEFAULTS,
  type AdaptiveThrottleOptions,
  adaptiveThrottle,
} from '../../src/policies/adaptive-throttle.js';
import { expectConfigError } from '../support/config-errors.js';

type Behaviour = 'ok' | 'fail' | 'unavailable' | 'refused' | 'reset' | 'hold';

function setup(options: AdaptiveThrottleOptions = {}) {
  const clock = new VirtualClock();
  const draw = { value: 0.999_999 };
  const throttle = adaptiveThrottle<string, string>({ clock, random: () => draw.value, ...options });
  const state = { mode: 'ok' as Behaviour, calls: 0, held: [] as (() => void)[] };
  const next: Next<string, string> = (_req, ctx) => {
    state.calls++;
    switch (state.mode) {
      case 'ok':
        (ctx as CallContext).classification = SUCCESS;
        return Promise.resolve('200');
      case 'fail':
        (ctx as CallContext).classification = failure('status 500');
        return Promise.resolve('500');
      case 'unavailable':
        (ctx as CallContext).classification = retryable('status 503');
        return Promise.resolve('503');
      case 'refused':
        (ctx as CallContext).classification = retryable('ECONNREFUSED', true);
        return Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
      case 'reset':
        (ctx as CallContext).classification = failure('ECONNRESET');
        return Promise.reject(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
      case 'hold':
        return new Promise((resolve) => {
          state.held.push(() => {
            (ctx as CallContext).classification = SUCCESS;
            resolve('200');
          });
        });
    }
  };
  const call = () => throttle('req', new CallContext('svc'), next);
  /** Make `n` calls one after another; resolves with how many were rejected locally. */
  const calls = async (n: number) => {
    let throttled = 0;
    for (let i = 0; i < n; i++) {
      await call().catch((e: unknown) => {
        if (e instanceof OverloadedError) throttled++;
      });
    }
    return throttled;
  };
  return { clock, throttle, draw, backend: state, call, calls };
}

describe('adaptive throttle', () => {
  it('never rejects while the backend accepts, and does not even draw a random number', async () => {
    const t = setup({
      random: () => {
        throw new Error('no draw expected');
      },
    });
    expect(await t.calls(500)).toBe(0);
    t.backend.mode = 'fail'; // processed, if badly: still accepted
    expect(await t.calls(500)).toBe(0);
    t.backend.mode = 'reset';
    expect(await t.calls(100)).toBe(0);
    expect(t.throttle.stats()).toEqual({ requests: 1_100, accepts: 1_100, rejectionProbability: 0 });
    expect(t.backend.calls).toBe(1_100);
  });

  it('does not count calls in flight: a cold burst is never throttled', async () => {
    const t = setup();
    t.draw.value = 0; // any probability above zero would reject
    t.backend.mode = 'hold';
    const burst = Array.from({ length: 100 }, () => t.call());
    expect(t.backend.calls).toBe(100);
    for (const release of t.backend.held) release();
    await Promise.all(burst);
    expect(t.throttle.stats()).toEqual({ requests: 100, accepts: 100, rejectionProbability: 0 });
  });

  it('rejects with probability max(0, (requests - K·accepts) / (requests + 1))', async () => {
    const t = setup();
    t.backend.mode = 'unavailable';
    await t.calls(30);
    t.backend.mode = 'ok';
    await t.calls(10);
    const p = (40 - 2 * 10) / (40 + 1);
    expect(t.throttle.stats()).toEqual({ requests: 40, accepts: 10, rejectionProbability: p });

    // A draw just above p is admitted (held, so the counts do not move).
    t.backend.mode = 'hold';
    t.draw.value = p + 1e-9;
    const admitted = t.call();
    expect(t.backend.calls).toBe(41);
    expect(t.throttle.stats().requests).toBe(40);

    // A draw just below p is rejected locally, and counted as a request at once.
    t.draw.value = p - 1e-9;
    const error = await t.call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OverloadedError);
    expect((error as OverloadedError).code).toBe('WEFT_OVERLOADED');
    expect((error as OverloadedError).destination).toBe('svc');
    expect((error as OverloadedError).message).toMatch(
      /^throttled locally: the backend accepted 10 of 40 calls/,
    );
    expect(t.backend.calls).toBe(41);
    expect(t.throttle.stats()).toEqual({ requests: 41, accepts: 10, rejectionProbability: 21 / 42 });

    t.backend.held[0]?.();
    await admitted;
    expect(t.throttle.stats()).toEqual({ requests: 42, accepts: 11, rejectionProbability: 20 / 43 });
  });

  it('honours K', async () => {
    const t = setup({ k: 1.5 });
    t.backend.mode = 'unavailable';
    await t.calls(10);
    t.backend.mode = 'ok';
    await t.calls(10);
    expect(t.throttle.stats().rejectionProbability).toBe((20 - 1.5 * 10) / 21);
  });

  it('locally rejected calls never reach next', async () => {
    const t = setup();
    t.backend.mode = 'unavailable';
    await t.calls(50);
    t.draw.value = 0;
    expect(await t.calls(200)).toBe(200);
    expect(t.backend.calls).toBe(50);
    expect(t.throttle.stats().requests).toBe(250);
  });

  it('counts retryable outcomes, resolved or rejected, as requests the backend did not accept', async () => {
    const t = setup();
    t.backend.mode = 'unavailable';
    await t.calls(3);
    t.backend.mode = 'refused';
    await t.calls(3);
    expect(t.throttle.stats()).toEqual({ requests: 6, accepts: 0, rejectionProbability: 6 / 7 });
  });

  it('counts ignorable outcomes (caller aborted, client closed) nowhere', async () => {
    const t = setup();
    const controller = new AbortController();
    const aborting: Next<string, string> = () => {
      controller.abort(new Error('caller gave up'));
      return Promise.reject(controller.signal.reason);
    };
    for (let i = 0; i < 10; i++) {
      await t.throttle('req', new CallContext('svc', controller.signal), aborting).catch(() => {});
      await t
        .throttle('req', new CallContext('svc'), () => Promise.reject(new ClientClosedError()))
        .catch(() => {});
    }
    expect(t.throttle.stats()).toEqual({ requests: 0, accepts: 0, rejectionProbability: 0 });
  });

  it('forgets counts older than the window, one second at a time', async () => {
    const t = setup();
    t.backend.mode = 'unavailable';
    await t.calls(20);
    t.clock.advance(60_000);
    await t.calls(10);
    expect(t.throttle.stats().requests).toBe(30);
    t.clock.advance(59_999); // t = 119.999 s: the first second is still in the window
    expect(t.throttle.stats().requests).toBe(30);
    t.clock.advance(1); // t = 120 s
    expect(t.throttle.stats()).toEqual({ requests: 10, accepts: 0, rejectionProbability: 10 / 11 });
    t.clock.advance(60_000);
    expect(t.throttle.stats()).toEqual({ requests: 0, accepts: 0, rejectionProbability: 0 });
    t.draw.value = 0;
    t.backend.mode = 'ok';
    expect(await t.calls(5)).toBe(0);
  });

  it('clears the whole window after a gap longer than it, and keeps counting after', async () => {
    const t = setup({ windowMs: 5_000 });
    t.backend.mode = 'unavailable';
    await t.calls(7);
    t.clock.advance(3_600_000);
    expect(t.throttle.stats().requests).toBe(0);
    await t.calls(2);
    t.clock.advance(4_000);
    await t.calls(1);
    expect(t.throttle.stats()).toEqual({ requests: 3, accepts: 0, rejectionProbability: 3 / 4 });
    t.clock.advance(1_000);
    expect(t.throttle.stats().requests).toBe(1);
  });

  it('lets traffic back in as the backend recovers', async () => {
    const t = setup();
    t.backend.mode = 'unavailable';
    await t.calls(10);
    t.backend.mode = 'ok';
    await t.calls(5);
    expect(t.throttle.stats().rejectionProbability).toBe(5 / 16);
    await t.calls(5);
    expect(t.throttle.stats().rejectionProbability).toBe(0);
    t.draw.value = 0;
    expect(await t.calls(50)).toBe(0);
  });

  it('settles at sending K times what the backend accepts (SRE book)', async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const clock = new VirtualClock();
    const throttle = adaptiveThrottle<string, string>({ clock, random });
    // A backend with room for 10 calls a second, asked for 100 a second: it turns the rest away.
    let second = -1;
    let taken = 0;
    let sent = 0;
    const next: Next<string, string> = (_req, ctx) => {
      sent++;
      const now = Math.floor(clock.now() / 1_000);
      if (now !== second) {
        second = now;
        taken = 0;
      }
      (ctx as CallContext).classification = ++taken <= 10 ? SUCCESS : retryable('status 503');
      return Promise.resolve('');
    };
    let sentInLastMinute = 0;
    for (let s = 0; s < 360; s++) {
      if (s === 300) sentInLastMinute = -sent;
      for (let i = 0; i < 100; i++) {
        await throttle('req', new CallContext('svc'), next).catch(() => {});
        clock.advance(10);
      }
    }
    sentInLastMinute += sent;
    // K = 2: about 20 calls a second reach the backend, 80 are rejected locally.
    expect(sentInLastMinute / 60).toBeGreaterThan(18);
    expect(sentInLastMinute / 60).toBeLessThan(22);
  });
});

describe('adaptive throttle options', () => {
  const cases: [string, unknown][] = [
    ['adaptiveThrottle', 2],
    ['adaptiveThrottle.k', { k: 0.5 }],
    ['adaptiveThrottle.k', { k: Infinity }],
    ['adaptiveThrottle.k', { k: '2' }],
    ['adaptiveThrottle.windowMs', { windowMs: 0 }],
    ['adaptiveThrottle.windowMs', { windowMs: 500 }],
    ['adaptiveThrottle.windowMs', { windowMs: Infinity }],
    ['adaptiveThrottle.random', { random: 0.5 }],
    ['adaptiveThrottle.clock', { clock: {} }],
  ];
  for (const [option, value] of cases) {
    it(`rejects ${JSON.stringify(value)} naming ${option}`, () => {
      expectConfigError(() => adaptiveThrottle(value as AdaptiveThrottleOptions), option);
    });
  }

  it('defaults to K = 2 over 2 minutes', async () => {
    expect(ADAPTIVE_THROTTLE_DEFAULTS).toEqual({ k: 2, windowMs: 120_000 });
    const t = setup();
    t.backend.mode = 'unavailable';
    await t.calls(9);
    t.backend.mode = 'ok';
    await t.calls(3);
    expect(t.throttle.stats().rejectionProbability).toBe((12 - 2 * 3) / 13);
    t.clock.advance(119_000);
    expect(t.throttle.stats().requests).toBe(12);
    t.clock.advance(1_000);
    expect(t.throttle.stats().requests).toBe(0);
  });
});
