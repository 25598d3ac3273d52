/**
 * Churn under load through the Kubernetes resolver (against the contract server of
 * test/support/kube-api.ts): a real weft HTTP client sends a bounded stream of calls to node:http
 * backends on 127.0.0.1 while EndpointSlices are added, changed and deleted, a watch is cut and
 * its history compacted (re-list). Zero failed calls; the endpoint that stays keeps its history.
 * Then the Service loses its last ready endpoint: calls fail fast with a NoEndpointsError that
 * says the Service exists with no ready endpoints.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NoEndpointsError } from '../../src/core/errors.js';
import { kubernetesResolver } from '../../src/discovery.js';
import { createHttpClient, type HttpClient } from '../../src/index.js';
import { type Backend, Backends, replyAfter } from '../support/http-servers.js';
import { KubeApiServer, type KubePki, makeKubePki } from '../support/kube-api.js';

const TOKEN = 'churn-token';
let pki: KubePki;
let dir: string;
let api: KubeApiServer | undefined;
let client: HttpClient | undefined;
const backends = new Backends();

beforeAll(() => {
  pki = makeKubePki();
  dir = mkdtempSync(join(tmpdir(), 'weft-kube-churn-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await client?.close();
  client = undefined;
  await api?.close();
  api = undefined;
  await backends.closeAll();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** One slice per backend: each has its own port, named `http` as the Service port is. */
function putBackend(server: KubeApiServer, name: string, backend: Backend, ready = true): void {
  server.putSlice('default', name, 'api', {
    ports: [{ name: 'http', port: backend.port }],
    endpoints: [{ address: '127.0.0.1', ready, zone: 'zone-a' }],
  });
}

function inCluster(server: KubeApiServer) {
  const tokenFile = join(dir, 'token');
  const caFile = join(dir, 'ca.crt');
  writeFileSync(tokenFile, TOKEN);
  writeFileSync(caFile, pki.ca);
  return {
    host: '127.0.0.1',
    port: server.port,
    tokenFile,
    caFile,
    namespaceFile: join(dir, 'no-namespace'),
  };
}

describe('Kubernetes resolver under churn (contract)', () => {
  it('slices change, a watch breaks and history is compacted while calls flow: zero failed calls', async () => {
    const pool = await Promise.all([0, 1, 2, 3].map(() => backends.start(replyAfter(2))));
    const [stable, ...churners] = pool as [Backend, ...Backend[]];
    api = await KubeApiServer.start(pki, TOKEN);
    const server = api;
    server.createService('default', 'api');
    putBackend(server, 'stable', stable);
    putBackend(server, 'c0', churners[0]!);
    client = createHttpClient({
      resolver: kubernetesResolver({
        service: 'api',
        port: 'http',
        inCluster: inCluster(server),
        reconnect: { baseMs: 20, maxMs: 100 },
      }),
    });
    const active = client;
    let running = true;
    let ok = 0;
    const failures: unknown[] = [];
    const worker = async () => {
      for (let i = 0; running && i < 20_000; i++) {
        try {
          const res = await active.request({ path: '/' });
          await res.body.text();
          ok++;
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    try {
      await waitFor(() => stable.seen.length > 20, 'first traffic');
      const steps: (() => void)[] = [
        () => putBackend(server, 'c1', churners[1]!),
        () => putBackend(server, 'c0', churners[0]!, false),
        () => putBackend(server, 'c2', churners[2]!),
        () => server.deleteSlice('default', 'c1'),
        () => server.resetWatches(),
        () => putBackend(server, 'c0', churners[0]!),
        () => server.deleteSlice('default', 'c2'),
        () => {
          server.compact();
          server.expireWatches();
        },
        () => putBackend(server, 'c1', churners[1]!),
        () => putBackend(server, 'c2', churners[2]!),
      ];
      for (let round = 0; round < 2; round++) {
        for (const step of steps) {
          step();
          await sleep(60);
        }
      }
      await waitFor(() => active.endpoints().length === 4, 'all four endpoints');
      await waitFor(() => churners.every((b) => b.seen.length > 5), 'traffic to every backend');
      await waitFor(() => !active.discovery().stale, 'the source to answer again after the last fault');
    } finally {
      running = false;
      await Promise.all(workers);
    }
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(200);
    expect(server.seen('list').length).toBeGreaterThanOrEqual(3); // the first list and one per expiry
    expect(active.discovery()).toMatchObject({ kind: 'bound', stale: false });
    // The endpoint that stayed kept its node through every update: its attempt count covers all its calls.
    const stableStats = active.endpoints().find((e) => e.address === stable.address);
    expect(stableStats?.attempts).toBe(stable.seen.length);
  });

  it('a Service left with no ready endpoint makes calls fail fast, saying so', async () => {
    const backend = await backends.start(replyAfter(1));
    api = await KubeApiServer.start(pki, TOKEN);
    const server = api;
    server.createService('default', 'api');
    putBackend(server, 'only', backend);
    client = createHttpClient({
      resolver: kubernetesResolver({
        service: 'api',
        port: 'http',
        inCluster: inCluster(server),
        reconnect: { baseMs: 20, maxMs: 100 },
      }),
    });
    const active = client;
    const res = await active.request({ path: '/' });
    await res.body.text();
    await waitFor(() => server.watchCount === 1, 'a watch');
    putBackend(server, 'only', backend, false);
    await waitFor(() => active.discovery().kind === 'negative', 'negative');
    const error = await active.request({ path: '/' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NoEndpointsError);
    expect((error as Error).message).toContain(
      'Service default/api exists but has no ready endpoints for port http',
    );
    expect(backend.seen).toHaveLength(1);
  });
});
