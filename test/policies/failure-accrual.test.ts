/**
 * Failure accrual on the virtual clock, with a fake endpoint settled by hand (it sets
 * ctx.classification as the classify layer would): both triggers and their thresholds, the
 * sliding window, exact jittered ejection times and their growth to the cap, one probe at a time,
 * fail-open traffic, the shared ejection cap, close(), and option validation.
 */

import { describe, expect, it } from 'vitest';
import { failure, IGNORABLE, type ResponseClass, retryable, SUCCESS } from '../../src/core/classification.js';
import { CallContext } from '../../src/core/context.js';
import { ConfigError } from '../../src/core/errors.js';
import { NACK_REASON } from '../../src/core/nack.js';
import type { Service, ServiceStatus } from '../../src/core/service.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { createEndpoint } from '../../src/discovery/endpoint.js';
import {
  FAILURE_ACCRUAL_DEFAULTS,
  type FailureAccrualOptions,
  type FailureAccrualService,
  failureAccrual,
} from '../../src/policies/failure-accrual.js';

const FAIL = failure('status 500');
const RETRY = retryable('status 503');

/** One request held by the fake endpoint until the test settles it. */
interface Pending {
  /** Settle as the classify layer would: set the class, then resolve (or reject). */
  settle(cls: ResponseClass | undefined, reject?: boolean): void;
}

/** An endpoint's transport that answers only when told to. */
class FakeEndpoint implements Service<string, string> {
  status: ServiceStatus = 'open';
  readonly pending: Pending[] = [];
  closeCalls = 0;

  call(_req: string, ctx: CallContext): Promise<string> {
    return new Promise((resolve, reject) => {
      this.pending.push({
        settle(cls, rejectIt = false) {
          if (cls !== undefined) ctx.classification = cls; // undefined: no classify layer
          if (rejectIt) reject(new Error(cls?.reason ?? 'boom'));
          else resolve('ok');
        },
      });
    });
  }

  close(): Promise<void> {
    this.closeCalls++;
    this.status = 'closed';
    return Promise.resolve();
  }
}

interface Harness {
  clock: VirtualClock;
  fake: FakeEndpoint;
  service: FailureAccrualService<string, string>;
  events: string[];
}

function setup(options: FailureAccrualOptions = {}, address = '10.0.0.1:80'): Harness {
  const clock = new VirtualClock();
  const events: string[] = [];
  const layer = failureAccrual<string, string>({ clock, random: () => 0, ...hooks(events), ...options });
  const fake = new FakeEndpoint();
  const service = layer(fake, endpoint(address));
  return { clock, fake, service, events };
}

function hooks(events: string[]): FailureAccrualOptions {
  return {
    onEject: (address, until) => events.push(`eject ${address} until ${until}`),
    onProbe: (address) => events.push(`probe ${address}`),
    onReturn: (address) => events.push(`return ${address}`),
  };
}

function endpoint(address: string) {
  const [host, port] = address.split(':');
  return createEndpoint(host!, Number(port));
}

/** Start a request; returns a function that settles it and waits for failure accrual to see it. */
function start(
  service: Service<string, string>,
  fake: FakeEndpoint,
  ctx = new CallContext('svc'),
): (cls: ResponseClass | undefined, reject?: boolean) => Promise<void> {
  // Report the outcome as the balancer does (Service.settled), once the call has settled.
  const done = service.call('req', ctx).then(
    (value) => service.settled?.(ctx, value, false),
    (error: unknown) => service.settled?.(ctx, error, true),
  );
  const pending = fake.pending.shift();
  if (pending === undefined) throw new Error('the request did not reach the endpoint');
  return async (cls, reject = false) => {
    pending.settle(cls, reject);
    await done;
  };
}

/** Run requests one after another, each settled at once with the given class. */
async function run(service: Service<string, string>, fake: FakeEndpoint, classes: ResponseClass[]) {
  for (const cls of classes) await start(service, fake)(cls, cls.kind === 'retryable');
}

