/**
 * The admin endpoint on loopback: its JSON for real clients against real node:http backends
 * (healthy, ejected, stale discovery, optional policies), token enforcement, the loopback-only
 * rule without a token, basePath and next(), an Express-style mount, the page's headers and
 * self-containment, and startAdminServer's options and shutdown. Every server and client is closed.
 */
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  createEndpoint,
  type EndpointSetState,
  type HttpClient,
  type Resolver,
  roundRobin,
} from '../../src/index.js';
import { type AdminHandler, createAdminHandler, startAdminServer } from '../../src/telemetry/admin.js';
import type { AdminState } from '../../src/telemetry/admin-state.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';

const { backends, client } = loopbackFixtures();

const servers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((close) => close()));
});

interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** One request over a fresh connection (no keep-alive left behind). */
function get(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function getState(url: string, headers?: Record<string, string>): Promise<AdminState> {
  const reply = await get(url, { headers });
  expect(reply.status, reply.body).toBe(200);
  expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
  return JSON.parse(reply.body) as AdminState;
}

/** A loopback node:http server around `listener`; closed after the test. Resolves to its origin. */
async function serve(listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Serve `handler` as the whole server, with a `next` that answers 418 so tests can see it ran. */
function serveHandler(handler: AdminHandler, withNext = false): Promise<string> {
  return serve((req, res) =>
    handler(
      req,
      res,
      withNext
        ? () => {
            res.writeHead(418, { 'content-type': 'text/plain' });
            res.end('next');
          }
        : undefined,
    ),
  );
}

/** Send requests until `done()` or `max` calls; 503s count as calls. */
async function drive(c: HttpClient, max: number, done: () => boolean = () => false): Promise<void> {
  for (let i = 0; i < max && !done(); i++) {
    const res = await c.request({ path: '/' });
    await res.body.text();
  }
}

const ok = replyAfter(0, 'ok');
const unavailable = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(503, { 'content-type': 'text/plain' });
  res.end('down');
};

describe('state.json', () => {
  it('shows every endpoint of a real client with status, in-flight, cost, EWMA, success rate, weight and accrual', async () => {
    const [a, b] = [await backends.start(ok), await backends.start(ok)];
    const users = client({
      name: 'users',
      endpoints: [a.address, { address: b.address, weight: 2 }],
      circuitBreaker: true,
      hedge: true,
    });
    await drive(users, 10);
    const base = await serveHandler(createAdminHandler({ clients: [users] }));

    const state = await getState(`${base}/state.json`);
    expect(Number.isNaN(Date.parse(state.generatedAt))).toBe(false);
    expect(state.clients).toHaveLength(1);
    const [c] = state.clients;
    expect(c).toMatchObject({
      name: 'users',
      strategy: 'p2c-peak-ewma',
      roles: ['deadline', 'breaker', 'retry', 'hedge', 'attempt'],
      discovery: {
        kind: 'bound',
        stale: false,
        endpoints: 2,
        reason: null,
        error: null,
        updatedAgoMs: expect.any(Number),
      },
      retryBudget: expect.any(Number),
      breaker: 'closed',
      hedge: { sent: expect.any(Number), won: expect.any(Number) },
      throttle: null,
    });
    expect(c?.discovery.boundAgoMs).toEqual(expect.any(Number));
    expect(c?.endpoints.map((e) => e.address)).toEqual([a.address, b.address]);
    expect(c?.endpoints.map((e) => e.weight)).toEqual([1, 2]);
    for (const e of c?.endpoints ?? []) {
      expect(e).toMatchObject({ status: 'open', pending: 0, cost: expect.any(Number) });
      // P2C may send all ten to the faster endpoint: one that had no call has no rate.
      expect(e.successRate).toBe(e.attempts === 0 ? null : 1);
      // Peak EWMA's RTT estimate: idle, the cost is that estimate × (0 in flight + 1).
      expect(e.ewmaMs).toBeGreaterThan(0);
      expect(e.cost).toBeCloseTo(e.ewmaMs ?? Number.NaN, 2);
      expect(e.accrual).toEqual({ state: 'alive', ejections: 0, consecutiveFailures: 0, ejectedForMs: null });
    }
    // Every attempt of the last 30 s, on one endpoint or the other (hedges may add some).
    expect(c?.endpoints.reduce((sum, e) => sum + e.attempts, 0)).toBe(a.seen.length + b.seen.length);
    expect(a.seen.length + b.seen.length).toBeGreaterThanOrEqual(10);
  });

  it('shows null for what a client does not have: retries, failure accrual, breaker, hedging', async () => {
    const a = await backends.start(ok);
    const plain = client({
      name: 'plain',
      endpoints: [a.address],
      balancer: roundRobin(),
      retry: false,
      failureAccrual: false,
      adaptiveThrottle: true,
    });
    await drive(plain, 3);
    const base = await serveHandler(createAdminHandler({ clients: () => [plain] }));
    const [c] = (await getState(`${base}/state.json`)).clients;
    expect(c).toMatchObject({
      name: 'plain',
      strategy: 'round-robin',
      retryBudget: null,
      breaker: null,
      hedge: null,
      throttle: { requests: 3, accepts: 3, rejectionProbability: 0 },
    });
    expect(c?.endpoints).toEqual([
      {
        address: a.address,
        status: 'open',
        pending: 0,
        cost: 0,
        // Round robin keeps no RTT estimate.
        ewmaMs: null,
        attempts: 3,
        successRate: 1,
        weight: 1,
        accrual: null,
      },
    ]);
  });

  it('shows an ejected endpoint as dead with its ejections and the time left', async () => {
    const [good, bad] = [await backends.start(ok), await backends.start(unavailable)];
    const flaky = client({
      name: 'flaky',
      endpoints: [good.address, bad.address],
      failureAccrual: { consecutiveFailures: 2, minEjectionMs: 60_000 },
    });
    const ejected = () => flaky.endpoints().find((e) => e.address === bad.address)?.accrual?.state === 'dead';
    await drive(flaky, 200, ejected);
    expect(ejected()).toBe(true);
    const base = await serveHandler(createAdminHandler({ clients: () => [flaky] }));

    const [c] = (await getState(`${base}/state.json`)).clients;
    const row = c?.endpoints.find((e) => e.address === bad.address);
    expect(row?.status).toBe('busy');
    expect(row?.accrual).toMatchObject({ state: 'dead', ejections: 1, consecutiveFailures: 2 });
    // 60 s equal-jittered: 60–120 s from the ejection.
    expect(row?.accrual?.ejectedForMs).toBeGreaterThan(50_000);
    expect(row?.accrual?.ejectedForMs).toBeLessThanOrEqual(120_000);
    expect(c?.endpoints.find((e) => e.address === good.address)?.accrual?.state).toBe('alive');
    // Its every attempt failed (503); the healthy one's every attempt succeeded.
    expect(row?.attempts).toBeGreaterThanOrEqual(2);
    expect(row?.successRate).toBe(0);
    expect(c?.endpoints.find((e) => e.address === good.address)?.successRate).toBe(1);
  });

  it('shows discovery as stale, with the error, when the source fails after a good set', async () => {
    const a = await backends.start(ok);
    let publish: (state: EndpointSetState) => void = () => {};
    const resolver: Resolver = {
      description: 'test-source',
      subscribe(listener) {
        publish = listener;
        listener({ kind: 'bound', endpoints: [createEndpoint('127.0.0.1', a.port)] });
        return () => {};
      },
      close() {},
    };
    const discovered = client({ name: 'discovered', resolver });
    publish({ kind: 'failed', error: new Error('registry unreachable') });
    const base = await serveHandler(createAdminHandler({ clients: [discovered] }));

    const [c] = (await getState(`${base}/state.json`)).clients;
    expect(c?.discovery).toMatchObject({
      kind: 'bound',
      stale: true,
      endpoints: 1,
      error: 'registry unreachable',
    });
    expect(c?.endpoints.map((e) => e.address)).toEqual([a.address]);
  });

  it('answers 500 with the reason when the clients function throws', async () => {
    const base = await serveHandler(
      createAdminHandler({
        clients: () => {
          throw new Error('no clients today');
        },
      }),
    );
    const reply = await get(`${base}/state.json`);
    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.body)).toEqual({ error: 'no clients today' });
  });
});

