/**
 * `dispatcherFactory`, the transport's one seam: undici's MockAgent intercepting weft (which dials
 * its own dispatchers, so a global MockAgent never sees it), weft's attempt handler on MockPool's
 * dispatch (bodies, trailers, aborts, unmatched requests), the options the factory receives, who
 * closes what it returns (weft closes it; `mockAgentFactory` lends a MockAgent without closing
 * it), how MockInterceptor's `.delay()` relates to the VirtualClock, and validation. Mocked
 * origins are loopback addresses that are never dialled (net connect disabled).
 */
import {
  type Dispatcher,
  getGlobalDispatcher,
  MockAgent,
  type MockPool,
  Pool,
  setGlobalDispatcher,
} from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createHttpClient,
  DEADLINE_HEADER,
  DeadlineExceededError,
  type DispatcherFactory,
  type HttpClient,
  type HttpClientOptions,
  RequestFailedError,
  staticResolver,
} from '../../src/index.js';
import { mockAgentFactory, VirtualClock } from '../../src/testing.js';
import { refusedPort } from '../support/chaos-servers.js';
import { expectConfigError } from '../support/config-errors.js';
import { Backends } from '../support/http-servers.js';

const A = '127.0.0.1:8001';
const B = '127.0.0.1:8002';

const clients: HttpClient[] = [];
const agents: MockAgent[] = [];
const backends = new Backends();

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(agents.splice(0).map((a) => a.close()));
  await backends.closeAll();
});

function client(options: HttpClientOptions): HttpClient {
  const c = createHttpClient(options);
  clients.push(c);
  return c;
}

/** A MockAgent that refuses what no interceptor matches; closed after the test. */
function mockAgent(options?: MockAgent.Options): MockAgent {
  const agent = new MockAgent(options);
  agent.disableNetConnect();
  agents.push(agent);
  return agent;
}

/** Resolves once `check` holds (closing a Pool takes a turn or two of the event loop). */
async function eventually(check: () => boolean): Promise<void> {
  await vi.waitFor(() => expect(check()).toBe(true), { timeout: 2_000, interval: 5 });
}

