/**
 * What only the Fastify plugin does, on real Fastify 5 servers on loopback: a route left alone by
 * its `config.weft.exclude`, the route template given to telemetry, a route's `handlerTimeout`
 * bounding the deadline, `fastify.close()` draining, and bad options failing the registration.
 */
import { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ambientTimeLeft } from '../../src/core/ambient.js';
import { DEADLINE_HEADER } from '../../src/core/deadline-header.js';
import { ConfigError } from '../../src/core/errors.js';
import { weftPlugin } from '../../src/fastify.js';
import { fixedLimit } from '../../src/policies/concurrency-limit/fixed.js';
import { send } from './raw-http.js';
import { recordingTelemetry } from './recorder.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) {
    app.server.closeAllConnections();
    await app.close();
  }
});

async function listen(app: FastifyInstance): Promise<number> {
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

describe('weftPlugin', () => {
  it('leaves a route with config.weft.exclude alone, and gives telemetry route templates', async () => {
    const { plugin, recorded } = recordingTelemetry();
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const app = Fastify();
    await app.register(weftPlugin, { limit: fixedLimit(1), telemetry: plugin });
    app.get('/items/:id', async () => {
      await released;
      return {};
    });
    app.get('/status', { config: { weft: { exclude: true } } }, async () => ({ ok: true }));
    app.get('/other', async () => ({}));
    const port = await listen(app);
    const slow = send(port, { path: '/items/7' });
    await expect.poll(() => app.weft.server.inflight).toBe(1);
    expect((await send(port, { path: '/other' })).status).toBe(503);
    expect((await send(port, { path: '/status' })).status).toBe(200);
    release();
    expect((await slow).status).toBe(200);
    await expect.poll(() => recorded.finished.length).toBe(1);
    expect(recorded.finished[0]).toMatchObject({ route: '/items/:id', status: 200 });
    expect(recorded.rejected).toEqual([{ route: '/other', reason: 'overload' }]);
  });

  it("bounds the deadline by the route's handlerTimeout", async () => {
    const app = Fastify();
    await app.register(weftPlugin);
    app.get('/bounded', { handlerTimeout: 200 }, async () => ({ left: ambientTimeLeft() }));
    app.get('/free', async () => ({ left: ambientTimeLeft() }));
    const port = await listen(app);
    const bounded = await send(port, { path: '/bounded', headers: { [DEADLINE_HEADER]: '5000' } });
    expect((bounded.json as { left: number }).left).toBeLessThanOrEqual(200);
    const free = await send(port, { path: '/free', headers: { [DEADLINE_HEADER]: '5000' } });
    expect((free.json as { left: number }).left).toBeGreaterThan(200);
  });

  it('drains on fastify.close(): the request in flight finishes, then telemetry closes', async () => {
    const { plugin, recorded } = recordingTelemetry();
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const app = Fastify();
    await app.register(weftPlugin, { telemetry: plugin });
    app.get('/slow', async () => {
      await released;
      return { done: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    // Without keep-alive: the server's close waits for open connections, idle ones included.
    const inflight = send(port, { path: '/slow', agent: new Agent({ keepAlive: false }) });
    await expect.poll(() => app.weft.server.inflight).toBe(1);
    let closed = false;
    const closing = app.close().then(() => {
      closed = true;
    });
    await expect.poll(() => app.weft.server.draining).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false);
    expect(recorded.closed).toBe(0);
    release();
    expect((await inflight).json).toEqual({ done: true });
    await closing;
    expect(recorded.closed).toBe(1);
  });

  it('fails the registration with a ConfigError for bad options', async () => {
    const app = Fastify();
    apps.push(app);
    app.register(weftPlugin, { limt: fixedLimit(1) } as never);
    const error = await app.ready().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).option).toBe('limt');
  });
});
