/**
 * The protocol-neutral admission core on the virtual clock: the order of its checks (expired,
 * draining, limit), the deadline it hands the handler, how each way a request ends releases its
 * permit (the sample the limit learns), the signal, draining, exclusion, and the option checks.
 */
import { describe, expect, it } from 'vitest';
import { DeadlineExceededError } from '../../src/core/errors.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { fixedLimit } from '../../src/policies/concurrency-limit/fixed.js';
import { AdmittedRequest, ServerAdmission } from '../../src/server/admission.js';
import { Exclusion, pathOf } from '../../src/server/exclusion.js';
import {
  checkServerOptions,
  defaultConcurrencyLimit,
  type WeftServerOptions,
} from '../../src/server/options.js';
import {
  DRAINING_NACK,
  EXPIRED_ON_ARRIVAL,
  NACK_HEADER,
  OVERLOAD_NACK,
  type Rejection,
} from '../../src/server/rejection.js';
import { expectConfigError } from '../support/config-errors.js';
import { RecordingLimit, recordingTelemetry } from './recorder.js';

function setup(options: WeftServerOptions = {}) {
  const clock = new VirtualClock();
  const { plugin, recorded } = recordingTelemetry();
  const admission = new ServerAdmission(checkServerOptions({ clock, telemetry: plugin, ...options }, 'test'));
  return { clock, admission, recorded };
}

function admitted(verdict: AdmittedRequest | Rejection): AdmittedRequest {
  if (!(verdict instanceof AdmittedRequest)) throw new Error(`rejected: ${verdict.kind}`);
  return verdict;
}

