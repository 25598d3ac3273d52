/**
 * One way to start an Express 5 app and a Fastify 5 app on loopback with weft's server half and
 * the same routes, so that the same tests run against both: weft first, then the framework's
 * JSON body parser (`express.json()`, Fastify's own), the routes, and (Express) weft's error
 * middleware. A route's handler gets the parsed body and the port of the caller's socket, and
 * its result is sent as JSON; what it throws goes to the framework's error handling.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import type { ObservedServer } from '../../src/core/server-observer.js';
import { weftErrorHandler, weftMiddleware } from '../../src/express.js';
import { weftPlugin } from '../../src/fastify.js';
import type { WeftServerOptions } from '../../src/server/options.js';

export interface Route {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  handle(input: { body: unknown; socketPort: number | undefined }): Promise<unknown>;
  /** Fastify: exclude through the route's `config.weft.exclude` (Express: ignored). */
  readonly excludeByConfig?: boolean;
}

export interface StartedServer {
  readonly address: string;
  readonly port: number;
  readonly weft: { readonly server: ObservedServer; drain(): Promise<void> };
  /** Close the server and every connection to it. */
  close(): Promise<void>;
}

export interface Framework {
  readonly name: 'express' | 'fastify';
  start(routes: readonly Route[], options?: WeftServerOptions): Promise<StartedServer>;
}

export const expressFramework: Framework = {
  name: 'express',
  async start(routes, options = {}) {
    const app = express();
    app.set('env', 'test'); // Express's final handler prints no stack for a 500
    const weft = weftMiddleware(options);
    app.use(weft);
    app.use(express.json());
    for (const route of routes) {
      const add = route.method === 'GET' ? app.get.bind(app) : app.post.bind(app);
      add(route.path, async (req, res) => {
        res.json(await route.handle({ body: req.body as unknown, socketPort: req.socket.remotePort }));
      });
    }
    app.use(weftErrorHandler());
    const server: Server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    return {
      address: `127.0.0.1:${port}`,
      port,
      weft,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  },
};

export const fastifyFramework: Framework = {
  name: 'fastify',
  async start(routes, options = {}) {
    const app = Fastify();
    await app.register(weftPlugin, options);
    for (const route of routes) {
      app.route({
        method: route.method,
        url: route.path,
        config: route.excludeByConfig === true ? { weft: { exclude: true } } : {},
        handler: async (request) =>
          route.handle({ body: request.body as unknown, socketPort: request.raw.socket.remotePort }),
      });
    }
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    return {
      address: `127.0.0.1:${port}`,
      port,
      weft: app.weft,
      close: async () => {
        app.server.closeAllConnections();
        await app.close();
      },
    };
  },
};

export const FRAMEWORKS: readonly Framework[] = [expressFramework, fastifyFramework];
