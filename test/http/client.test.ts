/**
 * The HTTP client's surface on real loopback servers: typed configuration errors, stack editing,
 * the three ways in (request, fetch, Dispatcher — including Node's built-in fetch and a routing
 * global dispatcher), streaming bodies both ways, abort, TLS with mTLS, and no open handles after close.
 */
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import {
  Dispatcher1Wrapper,
  getGlobalDispatcher,
  setGlobalDispatcher,
  fetch as undiciFetch,
  request as undiciRequest,
} from 'undici';
import { describe, expect, it } from 'vitest';
import {
  ClientClosedError,
  ConfigError,
  createHttpClient,
  createRoutingAgent,
  DEADLINE_HEADER,
  type HttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
  NoEndpointsError,
  RequestFailedError,
  roundRobin,
  staticResolver,
  UnknownRoleError,
} from '../../src/index.js';
import type { Filter } from '../../src/policies.js';
import { refusedPort } from '../support/chaos-servers.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';
import { makeTestPki } from '../support/tls.js';

const { backends, client } = loopbackFixtures();

describe('configuration errors', () => {
  const cases: Array<[string, Record<string, unknown>, string, unknown]> = [
    ['no endpoints', {}, 'endpoints', undefined],
    ['bad endpoint', { endpoints: ['nope'] }, 'endpoints[0]', 'nope'],
    ['bad port', { endpoints: ['127.0.0.1:70000'] }, 'endpoints[0]', '127.0.0.1:70000'],
    [
      'both sources',
      { endpoints: ['127.0.0.1:1'], resolver: { subscribe() {}, close() {} } },
      'resolver',
      undefined,
    ],
    ['timeout', { endpoints: ['127.0.0.1:1'], timeoutMs: -1 }, 'timeoutMs', -1],
    ['timeout NaN', { endpoints: ['127.0.0.1:1'], timeoutMs: Number.NaN }, 'timeoutMs', Number.NaN],
    ['attempt timeout', { endpoints: ['127.0.0.1:1'], attemptTimeoutMs: '5s' }, 'attemptTimeoutMs', '5s'],
    ['connections', { endpoints: ['127.0.0.1:1'], connections: 1.5 }, 'connections', 1.5],
    ['scheme', { endpoints: ['127.0.0.1:1'], scheme: 'ftp' }, 'scheme', 'ftp'],
    ['http2', { endpoints: ['127.0.0.1:1'], http2: 'yes' }, 'http2', 'yes'],
    ['tls without https', { endpoints: ['127.0.0.1:1'], tls: {} }, 'tls', {}],
    ['balancer', { endpoints: ['127.0.0.1:1'], balancer: 'p2c' }, 'balancer', 'p2c'],
    ['stack', { endpoints: ['127.0.0.1:1'], stack: 5 }, 'stack', 5],
    ['authority', { endpoints: ['127.0.0.1:1'], authority: 'a/b' }, 'authority', 'a/b'],
    ['http2 without TLS', { endpoints: ['127.0.0.1:1'], http2: true }, 'http2', true],
    [
      'mixed URL schemes',
      { endpoints: ['http://127.0.0.1:1', 'https://127.0.0.1:2'] },
      'endpoints[1]',
      'https://127.0.0.1:2',
    ],
    ['https URLs with scheme http', { endpoints: ['https://127.0.0.1:1'], scheme: 'http' }, 'scheme', 'http'],
    [
      'cert without key',
      { endpoints: ['127.0.0.1:1'], scheme: 'https', tls: { cert: 'x' } },
      'tls.key',
      undefined,
    ],
    [
      'IP servername',
      { endpoints: ['127.0.0.1:1'], scheme: 'https', tls: { servername: '10.0.0.1' } },
      'tls.servername',
      '10.0.0.1',
    ],
    ['ca of the wrong type', { endpoints: ['127.0.0.1:1'], scheme: 'https', tls: { ca: 5 } }, 'tls.ca', 5],
  ];
  for (const [name, options, option, value] of cases) {
    it(`rejects ${name}, naming ${option}`, () => {
      let error: unknown;
      try {
        createHttpClient(options as HttpClientOptions);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const c = error as ConfigError;
      expect(c.code).toBe('WEFT_CONFIG');
      expect(c.option).toBe(option);
      if (value !== undefined) expect(c.value).toEqual(value);
      expect(c.message).toContain(option);
    });
  }

  it('rejects bad per-call input with a typed error, before sending anything', async () => {
    const b = await backends.start(replyAfter(0));
    const c = client({ endpoints: [b.address] });
    await expect(c.request({ path: 'no-slash' })).rejects.toMatchObject({
      code: 'WEFT_CONFIG',
      option: 'request.path',
    });
    await expect(c.request({ path: '/', method: 'GE T' })).rejects.toMatchObject({
      option: 'request.method',
    });
    await expect(c.request({ path: '/', headers: { 'x-a': 'b\r\nx-evil: 1' } })).rejects.toMatchObject({
      option: 'request.headers.x-a',
    });
    await expect(c.request({ path: '/', timeoutMs: 0 })).rejects.toMatchObject({
      option: 'timeoutMs',
      value: 0,
    });
    expect(b.seen).toHaveLength(0);
  });
});

describe('defaults from the endpoints', () => {
  it('takes the scheme from https:// URL endpoints and names the client after them', () => {
    // tls options are accepted only with scheme https, which the https:// URLs imply
    const c = client({
      endpoints: ['https://127.0.0.1:8443', 'https://127.0.0.1:8444', 'https://127.0.0.1:8445'],
      tls: { rejectUnauthorized: true },
    });
    expect(c.name).toBe('static(127.0.0.1:8443,+2)');
    expect(() => createHttpClient({ endpoints: ['127.0.0.1:8443'], tls: {} })).toThrow(ConfigError);
    const named = client({ endpoints: ['127.0.0.1:1'], name: 'users' });
    expect(named.name).toBe('users');
  });
});

describe('retry budget without retries', () => {
  it('hedging alone still counts requests into the budget it draws from', async () => {
    const b = await backends.start(replyAfter(0));
    const c = client({ endpoints: [b.address], retry: false, hedge: true, failureAccrual: true });
    const reserve = c.retryBudget.balance();
    for (let i = 0; i < 50; i++) await (await c.request({ path: '/' })).body.text();
    expect(c.retryBudget.balance()).toBeCloseTo(reserve + 50 * 0.2, 6);
    expect(c.roles).toEqual(['deadline', 'hedge', 'attempt']);
  });

  it('so does hedging when retry was removed from the stack by hand', async () => {
    const b = await backends.start(replyAfter(0));
    const c = client({ endpoints: [b.address], hedge: true, stack: (s) => s.remove('retry') });
    const reserve = c.retryBudget.balance();
    for (let i = 0; i < 10; i++) await (await c.request({ path: '/' })).body.text();
    expect(c.retryBudget.balance()).toBeCloseTo(reserve + 10 * 0.2, 6);
  });
});

describe('stack editing', () => {
  it('inserts a custom filter by role, and rejects an unknown role', async () => {
    const b = await backends.start(replyAfter(0));
    const seen: number[] = [];
    const tag: Filter<HttpRequest, HttpResponse> = (req, ctx, next) => {
      seen.push(ctx.attempt);
      req.headers['x-tag'] = 'yes';
      return next(req, ctx);
    };
    const c = client({
      endpoints: [b.address],
      stack: (s) => s.insertAfter('attempt', { role: 'tag', description: 'test tag', layer: tag }),
    });
    expect(c.roles).toEqual(['deadline', 'retry', 'attempt', 'tag']);
    await (await c.request({ path: '/' })).body.text();
    expect(seen).toEqual([1]);
    expect(b.seen[0]!.headers['x-tag']).toBe('yes');
    expect(() =>
      createHttpClient({
        endpoints: [b.address],
        stack: (s) => s.insertBefore('no-such-role', { role: 'x', description: '', layer: tag }),
      }),
    ).toThrow(UnknownRoleError);
  });

  it('a custom endpoint layer that knows nothing of settled() cannot switch classification off', async () => {
    let calls = 0;
    const broken = await backends.start((_req, res) => {
      calls++;
      res.statusCode = calls === 1 ? 503 : 200;
      res.end(String(res.statusCode));
    });
    const c = client({
      endpoints: [broken.address],
      endpointStack: (s) =>
        s.prepend({
          role: 'plain-wrapper',
          description: 'a Service wrapper written without settled()',
          layer: (next) => ({
            get status() {
              return next.status;
            },
            call: (req, ctx) => next.call(req, ctx),
            close: () => next.close(),
          }),
        }),
    });
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(200); // the 503 was classified retryable and retried
    await res.body.text();
    expect(calls).toBe(2);
  });

  it('removing the deadline-header endpoint role stops the header', async () => {
    const b = await backends.start(replyAfter(0));
    const c = client({ endpoints: [b.address], endpointStack: (s) => s.remove('deadline-header') });
    await (await c.request({ path: '/' })).body.text();
    expect(b.seen[0]!.headers[DEADLINE_HEADER]).toBeUndefined();
  });
});

describe('three ways in', () => {
  it('undici request() and fetch() with the client as dispatcher', async () => {
    const b = await backends.start((req, res) => res.end(`got ${req.method} ${req.url}`));
    const c = client({ endpoints: [b.address] });
    const r1 = await undiciRequest('http://ignored.invalid/a?x=1', { dispatcher: c.dispatcher });
    expect(await r1.body.text()).toBe('got GET /a?x=1');
    const r2 = await undiciFetch('http://ignored.invalid/b', {
      method: 'PUT',
      body: 'data',
      dispatcher: c.dispatcher,
    });
    expect(await r2.text()).toBe('got PUT /b');
    expect(b.seen.map((s) => s.body)).toEqual(['', 'data']);
    expect(b.seen[1]!.headers[DEADLINE_HEADER]).toMatch(/^\d+$/);
  });

  it('client.fetch returns response headers, status and a streaming body', async () => {
    const b = await backends.start((_req, res) => {
      res.statusCode = 201;
      res.setHeader('x-multi', ['a', 'b']);
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    const c = client({ endpoints: [b.address] });
    const res = await c.fetch('http://any.host/path', { headers: { 'x-req': '1' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-multi')).toBe('a, b');
    expect(await res.json()).toEqual({ ok: true });
    expect(b.seen[0]!.url).toBe('/path');
    expect(b.seen[0]!.headers['x-req']).toBe('1');
    expect(b.seen[0]!.headers.host).toBe('any.host');
    await (await c.fetch('/bare')).text();
    expect(b.seen[1]!.headers.host).toBe(b.address);
  });

  it("Node's built-in fetch works with the client's dispatcher as it is (older handler API adapted)", async () => {
    const b = await backends.start(replyAfter(0, 'builtin raw'));
    const c = client({ endpoints: [b.address] });
    const res = await fetch('http://ignored.invalid/raw', { dispatcher: c.dispatcher } as RequestInit);
    expect(await res.text()).toBe('builtin raw');
  });

  it("Node's built-in fetch works through Dispatcher1Wrapper", async () => {
    const b = await backends.start(replyAfter(0, 'builtin'));
    const c = client({ endpoints: [b.address] });
    const res = await fetch('http://ignored.invalid/z', {
      dispatcher: new Dispatcher1Wrapper(c.dispatcher),
    } as RequestInit);
    expect(await res.text()).toBe('builtin');
    expect(b.seen[0]!.headers[DEADLINE_HEADER]).toMatch(/^\d+$/);
  });

  it('a routing agent as the global dispatcher sends routed hosts through weft and others direct', async () => {
    const weftBackend = await backends.start(replyAfter(0, 'via weft'));
    const other = await backends.start(replyAfter(0, 'direct'));
    const c = client({ endpoints: [weftBackend.address] });
    const agent = createRoutingAgent({ routes: { 'api.weft.test': c } });
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(agent);
    try {
      const routed = await fetch('http://api.weft.test/users');
      expect(await routed.text()).toBe('via weft');
      const direct = await fetch(`http://${other.address}/x`);
      expect(await direct.text()).toBe('direct');
      const undiciRouted = await undiciFetch('http://api.weft.test/again');
      expect(await undiciRouted.text()).toBe('via weft');
    } finally {
      setGlobalDispatcher(previous);
      await agent.close();
    }
    expect(weftBackend.seen.map((s) => s.url)).toEqual(['/users', '/again']);
    // Name-based virtual hosting survives the routing: the Host is the name the caller used.
    expect(weftBackend.seen[0]!.headers.host).toBe('api.weft.test');
    expect(weftBackend.seen[0]!.headers[DEADLINE_HEADER]).toMatch(/^\d+$/);
    expect(other.seen[0]!.headers[DEADLINE_HEADER]).toBeUndefined();
  });

  it('the routing agent rejects a route that is not a weft client', () => {
    expect(() => createRoutingAgent({ routes: { a: {} as HttpClient } })).toThrow(ConfigError);
  });
});

describe('bodies and cancellation', () => {
  it('streams a request body from a Readable', async () => {
    const b = await backends.start((_req, res, body) => res.end(String(body.length)));
    const c = client({ endpoints: [b.address] });
    const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(1024, 97 + (i % 26)));
    const res = await c.request({ path: '/upload', method: 'POST', body: Readable.from(chunks) });
    expect(await res.body.text()).toBe(String(64 * 1024));
  });

  it('streams a response body: the first chunk arrives before the server ends', async () => {
    let finish: (() => void) | undefined;
    const b = await backends.start((_req, res) => {
      res.write('first;');
      finish = () => res.end('last');
    });
    const c = client({ endpoints: [b.address] });
    const res = await c.request({ path: '/stream' });
    const iterator = res.body[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(String(first.value)).toBe('first;');
    finish!();
    let rest = '';
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) rest += String(r.value);
    expect(rest).toBe('last');
  });

  it("honours the caller's AbortSignal and closes the connection", async () => {
    let serverSawClose = false;
    const b = await backends.start((req, res) => {
      res.on('close', () => {
        serverSawClose = true;
      });
      void req;
    });
    const c = client({ endpoints: [b.address] });
    const controller = new AbortController();
    const pending = c.request({ path: '/hang', signal: controller.signal });
    setTimeout(() => controller.abort(new Error('caller gave up')), 50);
    await expect(pending).rejects.toThrow('caller gave up');
    await waitFor(() => serverSawClose);
  });

  it('an already-aborted signal sends nothing', async () => {
    const b = await backends.start(replyAfter(0));
    const c = client({ endpoints: [b.address] });
    await expect(c.request({ path: '/', signal: AbortSignal.abort(new Error('early')) })).rejects.toThrow(
      'early',
    );
    expect(b.seen).toHaveLength(0);
  });
});

describe('TLS', () => {
  it('connects over https with a private CA, SNI from the authority, and a client certificate', async () => {
    const pki = makeTestPki('api.weft.test');
    const server = createHttpsServer(
      { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true },
      (req, res) =>
        res.end(
          `hello ${req.headers.host} ${(req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN}`,
        ),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const c = client({
        endpoints: [`127.0.0.1:${port}`],
        scheme: 'https',
        authority: 'api.weft.test',
        tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
      });
      const res = await c.request({ path: '/' });
      expect(await res.body.text()).toBe('hello api.weft.test weft test client');
      const noCert = client({
        endpoints: [`127.0.0.1:${port}`],
        scheme: 'https',
        authority: 'api.weft.test',
        tls: { ca: pki.ca },
      });
      await expect(noCert.request({ path: '/' })).rejects.toThrow();
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('lifecycle', () => {
  it('leaves no open handles after close()', async () => {
    const b = await backends.start(replyAfter(0));
    await waitFor(() => countHandles('TCPSocketWrap') === 0); // sockets of earlier tests wind down
    const timersBefore = countHandles('Timeout');
    const c = createHttpClient({ endpoints: [b.address], balancer: roundRobin() });
    await Promise.all(Array.from({ length: 20 }, async () => (await c.request({ path: '/' })).body.text()));
    expect(countHandles('TCPSocketWrap')).toBeGreaterThan(0);
    await c.close();
    // The backend lives in this process too: its side of each socket closes once the client's has.
    await waitFor(() => countHandles('TCPSocketWrap') === 0);
    expect(countHandles('Timeout')).toBeLessThanOrEqual(timersBefore);
    await expect(c.request({ path: '/' })).rejects.toBeInstanceOf(ClientClosedError);
  });

  it('close() waits for in-flight calls, which complete', async () => {
    const b = await backends.start(replyAfter(100, 'finished'));
    const c = createHttpClient({ endpoints: [b.address] });
    const inFlight = c.request({ path: '/' });
    await waitFor(() => b.seen.length === 1);
    const closing = c.close();
    const res = await inFlight;
    expect(await res.body.text()).toBe('finished');
    await closing;
  });

  it('explains a failure even with no deadline and no retries (nothing below finishes the call)', async () => {
    const dead = `127.0.0.1:${await refusedPort()}`;
    const c = client({ endpoints: [dead], timeoutMs: Number.POSITIVE_INFINITY, retry: false });
    const error = (await c.request({ path: '/' }).catch((e: unknown) => e)) as RequestFailedError;
    expect(error).toBeInstanceOf(RequestFailedError);
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(error.attempts[0]?.endpoint).toBe(dead);
  });

  it('a name that resolves to nothing fails with NoEndpointsError', async () => {
    const c = client({ resolver: staticResolver([]) });
    await expect(c.request({ path: '/' })).rejects.toBeInstanceOf(NoEndpointsError);
  });
});

/** Active handles of one kind in this process (weft must leave no socket or timer behind). */
function countHandles(kind: 'TCPSocketWrap' | 'Timeout'): number {
  return process.getActiveResourcesInfo().filter((r) => r === kind).length;
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}