describe('admission', () => {
  it('answers a request whose deadline had passed on arrival with 504, before the limit and draining', () => {
    const limit = new RecordingLimit(1);
    const { admission, recorded } = setup({ limit });
    expect(admission.admit('/orders', '0')).toBe(EXPIRED_ON_ARRIVAL);
    expect(EXPIRED_ON_ARRIVAL.status).toBe(504);
    expect(EXPIRED_ON_ARRIVAL.headers[NACK_HEADER]).toBeUndefined();
    expect(recorded.rejected).toEqual([{ route: '/orders', reason: 'expired' }]);
    expect(admission.inflight).toBe(0);
    // The permit was not taken: the next request is admitted.
    admitted(admission.admit('/orders', '100'));
    void admission.drain();
    expect(admission.admit('/orders', ['0'])).toBe(EXPIRED_ON_ARRIVAL);
  });

  it('nacks over the limit with 503, weft-nack and Retry-After: 0, and admits again once a request ends', () => {
    const { admission, recorded } = setup({ limit: fixedLimit(1) });
    const first = admitted(admission.admit('/a', undefined));
    expect(admission.admit('/a', undefined)).toBe(OVERLOAD_NACK);
    expect(OVERLOAD_NACK).toMatchObject({
      status: 503,
      headers: { [NACK_HEADER]: '1', 'retry-after': '0' },
    });
    expect(OVERLOAD_NACK.headers.connection).toBeUndefined();
    expect(recorded.rejected).toEqual([{ route: '/a', reason: 'overload' }]);
    expect(admission.inflight).toBe(1);
    first.finished(200);
    admitted(admission.admit('/a', undefined));
  });

  it('runs the handler with the deadline on the clock, clamped, and reports it', () => {
    const { clock, admission, recorded } = setup({ maxIncomingTimeoutMs: 1_000 });
    clock.advance(500);
    expect(admitted(admission.admit('', '250')).context.deadline).toBe(750);
    expect(admitted(admission.admit('', '999999')).context.deadline).toBe(1_500);
    // None, or malformed: no deadline, nothing reported.
    expect(admitted(admission.admit('', undefined)).context.deadline).toBe(Number.POSITIVE_INFINITY);
    expect(admitted(admission.admit('', '-5')).context.deadline).toBe(Number.POSITIVE_INFINITY);
    expect(recorded.deadlines).toEqual([250, 1_000]);
    expect(admitted(admission.admit('', undefined)).context.clock).toBe(clock);
  });

  it('bounds the deadline by a handler timeout and follows its signal', () => {
    const { admission } = setup();
    const controller = new AbortController();
    const request = admitted(admission.admit('', '500', { timeoutMs: 100, signal: controller.signal }));
    expect(request.context.deadline).toBe(100);
    expect(request.context.signal?.aborted).toBe(false);
    controller.abort(new Error('handler timeout'));
    expect(request.context.signal?.aborted).toBe(true);
    expect(
      admitted(admission.admit('', '50', { timeoutMs: 100, signal: controller.signal })).context.deadline,
    ).toBe(50);
  });

  describe('how a request ends, as the limit learns it', () => {
    it('success: answered in time, whatever the status', () => {
      const limit = new RecordingLimit(10);
      const { clock, admission, recorded } = setup({ limit });
      const request = admitted(admission.admit('/a', '1000'));
      clock.advance(40);
      request.finished(404);
      expect(limit.samples).toEqual([{ startMs: 0, rttMs: 40, inflight: 1, dropped: false }]);
      expect(recorded.finished).toEqual([{ route: '/a', status: 404, durationMs: 40 }]);
      expect(admission.inflight).toBe(0);
    });

    it('dropped: answered after the deadline, with 504, or after a DeadlineExceededError', () => {
      const limit = new RecordingLimit(10);
      const { clock, admission } = setup({ limit });
      const late = admitted(admission.admit('', '100'));
      const gatewayTimeout = admitted(admission.admit('', undefined));
      const deadlineError = admitted(admission.admit('', undefined));
      clock.advance(150);
      late.finished(200);
      gatewayTimeout.finished(504);
      deadlineError.handlerThrew(new DeadlineExceededError(100));
      deadlineError.finished(500);
      expect(limit.samples.map((s) => s.dropped)).toEqual([true, true, true]);
    });

    it('ignore: the handler threw something else; no sample', () => {
      const limit = new RecordingLimit(10);
      const { admission, recorded } = setup({ limit });
      const request = admitted(admission.admit('/a', undefined));
      request.handlerThrew(new Error('boom'));
      request.finished(500);
      expect(limit.samples).toEqual([]);
      expect(recorded.finished).toEqual([{ route: '/a', status: 500, durationMs: 0 }]);
      expect(admission.inflight).toBe(0);
    });

    it('dropped: the caller went away; status 0; the signal aborts with an AbortError', () => {
      const limit = new RecordingLimit(10);
      const { clock, admission, recorded } = setup({ limit });
      const request = admitted(admission.admit('', undefined));
      request.route = '/learned/:later';
      clock.advance(7);
      request.callerGone();
      request.finished(200); // once only
      expect(limit.samples).toEqual([{ startMs: 0, rttMs: 7, inflight: 1, dropped: true }]);
      expect(recorded.finished).toEqual([{ route: '/learned/:later', status: 0, durationMs: 7 }]);
      expect(request.context.signal?.aborted).toBe(true);
      expect((request.context.signal!.reason as DOMException).name).toBe('AbortError');
      expect((request.context.signal!.reason as DOMException).message).toContain('went away');
    });

    it('the signal also aborts once the request has been answered', () => {
      const { admission } = setup();
      const request = admitted(admission.admit('', undefined));
      expect(request.context.signal?.aborted).toBe(false);
      request.finished(200);
      expect((request.context.signal!.reason as DOMException).message).toContain('answered');
    });
  });

  it('drains: new requests nacked with the connection closed, resolves when the last one ends', async () => {
    const { admission, recorded } = setup({ limit: false });
    const a = admitted(admission.admit('', undefined));
    const b = admitted(admission.admit('', undefined));
    let drained = false;
    const draining = admission.drain().then(() => {
      drained = true;
    });
    expect(admission.drain()).toBe(admission.drain());
    expect(admission.draining).toBe(true);
    expect(admission.admit('/x', undefined)).toBe(DRAINING_NACK);
    expect(DRAINING_NACK).toMatchObject({
      status: 503,
      headers: { [NACK_HEADER]: '1', 'retry-after': '0', connection: 'close' },
    });
    expect(recorded.rejected).toEqual([{ route: '/x', reason: 'draining' }]);
    a.finished(200);
    await Promise.resolve();
    expect(drained).toBe(false);
    b.callerGone();
    await draining;
    expect(drained).toBe(true);
    await admission.close();
    await admission.close();
    expect(recorded.closed).toBe(1);
  });

  it('a drain with nothing in flight resolves at once', async () => {
    const { admission } = setup();
    await admission.drain();
    expect(admission.admit('', undefined)).toBe(DRAINING_NACK);
  });

  it('shows the limiter to telemetry; none with limit: false', () => {
    const { admission, recorded } = setup({ limit: fixedLimit(3) });
    expect(recorded.server).toBe(admission);
    expect([admission.name, admission.limit, admission.algorithm, admission.draining]).toEqual([
      'test',
      3,
      'fixed',
      false,
    ]);
    const none = setup({ limit: false }).admission;
    expect([none.limit, none.algorithm]).toEqual([undefined, undefined]);
    for (let i = 0; i < 50; i++) admitted(none.admit('', undefined));
    expect(none.inflight).toBe(50);
  });

  it('uses the default limit without a limit option', () => {
    const { admission } = setup();
    const expected = defaultConcurrencyLimit();
    expect([admission.limit, admission.algorithm]).toEqual([expected.limit, expected.name]);
  });

  it('reports a throwing telemetry hook as a warning and goes on', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const admission = new ServerAdmission(
        checkServerOptions(
          {
            telemetry: {
              attach: () => ({
                requestRejected: () => {
                  throw new Error('broken hook');
                },
              }),
            },
          },
          'test',
        ),
      );
      expect(admission.admit('', '0')).toBe(EXPIRED_ON_ARRIVAL);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.join('\n')).toContain('broken hook');
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('the weft-timeout-ms header as admission reads it', () => {
  it('reads plain digits on its fast path exactly as the general rule (trim, then 1 to 32 digits)', () => {
    const { admission } = setup({ limit: false, maxIncomingTimeoutMs: 1e20 });
    const deadline = (header: string) => {
      const verdict = admission.admit('', header);
      return verdict instanceof AdmittedRequest ? verdict.deadline : verdict.kind;
    };
    // Up to 15 digits the fast path adds them up; from 16 the general path reads them.
    expect(deadline('000250')).toBe(250);
    expect(deadline('123456789012345')).toBe(123456789012345);
    expect(deadline('1234567890123456')).toBe(1234567890123456);
    expect(deadline('0')).toBe('expired');
    // Anything but digits leaves the fast path: trimmed, or ignored (no deadline).
    expect(deadline(' 250')).toBe(250);
    expect(deadline('250\t')).toBe(250);
    for (const bad of ['25a', '/25', ':25', '-1', '2.5', '', ' ']) expect(deadline(bad)).toBe(Infinity);
  });
});

describe('exclusion', () => {
  it('matches exact paths, route templates and RegExps, without the query', () => {
    const exclusion = new Exclusion(['/healthz', '/users/:id', /^\/metrics/g]);
    expect(exclusion.excludes(pathOf('/healthz?full=1'))).toBe(true);
    expect(exclusion.excludes('/healthz/deep')).toBe(false);
    expect(exclusion.excludes('/users/7', '/users/:id')).toBe(true);
    expect(exclusion.excludes('/users/7')).toBe(false);
    // A global RegExp would alternate true and false on its lastIndex; the copy does not.
    for (let i = 0; i < 3; i++) expect(exclusion.excludes('/metrics')).toBe(true);
    expect(new Exclusion([]).excludes('/healthz')).toBe(false);
    expect(pathOf(undefined)).toBe('/');
  });
});

describe('options', () => {
  it('throws a ConfigError naming the option', () => {
    expectConfigError(() => checkServerOptions({ limt: fixedLimit(1) }, 'x'), 'limt');
    expectConfigError(() => checkServerOptions({ limit: 5 }, 'x'), 'limit');
    expectConfigError(
      () => checkServerOptions({ limit: { name: 'x', limit: 0, update() {} } }, 'x'),
      'limit',
    );
    expectConfigError(() => checkServerOptions({ limit: true }, 'x'), 'limit');
    expectConfigError(() => checkServerOptions({ exclude: '/healthz' }, 'x'), 'exclude');
    expectConfigError(() => checkServerOptions({ exclude: ['/ok', 'healthz'] }, 'x'), 'exclude[1]');
    expectConfigError(() => checkServerOptions({ maxIncomingTimeoutMs: 0 }, 'x'), 'maxIncomingTimeoutMs');
    expectConfigError(() => checkServerOptions({ clock: {} }, 'x'), 'clock');
    expectConfigError(() => checkServerOptions({ name: '' }, 'x'), 'name');
    expectConfigError(() => checkServerOptions({ telemetry: {} }, 'x'), 'telemetry');
    expectConfigError(
      () => checkServerOptions({ telemetry: [recordingTelemetry().plugin, 1] }, 'x'),
      'telemetry[1]',
    );
    expectConfigError(() => checkServerOptions(null, 'x'), 'options');
    const unknown = expectConfigError(
      () => checkServerOptions({ maxIncomingTimeout: 5 }, 'x'),
      'maxIncomingTimeout',
    );
    expect(unknown.message).toContain('did you mean `maxIncomingTimeoutMs`?');
  });

  it('fills in the defaults', () => {
    const config = checkServerOptions(undefined, 'express');
    expect(config).toMatchObject({
      name: 'express',
      exclude: [],
      maxIncomingTimeoutMs: 300_000,
      telemetry: [],
    });
    expect(config.limit).toBeDefined();
    expect(checkServerOptions({ limit: false }, 'x').limit).toBeUndefined();
  });
});
