// The demo's four backends: plain node:http servers on 127.0.0.1, port 0. Two healthy (2–5 ms),
// one 50 ms slower, one that answers 503 to ~30% of requests. Each counts what it received per
// run (the `x-demo-run` request header): attempts, retries (attempts carrying `weft-attempt` ≥ 2),
// probation's probes (copies carrying `weft-probe`, counted apart from attempts) and the 503s it
// sent, so retries and probes are counted where they land, not where weft says they went.
// Each also names itself in a response header; close() frees every socket.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ATTEMPT_HEADER, PROBE_HEADER } from '../../src/policies.js';

/** Response header carrying the backend's label. */
export const BACKEND_HEADER = 'x-demo-backend';

/** Request header naming the run (one client) a request belongs to, for the per-run counts. */
export const RUN_HEADER = 'x-demo-run';

/** What one backend received from one run. */
export interface BackendCounts {
  /** Callers' requests received (first tries, retries, failure accrual's probing requests). */
  readonly attempts: number;
  /** Probation's probes received: copies of callers' requests marked `weft-probe`, not attempts. */
  readonly probes: number;
  /** Attempts that carried `weft-attempt` ≥ 2: retries, as weft numbers them. */
  readonly retries: number;
  /** 503s it answered. */
  readonly failures: number;
}

const NO_COUNTS: BackendCounts = { attempts: 0, retries: 0, probes: 0, failures: 0 };

/** How one backend behaves. */
export interface BackendProfile {
  readonly label: string;
  /** Added to the healthy 2–5 ms service time. */
  readonly extraDelayMs: number;
  /** Chance of answering 503, in [0, 1]. */
  readonly failureRate: number;
}

/** Label of the slow replica, whose share of traffic the summary reports. */
export const SLOW_LABEL = 'slow+50ms';

/** Label of the flaky replica, whose accrual state the live table shows. */
export const FLAKY_LABEL = 'flaky-30%';

/** The four profiles of the demo, in the order their tables print. */
export const DEMO_PROFILES: readonly BackendProfile[] = [
  { label: 'fast-1', extraDelayMs: 0, failureRate: 0 },
  { label: 'fast-2', extraDelayMs: 0, failureRate: 0 },
  { label: SLOW_LABEL, extraDelayMs: 50, failureRate: 0 },
  { label: FLAKY_LABEL, extraDelayMs: 0, failureRate: 0.3 },
];

export interface Backend {
  readonly label: string;
  /** `127.0.0.1:port`, as weft's `endpoints` option takes it. */
  readonly address: string;
  readonly listening: boolean;
  /** What it received so far from requests tagged with `run` (zeros for an unknown run). */
  counts(run: string): BackendCounts;
  close(): Promise<void>;
}

/** Start one backend; resolves once it listens. */
export async function startBackend(profile: BackendProfile): Promise<Backend> {
  const counts = new Map<string, { attempts: number; retries: number; probes: number; failures: number }>();
  const server: Server = createServer((req, res) => {
    const delayMs = 2 + Math.random() * 3 + profile.extraDelayMs;
    const fail = Math.random() < profile.failureRate;
    const run = String(req.headers[RUN_HEADER] ?? '');
    const tally = counts.get(run) ?? { attempts: 0, retries: 0, probes: 0, failures: 0 };
    counts.set(run, tally);
    if (req.headers[PROBE_HEADER] !== undefined) tally.probes++;
    else tally.attempts++;
    if (Number(req.headers[ATTEMPT_HEADER] ?? 1) >= 2) tally.retries++;
    if (fail) tally.failures++;
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
    counts: (run) => ({ ...(counts.get(run) ?? NO_COUNTS) }),
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