describe('token', () => {
  const token = 's3cret-token-for-tests';

  it('is required on the page and the JSON: 401 without or wrong, 200 as a Bearer header or ?token=', async () => {
    const a = await backends.start(ok);
    const c = client({ name: 'guarded', endpoints: [a.address] });
    const base = await serveHandler(createAdminHandler({ clients: [c], token }));

    for (const path of ['/', '/state.json']) {
      const none = await get(`${base}${path}`);
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="weft admin"');
      expect(none.body).not.toContain(token);
      expect((await get(`${base}${path}?token=nope`)).status).toBe(401);
      expect((await get(`${base}${path}?token=${token}x`)).status).toBe(401);
      expect((await get(`${base}${path}`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await get(`${base}${path}`, { headers: { authorization: `Basic ${token}` } })).status).toBe(
        401,
      );
      expect((await get(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
        200,
      );
      expect((await get(`${base}${path}?token=${token}`)).status).toBe(200);
    }
    const state = await getState(`${base}/state.json`, { authorization: `bearer ${token}` });
    expect(state.clients[0]?.name).toBe('guarded');
  });

  it('lets any Host through once the token matches', async () => {
    const base = await serveHandler(createAdminHandler({ clients: [], token }));
    const reply = await get(`${base}/state.json?token=${token}`, { headers: { host: 'admin.example.com' } });
    expect(reply.status).toBe(200);
  });

  it('must be printable ASCII; a bad one is not echoed in the error', () => {
    for (const bad of ['', 'two words', 'naïve', 42]) {
      const error = (() => {
        try {
          createAdminHandler({ clients: [], token: bad as string });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe('token');
      if (typeof bad === 'string' && bad !== '') expect((error as Error).message).not.toContain(bad);
    }
  });
});

describe('loopback only without a token', () => {
  it('refuses a request whose Host is not a loopback name (DNS rebinding)', async () => {
    const base = await serveHandler(createAdminHandler({ clients: [] }));
    expect((await get(`${base}/state.json`, { headers: { host: 'evil.example:80' } })).status).toBe(403);
    for (const host of ['localhost:1234', '127.0.0.1', '[::1]:80', 'admin.localhost']) {
      expect((await get(`${base}/state.json`, { headers: { host } })).status, host).toBe(200);
    }
  });

  it('refuses a peer that is not on loopback', async () => {
    const handler = createAdminHandler({ clients: [] });
    const base = await serve((req, res) => {
      // What a request from another machine looks like to the handler.
      Object.defineProperty(req.socket, 'remoteAddress', { value: '203.0.113.7', configurable: true });
      handler(req, res);
    });
    const reply = await get(`${base}/`);
    expect(reply.status).toBe(403);
    expect(reply.body).toContain('loopback');
  });

  it('startAdminServer refuses a non-loopback host without a token', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.1', 'example.com']) {
      await expect(startAdminServer({ clients: [], host })).rejects.toMatchObject({
        name: 'ConfigError',
        option: 'host',
        value: host,
      });
    }
  });
});

describe('routing', () => {
  it('serves the page at basePath (with or without the slash) and the JSON under it; next() for the rest', async () => {
    const base = await serveHandler(createAdminHandler({ clients: [], basePath: '/admin' }), true);
    for (const path of ['/admin', '/admin/', '/admin/?token=x']) {
      const reply = await get(`${base}${path}`);
      expect(reply.status, path).toBe(200);
      expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    }
    expect(JSON.parse((await get(`${base}/admin/state.json`)).body)).toMatchObject({ clients: [] });
    for (const path of ['/', '/state.json', '/admin/nope', '/administrator', '/other/admin/']) {
      const reply = await get(`${base}${path}`);
      expect(reply.status, path).toBe(418);
      expect(reply.body).toBe('next');
    }
  });

  it('answers 404 for other paths when there is no next(), and 405 for other methods', async () => {
    const base = await serveHandler(createAdminHandler({ clients: [] }));
    expect((await get(`${base}/nope`)).status).toBe(404);
    const post = await get(`${base}/state.json`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const head = await get(`${base}/state.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(head.body).toBe('');
  });

  it('works mounted the way Express mounts it (app.use("/weft", handler): mount path stripped)', async () => {
    const a = await backends.start(ok);
    const c = client({ name: 'mounted', endpoints: [a.address] });
    const handler = createAdminHandler({ clients: [c] });
    const base = await serve((req, res) => {
      const url = req.url ?? '/';
      const next = () => {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('app 404');
      };
      // Express's app.use(path, fn): only under the mount path, and req.url loses the prefix.
      if (url === '/weft' || url.startsWith('/weft/') || url.startsWith('/weft?')) {
        const rest = url.slice('/weft'.length);
        req.url = rest.startsWith('/') ? rest : `/${rest}`;
        handler(req, res, next);
      } else next();
    });
    expect((await get(`${base}/weft`)).headers['content-type']).toBe('text/html; charset=utf-8');
    expect((await get(`${base}/weft/`)).status).toBe(200);
    expect((await getState(`${base}/weft/state.json`)).clients[0]?.name).toBe('mounted');
    expect((await get(`${base}/weft/other`)).body).toBe('app 404');
    expect((await get(`${base}/state.json`)).body).toBe('app 404');
  });

  it('validates clients and basePath with ConfigErrors that name them', () => {
    const cases: Array<[unknown, string]> = [
      [{ clients: 'users' }, 'clients'],
      [{ clients: [{}] }, 'clients[0]'],
      [{ clients: [], basePath: 'admin' }, 'basePath'],
      [{ clients: [], basePath: '/admin?x=1' }, 'basePath'],
      [{ clients: [], clock: {} }, 'clock'],
    ];
    for (const [options, option] of cases) {
      expect(() => createAdminHandler(options as never), option).toThrow(
        expect.objectContaining({ name: 'ConfigError', option }),
      );
    }
  });
});

describe('the page', () => {
  it('is one self-contained HTML document: no external URL, a strict CSP, no innerHTML', async () => {
    const base = await serveHandler(createAdminHandler({ clients: [] }));
    const reply = await get(`${base}/`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.headers['referrer-policy']).toBe('no-referrer');
    expect(reply.body).toMatch(/^<!doctype html>/);
    expect(reply.body).toContain('<title>weft admin</title>');
    expect(reply.body).not.toMatch(/https?:\/\//);
    expect(reply.body).not.toMatch(/\b(src|href)=["'](?!data:)/); // nothing loaded by URL
    expect(reply.body).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    const csp = String(reply.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(csp).not.toContain('unsafe-inline');
  });
});

describe('startAdminServer', () => {
  it('listens on 127.0.0.1 by default, returns its URL with the basePath, and closes (twice is fine)', async () => {
    const a = await backends.start(ok);
    const c = client({ name: 'standalone', endpoints: [a.address] });
    const admin = await startAdminServer({ clients: [c], basePath: '/weft/' });
    servers.push(() => admin.close());
    expect(admin.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/weft\/$/);
    expect((await get(admin.url)).status).toBe(200);
    expect((await getState(`${admin.url}state.json`)).clients[0]?.name).toBe('standalone');
    await admin.close();
    await admin.close();
    await expect(get(admin.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('accepts a non-loopback host with a token (checked, not bound here), and validates port', async () => {
    await expect(startAdminServer({ clients: [], port: 70_000 })).rejects.toMatchObject({
      name: 'ConfigError',
      option: 'port',
    });
    await expect(startAdminServer({ clients: [], port: 1.5 })).rejects.toMatchObject({ option: 'port' });
    // A token lifts the host rule; an invalid port still stops it before it binds anything.
    await expect(
      startAdminServer({ clients: [], host: '0.0.0.0', token: 'abc', port: -1 }),
    ).rejects.toMatchObject({ option: 'port' });
  });

  it('rejects with the listen error when the port is taken', async () => {
    const first = await startAdminServer({ clients: [] });
    servers.push(() => first.close());
    const port = Number(new URL(first.url).port);
    await expect(startAdminServer({ clients: [], port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
