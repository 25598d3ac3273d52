/**
 * What only the Express middleware does, on real Express 5 servers on loopback: the route
 * template it gives telemetry (with the path its router is mounted on, learnt after the
 * response, since Express matches routes after admission), and bad options thrown at once.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { weftErrorHandler, weftMiddleware } from '../../src/express.js';
import { expectConfigError } from '../support/config-errors.js';
import { send } from './raw-http.js';
import { recordingTelemetry } from './recorder.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('weftMiddleware', () => {
  it('gives telemetry the matched route with its mount path, and "" when none matched', async () => {
    const { plugin, recorded } = recordingTelemetry();
    const app = express();
    app.use(weftMiddleware({ telemetry: plugin }));
    const router = express.Router();
    router.get('/items/:id', (_req, res) => {
      res.json({});
    });
    app.use('/api', router);
    app.use(weftErrorHandler());
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    expect((await send(port, { path: '/api/items/42?x=1' })).status).toBe(200);
    expect((await send(port, { path: '/nowhere' })).status).toBe(404);
    await expect.poll(() => recorded.finished.length).toBe(2);
    expect(recorded.finished.map(({ route, status }) => ({ route, status }))).toEqual([
      { route: '/api/items/:id', status: 200 },
      { route: '', status: 404 },
    ]);
  });

  it('throws a ConfigError for bad options', () => {
    expectConfigError(() => weftMiddleware({ exclude: ['healthz'] }), 'exclude[0]');
    expectConfigError(() => weftMiddleware({ nmae: 'api' } as never), 'nmae');
  });
});