const times = (n: number, cls: ResponseClass): ResponseClass[] => Array.from({ length: n }, () => cls);

describe('failure accrual: consecutive failures', () => {
  it('ejects after 5 consecutive failures (failure and retryable alike), not after 4', async () => {
    const { fake, service, events } = setup({ minSuccessRate: 0 }); // the rate trigger off
    await run(service, fake, [FAIL, RETRY, FAIL, RETRY]);
    expect(service.status).toBe('open');
    expect(service.accrual).toEqual({ state: 'alive', ejections: 0, consecutiveFailures: 4 });
    await run(service, fake, [SUCCESS]); // a success breaks the streak
    await run(service, fake, times(4, FAIL));
    expect(service.status).toBe('open');
    await run(service, fake, [RETRY]);
    expect(service.status).toBe('busy');
    expect(service.accrual).toEqual({
      state: 'dead',
      ejections: 1,
      consecutiveFailures: 5,
      ejectedUntil: 5_000,
    });
    expect(events).toEqual(['eject 10.0.0.1:80 until 5000']);
  });

  it('without a classification, a resolved call is a success and a rejected one a failure', async () => {
    const { fake, service } = setup();
    for (let i = 0; i < 4; i++) await start(service, fake)(undefined, true);
    await start(service, fake)(undefined, false);
    expect(service.accrual.consecutiveFailures).toBe(0);
    // A classification left on the context by an earlier attempt is not this attempt's.
    const ctx = new CallContext('svc');
    ctx.classification = FAIL;
    for (let i = 0; i < 5; i++) await start(service, fake, ctx)(undefined, false);
    expect(service.status).toBe('open');
    for (let i = 0; i < 5; i++) await start(service, fake)(undefined, true);
    expect(service.status).toBe('busy');
  });

  it('does not count ignorable outcomes: they neither break a streak nor fill the window', async () => {
    const { fake, service } = setup();
    await run(service, fake, [...times(4, FAIL), ...times(10, IGNORABLE)]);
    expect(service.accrual.consecutiveFailures).toBe(4);
    await run(service, fake, [FAIL]);
    expect(service.status).toBe('busy');

    const rate = setup({ consecutiveFailures: Number.POSITIVE_INFINITY });
    await run(rate.service, rate.fake, [...times(10, IGNORABLE), ...times(4, FAIL)]);
    expect(rate.service.status).toBe('open'); // 4 counted requests < minRequests 5
    await run(rate.service, rate.fake, [FAIL]);
    expect(rate.service.status).toBe('busy');
  });
});

describe('failure accrual: nacks', () => {
  it('does not count a nack (the endpoint is alive and full): it neither ejects nor breaks a streak', async () => {
    const NACK = retryable(NACK_REASON, true, 0);
    const { fake, service } = setup();
    await run(service, fake, times(20, NACK));
    expect(service.status).toBe('open');
    expect(service.accrual.consecutiveFailures).toBe(0);
    await run(service, fake, [...times(4, FAIL), NACK]);
    expect(service.accrual.consecutiveFailures).toBe(4);
    // A requeue that is not a nack (a refused connection) still counts.
    await run(service, fake, [retryable('ECONNREFUSED', true)]);
    expect(service.status).toBe('busy');
  });
});

