// The demo's four backends: plain node:http servers on 127.0.0.1, port 0. Two healthy (2–5 ms),
// one 50 ms slower, one that answers 503 to ~30% of requests. Each names itself in a response
// header so the load generator can count where a request went; close() frees every socket.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Response header carrying the backend's label. */
export const BACKEND_HEADER = 'x-demo-backend';

/** How one backend behaves. */
export interface BackendProfile {
  readonly label: string;
  /** Added to the healthy 2–5 ms service time. */
  readonly extraDelayMs: number;
  /** Chance of answering 503, in [0, 1]. */
  readonly failureRate: number;
}

/** The four profiles of the demo, in the order their tables print. */
export const DEMO_PROFILES: readonly BackendProfile[] = [
  { label: 'fast-1', extraDelayMs: 0, failureRate: 0 },
  { label: 'fast-2', extraDelayMs: 0, failureRate: 0 },
  { label: 'slow+50ms', extraDelayMs: 50, failureRate: 0 },
  { label: 'flaky-30%', extraDelayMs: 0, failureRate: 0.3 },
];

/** Label of the slow replica, whose share of traffic the summary reports. */
export const SLOW_LABEL = 'slow+50ms';

export interface Backend {
  readonly label: string;
  /** `127.0.0.1:port`, as weft's `endpoints` option takes it. */
  readonly address: string;
  readonly listening: boolean;
  close(): Promise<void>;
}

/** Start one backend; resolves once it listens. */
export async function startBackend(profile: BackendProfile): Promise<Backend> {
  const server: Server = createServer((req, res) => {
    const delayMs = 2 + Math.random() * 3 + profile.extraDelayMs;
    const fail = Math.random() < profile.failureRate;
    req.resume();
    setTimeout(() => {
      res.writeHead(fail ? 503 : 200, { 'content-type': 'text/plain', [BACKEND_HEADER]: profile.label });
      res.end(fail ? 'unavailable\n' : 'ok\n');
    }, delayMs);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    label: profile.label,
    address: `127.0.0.1:${port}`,
    get listening() {
      return server.listening;
    },
    close: () => closeServer(server),
  };
}

/** Start every profile's backend; if one fails to start, close the others. */
export async function startBackends(profiles: readonly BackendProfile[] = DEMO_PROFILES): Promise<Backend[]> {
  const started = await Promise.allSettled(profiles.map((p) => startBackend(p)));
  const backends = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(backends.map((b) => b.close()));
    throw failed.reason;
  }
  return backends;
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve, reject) =>
    server.close((err) => (err ? reject(err) : resolve())),
  );
  // Clients close their pools first; this only cuts sockets a client left behind.
  server.closeAllConnections();
  await closed;
}