describe('MockAgent intercepting weft', () => {
  it('a global MockAgent never sees weft (ECONNREFUSED); through dispatcherFactory it answers', async () => {
    const port = await refusedPort();
    const origin = `http://127.0.0.1:${port}`;
    const agent = mockAgent();
    agent.get(origin).intercept({ path: '/users/1' }).reply(200, { id: 1 });
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(agent);
    try {
      const dialled = client({ endpoints: [`127.0.0.1:${port}`], retry: false });
      const error = await dialled.request({ path: '/users/1' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RequestFailedError);
      expect((error as RequestFailedError).cause).toMatchObject({ code: 'ECONNREFUSED' });
      expect(agent.pendingInterceptors()).toHaveLength(1);
    } finally {
      setGlobalDispatcher(previous);
    }

    const mocked = client({ endpoints: [`127.0.0.1:${port}`], dispatcherFactory: mockAgentFactory(agent) });
    const res = await mocked.request({ path: '/users/1' });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ id: 1 });
    agent.assertNoPendingInterceptors();
  });

  it('request(), fetch() and client.dispatcher reach the mock, with headers, body and trailers', async () => {
    const agent = mockAgent();
    const seen: Array<Record<string, string>> = [];
    const reply = (request: { headers?: unknown }) => {
      seen.push({ ...(request.headers as Record<string, string>) });
      return {
        statusCode: 201,
        data: 'made',
        responseOptions: { headers: { 'x-id': '7' }, trailers: { 'x-sum': 'ok' } },
      };
    };
    const pool = agent.get(`http://${A}`);
    // A body matcher sees a body weft holds in memory, as request() sends a string.
    pool.intercept({ path: '/report?day=1', method: 'POST', body: 'q' }).reply(reply);
    // fetch() hands its body to weft as a stream, which a body matcher cannot read.
    pool.intercept({ path: '/report?day=1', method: 'POST' }).reply(reply).times(2);
    const api = client({ endpoints: [A], dispatcherFactory: mockAgentFactory(agent) });

    const res = await api.request({ path: '/report', query: { day: 1 }, method: 'POST', body: 'q' });
    expect(res.statusCode).toBe(201);
    expect(res.headers['x-id']).toBe('7');
    expect(await res.body.text()).toBe('made');
    expect(res.trailers).toEqual({ 'x-sum': 'ok' });

    const fetched = await api.fetch('/report?day=1', { method: 'POST', body: 'q' });
    expect(fetched.status).toBe(201);
    expect(await fetched.text()).toBe('made');

    const viaDispatcher = await api.dispatcher.request({
      origin: 'http://users.internal',
      path: '/report?day=1',
      method: 'POST',
      body: 'q',
    });
    expect(await viaDispatcher.body.text()).toBe('made');
    agent.assertNoPendingInterceptors();
    // The endpoint stack ran: the deadline header went out on every request.
    expect(seen.map((h) => Number(h[DEADLINE_HEADER]))).toEqual([
      expect.any(Number),
      expect.any(Number),
      expect.any(Number),
    ]);
    expect(seen.every((h) => Number(h[DEADLINE_HEADER]) > 14_000)).toBe(true);
    expect(seen[2]?.host).toBe('users.internal');
  });

  it("a MockPool's synchronous throw (no interceptor matched) fails the attempt, which is requeued", async () => {
    const agent = mockAgent();
    const pool = agent.get(`http://${A}`);
    pool.intercept({ path: '/known' }).reply(200, 'ok');
    // The MockPool's own dispatch throws MockNotMatchedError instead of reporting to the handler.
    const api = client({ endpoints: [A], retry: { maxAttempts: 2 }, dispatcherFactory: () => pool });
    const error = await api.request({ path: '/unknown' }).catch((e: unknown) => e); // one backoff, < 25 ms

    expect(error).toBeInstanceOf(RequestFailedError);
    const failed = error as RequestFailedError;
    expect(failed.cause).toMatchObject({ code: 'UND_MOCK_ERR_MOCK_NOT_MATCHED' });
    expect(failed.attempts.map((a) => a.decision)).toEqual(['requeued', 'not retried: 2 attempts used']);
    expect(api.endpoints()[0]?.pending).toBe(0); // the load accounting closed both attempts
    expect(api.endpoints()[0]?.accrual?.consecutiveFailures).toBe(2); // counted like a refused connection
    const res = await api.request({ path: '/known' });
    expect(await res.body.text()).toBe('ok');
  });

  it("a caller's abort reaches the mock's controller while the reply is pending", async () => {
    const agent = mockAgent();
    agent
      .get(`http://${A}`)
      .intercept({ path: '/slow' })
      .reply(200, () => new Promise<string>(() => {}));
    const api = client({ endpoints: [A], dispatcherFactory: mockAgentFactory(agent) });
    const controller = new AbortController();
    const pending = api.request({ path: '/slow', signal: controller.signal });
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(api.endpoints()[0]?.pending).toBe(0);
  });
});

describe("MockInterceptor's .delay() and the VirtualClock", () => {
  it('a virtual deadline aborts a .delay() reply and clears its real timer', async () => {
    const agent = mockAgent();
    agent.get(`http://${A}`).intercept({ path: '/' }).reply(200, 'late').delay(60_000);
    const clock = new VirtualClock();
    const api = client({ endpoints: [A], clock, timeoutMs: 100, dispatcherFactory: mockAgentFactory(agent) });
    const timersBefore = realTimers();
    const pending = api.request({ path: '/' }).catch((e: unknown) => e);
    await clock.advanceAsync(50);
    // The mock's setTimeout, and the handle that holds the process while a call is in flight
    // (docs/process-lifetime.md); both are gone once the call has ended.
    expect(realTimers()).toBe(timersBefore + 2);
    await clock.advanceAsync(50);
    expect(await pending).toBeInstanceOf(DeadlineExceededError);
    expect(realTimers()).toBe(timersBefore);
  });

  it('advancing the VirtualClock past a .delay() does not deliver the reply: the deadline fires first', async () => {
    const agent = mockAgent();
    agent.get(`http://${A}`).intercept({ path: '/' }).reply(200, 'soon').delay(30);
    const clock = new VirtualClock();
    const api = client({
      endpoints: [A],
      clock,
      timeoutMs: 1_000,
      dispatcherFactory: mockAgentFactory(agent),
    });
    const pending = api.request({ path: '/' }).catch((e: unknown) => e);
    await clock.advanceAsync(1_000); // 1 s of virtual time, a few real ms: the 30 real ms are not up
    expect(await pending).toBeInstanceOf(DeadlineExceededError);
  });

  it('a reply settled by the VirtualClock arrives at its virtual time', async () => {
    const agent = mockAgent();
    const clock = new VirtualClock();
    agent
      .get(`http://${A}`)
      .intercept({ path: '/' })
      .reply(200, () => new Promise<string>((resolve) => clock.setTimeout(() => resolve('on time'), 500)));
    const api = client({
      endpoints: [A],
      clock,
      timeoutMs: 1_000,
      dispatcherFactory: mockAgentFactory(agent),
    });
    let settled = false;
    const pending = api.request({ path: '/' }).finally(() => {
      settled = true;
    });
    await clock.advanceAsync(499);
    expect(settled).toBe(false);
    await clock.advanceAsync(1);
    expect(await (await pending).body.text()).toBe('on time');
  });
});