describe('failure accrual: success rate', () => {
  it('ejects when the success rate falls below 0.8 with at least 5 requests; exactly 0.8 stays', async () => {
    const { fake, service } = setup();
    await run(service, fake, [SUCCESS, FAIL, SUCCESS, FAIL]);
    expect(service.status).toBe('open'); // 50%, but only 4 requests
    const other = setup();
    await run(other.service, other.fake, [SUCCESS, SUCCESS, SUCCESS, SUCCESS, FAIL]);
    expect(other.service.status).toBe('open'); // 4/5 = 0.8 is not below 0.8
    await run(other.service, other.fake, [SUCCESS, SUCCESS, FAIL]);
    expect(other.service.status).toBe('busy'); // 6/8 = 0.75
    expect(other.service.accrual.consecutiveFailures).toBe(1);
    await run(service, fake, [FAIL]);
    expect(service.status).toBe('busy'); // 2/5 = 0.4
  });

  it('70% success over 20 requests: nothing below minRequests, ejected on the next failure', async () => {
    const { fake, service } = setup({ minRequests: 20 });
    const pattern = [...Array.from({ length: 6 }).flatMap(() => [SUCCESS, SUCCESS, FAIL]), SUCCESS, SUCCESS];
    expect(pattern).toHaveLength(20);
    await run(service, fake, pattern); // 14/20, never two failures in a row
    expect(service.status).toBe('open');
    await run(service, fake, [FAIL]);
    expect(service.status).toBe('busy'); // 14/21
  });

  it('slides: failures older than the 30 s window are forgotten', async () => {
    for (const [gapMs, ejected] of [
      [29_999, true],
      [30_000, false],
    ] as const) {
      const { clock, fake, service } = setup({ consecutiveFailures: Number.POSITIVE_INFINITY });
      await run(service, fake, times(3, FAIL));
      clock.advance(gapMs);
      await run(service, fake, times(2, FAIL));
      expect(service.status).toBe(ejected ? 'busy' : 'open');
    }
    // Old failures no longer drag the rate down either.
    const { clock, fake, service } = setup({ consecutiveFailures: Number.POSITIVE_INFINITY });
    await run(service, fake, times(4, FAIL));
    clock.advance(31_000);
    await run(service, fake, [...times(16, SUCCESS), FAIL]);
    expect(service.status).toBe('open'); // 16/17, the 4 old failures are gone
  });
});

