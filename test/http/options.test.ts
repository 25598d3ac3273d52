/**
 * Every bad option is rejected, in JavaScript too: unknown keys in the client's options, in each
 * nested object and per call (`request`, `fetch`, where RequestInit's keys stay allowed); a
 * client with no endpoints; `maxAttempts` above its ceiling. And errors made for people:
 * credentials in a URL redacted, durations rounded. Real loopback servers and refused ports.
 */
import type { RequestInit } from 'undici';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  createHttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
  RequestFailedError,
} from '../../src/index.js';
import { type Filter, filterLayer, MAX_ATTEMPTS_LIMIT } from '../../src/policies.js';
import { failingWhile, refusedPort } from '../support/chaos-servers.js';
import { expectConfigError } from '../support/config-errors.js';
import { loopbackFixtures } from '../support/fixtures.js';

const { backends, client } = loopbackFixtures();

/** The ConfigError a call rejected with, checked to name `option`. */
async function rejectedWith(call: Promise<unknown>, option: string): Promise<ConfigError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).option).toBe(option);
  return error as ConfigError;
}

const options = (extra: Record<string, unknown>) =>
  ({ endpoints: ['127.0.0.1:1'], ...extra }) as HttpClientOptions;

describe('unknown client options', () => {
  it.each([
    ['timeoutMS', { timeoutMS: 500 }, 'timeoutMs'],
    ['retries', { retries: 2 }, 'retry'],
    ['endpoint', { endpoint: ['127.0.0.1:1'] }, 'endpoints'],
  ])('%s throws, naming the option it resembles', (key, extra, known) => {
    const error = expectConfigError(() => createHttpClient(options(extra)), key);
    expect(error.message).toBe(`unknown option \`${key}\`; did you mean \`${known}\`?`);
  });

  it('accepts dispatcherFactory, an option another change brings', () => {
    // Only the key is known here; no error means the merge will not have to touch the list.
    const c = client(options({ dispatcherFactory: undefined }));
    expect(c.name).toBe('static(127.0.0.1:1)');
  });

  it.each([
    ['retry', { retry: { maxAttempt: 2 } }, 'retry.maxAttempt', 'retry.maxAttempts'],
    ['retry.budget', { retry: { budget: { ttl: 1_000 } } }, 'retry.budget.ttl', 'retry.budget.ttlMs'],
    ['hedge', { hedge: { minSample: 5 } }, 'hedge.minSample', 'hedge.minSamples'],
    [
      'failureAccrual',
      { failureAccrual: { consecutiveFailure: 2 } },
      'failureAccrual.consecutiveFailure',
      'failureAccrual.consecutiveFailures',
    ],
    [
      'circuitBreaker',
      { circuitBreaker: { halfOpenAfter: 100 } },
      'circuitBreaker.halfOpenAfter',
      'circuitBreaker.halfOpenAfterMs',
    ],
    [
      'adaptiveThrottle',
      { adaptiveThrottle: { window: 5_000 } },
      'adaptiveThrottle.window',
      'adaptiveThrottle.windowMs',
    ],
    [
      'tls',
      { scheme: 'https', tls: { rejectUnauthorised: false } },
      'tls.rejectUnauthorised',
      'tls.rejectUnauthorized',
    ],
    [
      'an endpoint object',
      { endpoints: [{ host: '127.0.0.1', port: 1, wieght: 2 }] },
      'endpoints[0].wieght',
      'endpoints[0].weight',
    ],
  ])('in %s throws, naming its path and the option it resembles', (_where, extra, option, known) => {
    const error = expectConfigError(() => createHttpClient(options(extra)), option);
    expect(error.message).toBe(`unknown option \`${option}\`; did you mean \`${known}\`?`);
  });

  it('a nested policy takes the client clock, not one of its own', () => {
    const clock = { now: () => 0, setTimeout: () => ({}) };
    for (const policy of ['failureAccrual', 'circuitBreaker', 'adaptiveThrottle']) {
      const error = expectConfigError(
        () => createHttpClient(options({ [policy]: { clock } })),
        `${policy}.clock`,
      );
      expect(error.message).toContain('set clock on the client');
    }
  });

  it('tls keeps the node:tls options it passes through', () => {
    const c = client(
      options({ scheme: 'https', tls: { minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' } }),
    );
    expect(c.name).toBe('static(127.0.0.1:1)');
  });
});

describe('endpoints', () => {
  it('an empty list with no resolver throws: the client could never send a call', () => {
    const error = expectConfigError(() => createHttpClient({ endpoints: [] }), 'endpoints');
    expect(error.message).toContain('expected at least one endpoint');
  });
});

describe('maxAttempts', () => {
  it.each([6, 1e9])('%s is above the ceiling, per client and per call', async (n) => {
    const error = expectConfigError(
      () => createHttpClient(options({ retry: { maxAttempts: n } })),
      'retry.maxAttempts',
    );
    expect(error.message).toContain('expected an integer from 1 to 5: gRPC caps attempts at 5 (gRFC A6)');
    const c = client(options({}));
    await rejectedWith(c.request({ path: '/', maxAttempts: n }), 'maxAttempts');
    await rejectedWith(c.fetch('/', { maxAttempts: n }), 'maxAttempts');
  });

  it('5 is accepted, and a call to a replica answering 503 goes out 5 times, no more', async () => {
    expect(MAX_ATTEMPTS_LIMIT).toBe(5);
    const backend = await backends.start(failingWhile(() => true));
    const c = client({
      endpoints: [backend.address],
      retry: { maxAttempts: 5, backoffInitialMs: 1, backoffMaxMs: 1 },
      failureAccrual: false,
    });
    const res = await c.request({ path: '/' });
    await res.body.text();
    expect(res.statusCode).toBe(503);
    expect(backend.seen).toHaveLength(5);
    const perCall = await c.request({ path: '/', maxAttempts: 5 });
    await perCall.body.text();
    expect(backend.seen).toHaveLength(10);
  });
});

describe('per-call options', () => {
  it('request() rejects an unknown key, naming the option it resembles, and sends nothing', async () => {
    const backend = await backends.start((_req, res) => res.end('ok'));
    const c = client({ endpoints: [backend.address] });
    const error = await rejectedWith(c.request({ path: '/', timeoutMS: 5 } as never), 'request.timeoutMS');
    expect(error.message).toBe('unknown option `request.timeoutMS`; did you mean `request.timeoutMs`?');
    // An undici request option that weft does not support is rejected, not ignored.
    await rejectedWith(c.request({ path: '/', opaque: {} } as never), 'request.opaque');
    expect(backend.seen).toHaveLength(0);
  });

  it('fetch() rejects an unknown key, and keeps every RequestInit key', async () => {
    const backend = await backends.start((_req, res) => res.end('ok'));
    const c = client({ endpoints: [backend.address] });
    const error = await rejectedWith(c.fetch('/', { maxAttempt: 2 } as never), 'fetch.maxAttempt');
    expect(error.message).toBe('unknown option `fetch.maxAttempt`; did you mean `fetch.maxAttempts`?');
    expect(backend.seen).toHaveLength(0);
    const res = await c.fetch('/', {
      method: 'GET',
      redirect: 'manual',
      cache: 'no-store',
      keepalive: false,
      referrerPolicy: 'no-referrer',
      priority: 'high',
      timeoutMs: 1_000,
    } as RequestInit);
    expect(await res.text()).toBe('ok');
    expect(backend.seen).toHaveLength(1);
  });
});

describe('credentials in a URL', () => {
  it('are redacted in the ConfigError of an endpoint', () => {
    const error = expectConfigError(
      () => createHttpClient({ endpoints: ['http://admin:hunter2@127.0.0.1:8080'] }),
      'endpoints[0]',
    );
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('admin');
    expect(error.message).toContain('"http://<redacted>@127.0.0.1:8080"');
    expect(error.value).toBe('http://<redacted>@127.0.0.1:8080');
  });

  it('are redacted when fetch() is given such a URL (fetch refused it repeating them)', async () => {
    const port = await refusedPort();
    const c = client({ endpoints: [`127.0.0.1:${port}`] });
    const error = await rejectedWith(c.fetch(`http://admin:hunter2@127.0.0.1:${port}/x`), 'fetch input');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain(`http://<redacted>@127.0.0.1:${port}/x`);
  });

  it('are redacted in a call error whose cause names them (a proxying endpoint layer)', async () => {
    const port = await refusedPort();
    const proxy = `http://egress:hunter2@127.0.0.1:${port}`;
    const viaProxy: Filter<HttpRequest, HttpResponse> = (req, ctx, next) =>
      next(req, ctx).catch((error: { code?: string; message: string }) => {
        throw Object.assign(new Error(`CONNECT via ${proxy} failed: ${error.message}`), { code: error.code });
      });
    const c = client({
      endpoints: [`127.0.0.1:${port}`],
      retry: false,
      endpointStack: (s) =>
        s.append({
          role: 'proxy',
          description: 'a stand-in for an egress proxy',
          layer: filterLayer(viaProxy),
        }),
    });
    const error = (await c.request({ path: '/' }).catch((e: unknown) => e)) as RequestFailedError;
    expect(error).toBeInstanceOf(RequestFailedError);
    expect(error.message).toContain('CONNECT via http://<redacted>@127.0.0.1:');
    expect(error.message).not.toContain('hunter2');
  });
});

describe('durations', () => {
  it('are rounded to 0.1 ms in the attempt records and time left of a real failed call', async () => {
    const c = client({
      endpoints: [`127.0.0.1:${await refusedPort()}`],
      retry: { maxAttempts: 3, backoffInitialMs: 1, backoffMaxMs: 1 },
      failureAccrual: false,
    });
    const error = (await c.request({ path: '/' }).catch((e: unknown) => e)) as RequestFailedError;
    expect(error).toBeInstanceOf(RequestFailedError);
    expect(error.attempts).toHaveLength(3);
    const tenths = /^\d+(\.\d)?$/;
    for (const attempt of error.attempts) expect(String(attempt.durationMs)).toMatch(tenths);
    expect(String(error.timeLeftMs)).toMatch(tenths);
  });
});
