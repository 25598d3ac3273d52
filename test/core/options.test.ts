/**
 * Unknown options: the mechanism (key lists, "did you mean", the error it throws) and every
 * options object a user passes to a weft factory, each of which must reject a key it does not know
 * instead of ignoring it.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ADMIN_DEFAULTS } from '../../src/admin.js';
import {
  clockOption,
  closestKey,
  editDistance,
  functionOption,
  optionKeys,
  rejectUnknownKeys,
} from '../../src/core/options.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import {
  ConfigError,
  createAdminHandler,
  createRoutingAgent,
  dnsResolver,
  p2cLeastLoaded,
  p2cPeakEwma,
  runWithIncomingDeadline,
  startAdminServer,
  staticResolver,
} from '../../src/index.js';
import { openTelemetryTracing } from '../../src/opentelemetry.js';
import { HEDGE_OPTION_KEYS, hedgeFilter } from '../../src/policies/hedge.js';
import {
  adaptiveThrottle,
  circuitBreaker,
  failureAccrual,
  RetryBudget,
  realClock,
} from '../../src/policies.js';
import { prometheusMetrics } from '../../src/prometheus.js';
import { expectConfigError } from '../support/config-errors.js';

describe('closestKey and editDistance', () => {
  it('counts insertions, deletions, substitutions and swaps of neighbours as one edit each', () => {
    expect(editDistance('maxAttempt', 'maxAttempts')).toBe(1);
    expect(editDistance('hegde', 'hedge')).toBe(1);
    expect(editDistance('retries', 'retry')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });

  it('ignores case, "_" and "-", and takes a known prefix as one edit', () => {
    const keys = ['timeoutMs', 'attemptTimeoutMs', 'retry', 'endpoints', 'host', 'name'];
    expect(closestKey('timeoutMS', keys)).toBe('timeoutMs');
    expect(closestKey('timeout_ms', keys)).toBe('timeoutMs');
    expect(closestKey('timeout', keys)).toBe('timeoutMs');
    expect(closestKey('retries', keys)).toBe('retry');
    expect(closestKey('endpoint', keys)).toBe('endpoints');
    expect(closestKey('hostname', keys)).toBe('host');
  });

  it('suggests nothing when no key is close', () => {
    const keys = ['timeoutMs', 'retry', 'name'];
    expect(closestKey('maxAttempts', keys)).toBeUndefined();
    expect(closestKey('x', keys)).toBeUndefined();
    expect(closestKey('colour', keys)).toBeUndefined();
  });
});

describe('clockOption and functionOption', () => {
  it('a Clock has now, setTimeout and clearTimeout; undefined gives the fallback', () => {
    const clock = new VirtualClock();
    expect(clockOption('x.clock', clock)).toBe(clock);
    expect(clockOption('x.clock', undefined, clock)).toBe(clock);
    expect(clockOption('x.clock', undefined).now).toBeTypeOf('function');
    for (const bad of [null, {}, 'now', { now: () => 0 }, { now: () => 0, setTimeout: () => ({}) }]) {
      expect(() => clockOption('x.clock', bad)).toThrow(
        expect.objectContaining({ name: 'ConfigError', option: 'x.clock' }),
      );
    }
  });

  it('an optional hook may be left out', () => {
    const hook = () => {};
    expect(functionOption('x.onEject', undefined, undefined)).toBeUndefined();
    expect(functionOption('x.onEject', hook, undefined)).toBe(hook);
    expect(() => functionOption('x.onEject', 'log', undefined)).toThrow(
      expect.objectContaining({ name: 'ConfigError', option: 'x.onEject' }),
    );
  });
});

describe('rejectUnknownKeys', () => {
  interface Example {
    timeoutMs?: number;
    retry?: boolean;
  }
  const keys = optionKeys<Example>({ timeoutMs: true, retry: true });

  it('accepts known keys, set or undefined', () => {
    expect(() => rejectUnknownKeys('', { timeoutMs: 1, retry: undefined }, keys)).not.toThrow();
    expect(() => rejectUnknownKeys('', {}, keys)).not.toThrow();
  });

  it('names the unknown key with its path and the known key it resembles', () => {
    const error = expectConfigError(() => rejectUnknownKeys('', { timeoutMS: 5 }, keys), 'timeoutMS');
    expect(error.message).toBe('unknown option `timeoutMS`; did you mean `timeoutMs`?');
    expect(error.code).toBe('WEFT_CONFIG');
    const nested = expectConfigError(
      () => rejectUnknownKeys('client', { retries: 2 }, keys),
      'client.retries',
    );
    expect(nested.message).toBe('unknown option `client.retries`; did you mean `client.retry`?');
  });

  it('lists the known keys when none is close, and keeps no value (it may be a misspelled secret)', () => {
    const error = expectConfigError(() => rejectUnknownKeys('', { password: 'hunter2' }, keys), 'password');
    expect(error.message).toBe('unknown option `password`; the options are: `timeoutMs`, `retry`');
    expect(error.value).toBeUndefined();
  });

  it('rejects an unknown key even when its value is undefined', () => {
    expectConfigError(() => rejectUnknownKeys('', { timeoutMS: undefined }, keys), 'timeoutMS');
  });
});

describe('every factory rejects an unknown option', () => {
  const clock = realClock;
  const client = { endpoints: () => [] } as never;
  const cases: Array<[string, () => unknown, string, string]> = [
    [
      'dnsResolver',
      () => dnsResolver({ hostname: 'a.test', port: 1, timeoutMS: 5 } as never),
      'dns.timeoutMS',
      'dns.timeoutMs',
    ],
    [
      'staticResolver',
      () => staticResolver([], { descripton: 'x' } as never),
      'static.descripton',
      'static.description',
    ],
    [
      'failureAccrual',
      () => failureAccrual({ consecutiveFailure: 3 } as never),
      'failureAccrual.consecutiveFailure',
      'failureAccrual.consecutiveFailures',
    ],
    [
      'circuitBreaker',
      () => circuitBreaker({ treshold: 3 } as never),
      'circuitBreaker.treshold',
      'circuitBreaker.threshold',
    ],
    [
      'adaptiveThrottle',
      () => adaptiveThrottle({ K: 2 } as never),
      'adaptiveThrottle.K',
      'adaptiveThrottle.k',
    ],
    [
      'RetryBudget',
      () => new RetryBudget(clock, { percentCanRetri: 0.1 } as never),
      'retry.budget.percentCanRetri',
      'retry.budget.percentCanRetry',
    ],
    ['p2cPeakEwma', () => p2cPeakEwma({ decay: 1_000 } as never), 'balancer.decay', 'balancer.decayMs'],
    [
      'p2cLeastLoaded',
      () => p2cLeastLoaded({ maxEfort: 2 } as never),
      'balancer.maxEfort',
      'balancer.maxEffort',
    ],
    [
      'prometheusMetrics',
      () => prometheusMetrics({ registry: new Registry(), perEndpoints: false } as never),
      'metrics.perEndpoints',
      'metrics.perEndpoint',
    ],
    [
      'openTelemetryTracing',
      () => openTelemetryTracing({ attemptSpan: false } as never),
      'tracing.attemptSpan',
      'tracing.attemptSpans',
    ],
    [
      'createAdminHandler',
      () => createAdminHandler({ clients: [], tokn: 'secret' } as never),
      'tokn',
      'token',
    ],
    [
      'runWithIncomingDeadline',
      () => runWithIncomingDeadline({}, () => 1, { maxMS: 5 } as never),
      'maxMS',
      'maxMs',
    ],
    [
      'createRoutingAgent',
      () => createRoutingAgent({ routes: {}, fallbak: undefined } as never),
      'routingAgent.fallbak',
      'routingAgent.fallback',
    ],
  ];

  it.each(cases)('%s', (_name, make, option, suggestion) => {
    const error = expectConfigError(make, option);
    expect(error.message).toBe(`unknown option \`${option}\`; did you mean \`${suggestion}\`?`);
  });

  it('createAdminHandler refuses what only startAdminServer takes', () => {
    const error = expectConfigError(() => createAdminHandler({ clients: [], port: 0 } as never), 'port');
    expect(error.message).toBe(
      'unknown option `port`; the options are: `clients`, `servers`, `token`, `basePath`, `clock`',
    );
  });

  it('the admin handler does not keep the value of a misspelled token', () => {
    const error = expectConfigError(
      () => createAdminHandler({ clients: [], tokn: 'secret' } as never),
      'tokn',
    );
    expect(error.value).toBeUndefined();
    expect(error.message).not.toContain('secret');
  });

  it('startAdminServer', async () => {
    const error = await startAdminServer({ clients: [client], prot: ADMIN_DEFAULTS.port } as never).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).option).toBe('prot');
    expect((error as ConfigError).message).toContain('did you mean `port`?');
  });

  it('hedge (the filter the client builds)', () => {
    const make = () =>
      hedgeFilter({
        clock,
        adapter: {} as never,
        budget: new RetryBudget(clock),
        options: { minDelay: 5 } as never,
      });
    const error = expectConfigError(make, 'hedge.minDelay');
    expect(error.message).toContain('did you mean `hedge.minDelayMs`?');
    expect([...HEDGE_OPTION_KEYS]).toEqual(['maxExtraLoad', 'minDelayMs', 'minSamples']);
  });

  it('still accepts known options, of either breaker mode', () => {
    expect(() => failureAccrual({ consecutiveFailures: 3, clock })).not.toThrow();
    expect(() => circuitBreaker({ breaker: 'sampling', threshold: 0.5, minimumRps: 1, clock })).not.toThrow();
    expect(() => circuitBreaker({ breaker: 'consecutive', threshold: 2, halfOpenProbes: 1 })).not.toThrow();
  });
});