describe('failure accrual: ejection, probe, return', () => {
  it('is busy for exactly the jittered time, then open, with no timer', async () => {
    const { clock, fake, service, events } = setup({ random: () => 0.5 });
    await run(service, fake, times(5, FAIL));
    expect(events).toEqual(['eject 10.0.0.1:80 until 7500']); // 5 s * (1 + 0.5)
    clock.advance(7_499);
    expect(service.status).toBe('busy');
    clock.advance(1);
    expect(service.status).toBe('open');
    expect(service.accrual.state).toBe('probe-open');
    expect(clock.pendingTimers).toBe(0);
  });

  it('admits exactly one probe, busy while it runs; its success returns it and resets all', async () => {
    const { clock, fake, service, events } = setup();
    await run(service, fake, times(5, FAIL));
    clock.advance(5_000);
    expect(service.status).toBe('open');
    const probe = start(service, fake);
    expect(service.status).toBe('busy');
    expect(service.accrual.state).toBe('probe-closed');
    // Fail-open traffic while the probe runs is not a probe, and its failure changes nothing.
    await start(service, fake)(FAIL);
    expect(service.accrual.state).toBe('probe-closed');
    expect(events.filter((e) => e.startsWith('probe'))).toEqual(['probe 10.0.0.1:80']);
    await probe(SUCCESS);
    expect(service.status).toBe('open');
    expect(service.accrual).toEqual({ state: 'alive', ejections: 1, consecutiveFailures: 0 });
    expect(events.at(-1)).toBe('return 10.0.0.1:80');
    // Counters, window and backoff were reset: 4 failures do nothing, the 5th ejects for 5 s again.
    await run(service, fake, times(4, FAIL));
    expect(service.status).toBe('open');
    await run(service, fake, [FAIL]);
    expect(events.at(-1)).toBe(`eject 10.0.0.1:80 until ${clock.now() + 5_000}`);
  });

  it('a failed probe ejects again for twice as long, up to the 300 s cap', async () => {
    const { clock, fake, service, events } = setup();
    await run(service, fake, times(5, FAIL));
    const durations: number[] = [];
    let until = 5_000;
    durations.push(until - clock.now());
    for (let i = 0; i < 7; i++) {
      clock.advance(until - clock.now() - 1);
      expect(service.status).toBe('busy');
      clock.advance(1);
      await start(service, fake)(FAIL);
      expect(service.status).toBe('busy');
      until = service.accrual.ejectedUntil!;
      durations.push(until - clock.now());
    }
    expect(durations).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    expect(service.accrual.ejections).toBe(8);
    expect(events.filter((e) => e.startsWith('probe'))).toHaveLength(7);
  });

  it('jitter stays in [base, 2 * base) and the cap clamps it', async () => {
    const { clock, fake, service } = setup({ random: () => 0.999 });
    await run(service, fake, times(5, FAIL));
    expect(service.accrual.ejectedUntil).toBe(9_995);
    const durations: number[] = [];
    for (let i = 0; i < 6; i++) {
      clock.advance(service.accrual.ejectedUntil! - clock.now());
      await start(service, fake)(FAIL);
      durations.push(service.accrual.ejectedUntil! - clock.now());
    }
    expect(durations).toEqual([19_990, 39_980, 79_960, 159_920, 300_000, 300_000]);
  });

  it('an ignorable probe says nothing: the next request is the probe', async () => {
    const { clock, fake, service, events } = setup();
    await run(service, fake, times(5, FAIL));
    clock.advance(5_000);
    await start(service, fake)(IGNORABLE, true);
    expect(service.status).toBe('open');
    expect(service.accrual.state).toBe('probe-open');
    const probe = start(service, fake);
    expect(service.status).toBe('busy');
    await probe(SUCCESS);
    expect(service.accrual.state).toBe('alive');
    expect(events.filter((e) => e.startsWith('probe'))).toHaveLength(2);
  });

  it('fail-open: a success sent after the ejection returns it; one sent before does not', async () => {
    const { clock, fake, service, events } = setup();
    const early = start(service, fake); // in flight when the endpoint is judged
    await run(service, fake, times(5, FAIL));
    await early(SUCCESS);
    expect(service.accrual.state).toBe('dead');
    expect(service.accrual.consecutiveFailures).toBe(0); // counted, but no return
    // Failures sent while dead count and do not extend the ejection.
    clock.advance(1_000);
    await run(service, fake, times(10, FAIL));
    expect(service.accrual).toEqual({
      state: 'dead',
      ejections: 1,
      consecutiveFailures: 10,
      ejectedUntil: 5_000,
    });
    await start(service, fake)(SUCCESS);
    expect(service.status).toBe('open');
    expect(service.accrual.state).toBe('alive');
    expect(events).toEqual(['eject 10.0.0.1:80 until 5000', 'return 10.0.0.1:80']);
  });

  it('status passes through what the service below says', async () => {
    const { clock, fake, service } = setup();
    fake.status = 'busy';
    expect(service.status).toBe('busy');
    fake.status = 'open';
    await run(service, fake, times(5, FAIL));
    clock.advance(5_000);
    fake.status = 'busy';
    expect(service.status).toBe('busy');
    fake.status = 'closed';
    expect(service.status).toBe('closed');
  });
});