describe('what the factory receives', () => {
  it('is called once per endpoint with its origin and the Pool options weft would use', async () => {
    const one = await backends.start((_req, res) => res.end('one'));
    const two = await backends.start((_req, res) => res.end('two'));
    const calls: Array<[string, Pool.Options]> = [];
    const api = client({
      endpoints: [one.address, two.address],
      connections: 8,
      dispatcherFactory: (origin, options) => {
        calls.push([origin, options]);
        return new Pool(origin, options);
      },
    });
    for (let i = 0; i < 6; i++) await (await api.request({ path: '/' })).body.text();
    expect(calls.map(([origin]) => origin)).toEqual([`http://${one.address}`, `http://${two.address}`]);
    expect(calls[0]?.[1]).toEqual({
      connections: 8,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      headersTimeout: 300_000,
      bodyTimeout: 300_000,
      allowH2: false,
      connect: { timeout: 10_000 },
    });
  });

  it('gets the TLS settings in connect for https endpoints', () => {
    let received: Pool.Options | undefined;
    client({
      endpoints: ['https://127.0.0.1:8443'],
      authority: 'api.internal',
      http2: true,
      tls: { ca: 'PEM', rejectUnauthorized: true },
      dispatcherFactory: (origin, options) => {
        received = options;
        return new Pool(origin, options);
      },
    });
    expect(received).toMatchObject({
      allowH2: true,
      connect: { timeout: 10_000, ca: 'PEM', rejectUnauthorized: true, servername: 'api.internal' },
    });
  });
});

describe('who closes what the factory returned', () => {
  it('weft closes it when its endpoint leaves discovery and when the client closes', async () => {
    const one = await backends.start((_req, res) => res.end('one'));
    const two = await backends.start((_req, res) => res.end('two'));
    const pools = new Map<string, Pool>();
    const resolver = staticResolver([one.address, two.address]);
    const api = client({
      resolver,
      dispatcherFactory: (origin, options) => {
        const pool = new Pool(origin, options);
        pools.set(origin, pool);
        return pool;
      },
    });
    for (let i = 0; i < 4; i++) await (await api.request({ path: '/' })).body.text();
    resolver.update([one.address]);
    await eventually(() => pools.get(`http://${two.address}`)!.closed);
    expect(pools.get(`http://${one.address}`)!.closed).toBe(false);
    await api.close();
    expect(pools.get(`http://${one.address}`)!.closed).toBe(true);
  });

  it('a plain mockAgent.get(origin) factory: closing the MockPool drops it, and its interceptors, from the agent', async () => {
    const agent = mockAgent({ enableCallHistory: true });
    const pool = agent.get(`http://${A}`);
    pool.intercept({ path: '/used' }).reply(200, 'ok');
    pool.intercept({ path: '/never' }).reply(200, 'ok');
    const api = createHttpClient({ endpoints: [A], dispatcherFactory: (origin) => agent.get(origin) });
    await (await api.request({ path: '/used' })).body.text();
    expect(agent.pendingInterceptors()).toHaveLength(1);
    expect(agent.getCallHistory()?.calls()).toHaveLength(0); // straight to the pool, past the agent
    await api.close();
    // The unused interceptor went with the pool: the assertion a test runs after close passes.
    expect(agent.pendingInterceptors()).toHaveLength(0);
    expect(() => agent.assertNoPendingInterceptors()).not.toThrow();
    expect(agent.get(`http://${A}`)).not.toBe(pool);
  });

  it('a plain mockAgent.get(origin) factory: an endpoint that leaves and returns has lost its interceptors', async () => {
    const agent = mockAgent();
    const pool = agent.get(`http://${A}`);
    pool.intercept({ path: '/' }).reply(200, 'a').persist();
    agent.get(`http://${B}`).intercept({ path: '/' }).reply(200, 'b').persist();
    const resolver = staticResolver([A]);
    const api = client({ resolver, retry: false, dispatcherFactory: (origin) => agent.get(origin) });
    expect(await (await api.request({ path: '/' })).body.text()).toBe('a');
    resolver.update([B]);
    await eventually(() => agent.get(`http://${A}`) !== pool);
    resolver.update([A]);
    const error = await api.request({ path: '/' }).catch((e: unknown) => e);
    expect((error as RequestFailedError).cause).toMatchObject({ code: 'UND_MOCK_ERR_MOCK_NOT_MATCHED' });
  });

  it('mockAgentFactory lends the agent: pools, interceptors and call history outlive the client and endpoint churn', async () => {
    const agent = mockAgent({ enableCallHistory: true });
    const poolA = agent.get(`http://${A}`) as MockPool;
    poolA.intercept({ path: '/' }).reply(200, 'a').persist();
    agent.get(`http://${B}`).intercept({ path: '/' }).reply(200, 'b').persist();
    agent.get(`http://${A}`).intercept({ path: '/never' }).reply(200, 'unused');
    const resolver = staticResolver([A]);
    const api = createHttpClient({ resolver, dispatcherFactory: mockAgentFactory(agent) });
    expect(await (await api.request({ path: '/' })).body.text()).toBe('a');
    resolver.update([B]); // A leaves: weft closes its dispatcher, the MockAgent's pool stays
    expect(await (await api.request({ path: '/' })).body.text()).toBe('b');
    resolver.update([A]); // A returns, with its interceptors
    expect(await (await api.request({ path: '/' })).body.text()).toBe('a');
    await api.close();
    expect(agent.get(`http://${A}`)).toBe(poolA);
    expect(agent.pendingInterceptors().map((i) => i.path)).toEqual(['/never']);
    expect(() => agent.assertNoPendingInterceptors()).toThrow(/1 interceptor is pending/);
    expect(
      agent
        .getCallHistory()
        ?.calls()
        .map((call) => call.origin),
    ).toEqual([`http://${A}`, `http://${B}`, `http://${A}`]);
    // Still the test's to use, and to close.
    const again = client({ endpoints: [A], dispatcherFactory: mockAgentFactory(agent) });
    expect(await (await again.request({ path: '/' })).body.text()).toBe('a');
  });
});