describe('failure accrual: the ejection cap', () => {
  function cluster(n: number, options: FailureAccrualOptions = {}) {
    const clock = new VirtualClock();
    const events: string[] = [];
    const layer = failureAccrual<string, string>({ clock, random: () => 0, ...hooks(events), ...options });
    const nodes = Array.from({ length: n }, (_, i) => {
      const fake = new FakeEndpoint();
      return { fake, service: layer(fake, endpoint(`10.0.0.${i + 1}:80`)) };
    });
    return { clock, events, layer, nodes };
  }

  it('ejects at most 50% of 4 endpoints; the third waits and is ejected as soon as one returns', async () => {
    const { clock, events, layer, nodes } = cluster(4);
    const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    await run(a.service, a.fake, times(5, FAIL));
    clock.advance(1_000);
    await run(b.service, b.fake, times(5, FAIL));
    await run(c.service, c.fake, times(6, FAIL));
    expect([a.service.status, b.service.status, c.service.status]).toEqual(['busy', 'busy', 'open']);
    expect(c.service.accrual).toEqual({ state: 'alive', ejections: 0, consecutiveFailures: 6 });
    expect(layer.ejectionBudget).toMatchObject({ ejected: 2, endpoints: 4, limit: 2, waiting: 1 });
    clock.advance(4_000);
    await start(a.service, a.fake)(SUCCESS); // a's probe succeeds: its slot goes to c at once
    expect(a.service.status).toBe('open');
    expect(c.service.status).toBe('busy');
    expect(events).toEqual([
      'eject 10.0.0.1:80 until 5000',
      'eject 10.0.0.2:80 until 6000',
      'probe 10.0.0.1:80',
      'return 10.0.0.1:80',
      'eject 10.0.0.3:80 until 10000',
    ]);
    expect(layer.ejectionBudget).toMatchObject({ ejected: 2, waiting: 0 });
  });

  it('an endpoint that recovered while waiting is not ejected when a slot frees', async () => {
    const { clock, layer, nodes } = cluster(2);
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    await run(a.service, a.fake, times(5, FAIL));
    await run(b.service, b.fake, times(5, FAIL));
    expect(b.service.status).toBe('open');
    await run(b.service, b.fake, times(20, SUCCESS)); // 20/25 = 0.8, streak broken
    clock.advance(5_000);
    await start(a.service, a.fake)(SUCCESS);
    expect(b.service.status).toBe('open');
    expect(layer.ejectionBudget).toMatchObject({ ejected: 0, waiting: 0 });
  });

  it('always allows one ejection: a single endpoint, or a percentage of 0', async () => {
    for (const [n, percent] of [
      [1, 50],
      [4, 0],
    ] as const) {
      const { layer, nodes } = cluster(n, { maxEjectionPercent: percent });
      const [a, b] = nodes;
      await run(a!.service, a!.fake, times(5, FAIL));
      expect(a!.service.status).toBe('busy');
      if (b !== undefined) {
        await run(b.service, b.fake, times(5, FAIL));
        expect(b.service.status).toBe('open');
      }
      expect(layer.ejectionBudget.ejected).toBe(1);
    }
  });

  it('close() passes through, releases the slot and forgets the endpoint', async () => {
    const { layer, nodes } = cluster(2);
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    await run(a.service, a.fake, times(5, FAIL));
    await run(b.service, b.fake, times(5, FAIL));
    expect(b.service.status).toBe('open'); // 1 of 2 may be ejected
    await a.service.close();
    expect(a.fake.closeCalls).toBe(1);
    expect(a.service.status).toBe('closed');
    expect(b.service.status).toBe('busy'); // a's slot went to b
    expect(layer.ejectionBudget).toMatchObject({ ejected: 1, endpoints: 1 });
    await b.service.close();
    expect(layer.ejectionBudget).toMatchObject({ ejected: 0, endpoints: 0, waiting: 0 });
  });

  it('a response that arrives after close() takes no slot', async () => {
    const { layer, nodes } = cluster(2);
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    await run(a.service, a.fake, times(4, FAIL));
    const late = start(a.service, a.fake);
    await a.service.close();
    await late(FAIL); // the 5th failure, after a left discovery
    expect(layer.ejectionBudget).toMatchObject({ ejected: 0, endpoints: 1 });
    await run(b.service, b.fake, times(5, FAIL));
    expect(b.service.status).toBe('busy'); // the one slot was still free
  });
});

describe('failure accrual: options', () => {
  it('has the documented defaults', () => {
    expect(FAILURE_ACCRUAL_DEFAULTS).toEqual({
      consecutiveFailures: 5,
      minSuccessRate: 0.8,
      windowMs: 30_000,
      minRequests: 5,
      minEjectionMs: 5_000,
      maxEjectionMs: 300_000,
      maxEjectionPercent: 50,
    });
  });

  it('names the invalid option in a ConfigError', () => {
    const cases: [FailureAccrualOptions | unknown, string][] = [
      [null, 'failureAccrual'],
      [[], 'failureAccrual'],
      [{ consecutiveFailures: 0 }, 'failureAccrual.consecutiveFailures'],
      [{ consecutiveFailures: 2.5 }, 'failureAccrual.consecutiveFailures'],
      [{ minSuccessRate: 1.1 }, 'failureAccrual.minSuccessRate'],
      [{ minSuccessRate: Number.NaN }, 'failureAccrual.minSuccessRate'],
      [{ windowMs: 0 }, 'failureAccrual.windowMs'],
      [{ windowMs: Number.POSITIVE_INFINITY }, 'failureAccrual.windowMs'],
      [{ minRequests: 0 }, 'failureAccrual.minRequests'],
      [{ minEjectionMs: -1 }, 'failureAccrual.minEjectionMs'],
      [{ maxEjectionMs: '300s' }, 'failureAccrual.maxEjectionMs'],
      [{ minEjectionMs: 10_000, maxEjectionMs: 5_000 }, 'failureAccrual.maxEjectionMs'],
      [{ maxEjectionPercent: 101 }, 'failureAccrual.maxEjectionPercent'],
      [{ random: 0.5 }, 'failureAccrual.random'],
      [{ clock: {} }, 'failureAccrual.clock'],
      [{ onEject: 'log' }, 'failureAccrual.onEject'],
      [{ onProbe: 1 }, 'failureAccrual.onProbe'],
      [{ onReturn: true }, 'failureAccrual.onReturn'],
    ];
    for (const [options, option] of cases) {
      let caught: unknown;
      try {
        failureAccrual(options as FailureAccrualOptions);
      } catch (error) {
        caught = error;
      }
      expect(caught, option).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).option).toBe(option);
    }
    expect(() =>
      failureAccrual({ consecutiveFailures: Number.POSITIVE_INFINITY, minSuccessRate: 0 }),
    ).not.toThrow();
    expect(() => failureAccrual({ minEjectionMs: 600_000 })).not.toThrow(); // the cap follows the minimum
  });

  it('a hook that throws is reported as a warning and does not break the call', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const { fake, service } = setup({
        onEject: () => {
          throw new Error('hook bug');
        },
      });
      await run(service, fake, times(4, FAIL));
      const ctx = new CallContext('svc');
      const last = service.call('req', ctx);
      fake.pending.shift()!.settle(FAIL); // the 5th failure: its report ejects, and the hook throws
      await expect(last).resolves.toBe('ok');
      expect(() => service.settled?.(ctx, 'ok', false)).not.toThrow();
      expect(service.status).toBe('busy');
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.some((w) => w.includes('failureAccrual.onEject threw') && w.includes('hook bug'))).toBe(
        true,
      );
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('failure accrual: events', () => {
  it('tell ejections, probes and returns to every listener, after the option hooks, until unsubscribed', async () => {
    const clock = new VirtualClock();
    const told: string[] = [];
    const layer = failureAccrual<string, string>({ clock, random: () => 0, ...hooks(told) });
    const stop = layer.onEject(({ address, untilMs }) =>
      told.push(`event: eject ${address} until ${untilMs}`),
    );
    layer.onProbe((address) => told.push(`event: probe ${address}`));
    layer.onReturn((address) => told.push(`event: return ${address}`));
    const fake = new FakeEndpoint();
    const service = layer(fake, endpoint('10.0.0.1:80'));
    await run(service, fake, times(5, FAIL));
    clock.advance(5_000);
    await run(service, fake, [SUCCESS]);
    stop();
    await run(service, fake, times(5, FAIL));
    expect(told).toEqual([
      'eject 10.0.0.1:80 until 5000',
      'event: eject 10.0.0.1:80 until 5000',
      'probe 10.0.0.1:80',
      'event: probe 10.0.0.1:80',
      'return 10.0.0.1:80',
      'event: return 10.0.0.1:80',
      'eject 10.0.0.1:80 until 10000',
    ]);
  });
});