describe('validation', () => {
  it.each([
    ['a string', 'pool'],
    ['a number', 42],
    ['an object', {}],
    ['null', null],
  ])('rejects %s as dispatcherFactory', (_label, value) => {
    const error = expectConfigError(
      () => createHttpClient({ endpoints: [A], dispatcherFactory: value as unknown as DispatcherFactory }),
      'dispatcherFactory',
    );
    expect(error.message).toContain('expected a function');
  });

  it.each([
    ['undefined', undefined],
    ['a plain object', {}],
    ['an object without close', { dispatch: () => true }],
    ['a function', () => true],
  ])(
    'a factory that returns %s throws ConfigError at construction, leaving nothing open',
    (_label, value) => {
      const resolver = staticResolver([A]);
      const closeResolver = vi.spyOn(resolver, 'close');
      const closeTelemetry = vi.fn();
      const error = expectConfigError(
        () =>
          createHttpClient({
            resolver,
            telemetry: { attach: () => ({ close: closeTelemetry }) },
            dispatcherFactory: () => value as unknown as Dispatcher,
          }),
        'dispatcherFactory',
      );
      expect(error.message).toContain(`it returned this for http://${A}`);
      expect(error.message).toContain('dispatch(), close() and destroy()');
      expect(closeResolver).toHaveBeenCalledOnce();
      expect(closeTelemetry).toHaveBeenCalledOnce();
    },
  );

  it('an endpoint discovered later whose factory fails: the set is not applied, a warning says why, nothing stays open', async () => {
    const made: Pool[] = [];
    const resolver = staticResolver([A]);
    const api = client({
      resolver,
      dispatcherFactory: (origin, options) => {
        if (origin.endsWith(':8003')) return {} as Dispatcher;
        const pool = new Pool(origin, options);
        made.push(pool);
        return pool;
      },
    });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      resolver.update([A, B, '127.0.0.1:8003']);
      await eventually(() => warnings.length > 0);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings[0]?.message).toContain('invalid option dispatcherFactory');
    expect(api.endpoints().map((e) => e.address)).toEqual([A]);
    expect(made).toHaveLength(2); // A's, then B's, made before 8003 failed
    await eventually(() => made[1]!.closed);
    expect(made[0]!.closed).toBe(false);
  });

  it('mockAgentFactory needs a MockAgent', () => {
    expectConfigError(() => mockAgentFactory({} as MockAgent), 'mockAgent');
    expectConfigError(() => mockAgentFactory(undefined as unknown as MockAgent), 'mockAgent');
  });
});

/** Node timers alive in this process now. */
function realTimers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}
