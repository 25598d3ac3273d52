/**
 * kubernetesResolver against a list/watch server held to the documented API contract
 * (test/support/kube-api.ts; no kube-apiserver can run here): list then watch with bookmarks,
 * 410 Gone → re-list, slices added/modified/deleted, conditions, port and zone, the Service
 * deciding negative, failures and reconnects, kubeconfig and in-cluster configuration from temp
 * files, TLS with an openssl CA and bearer-token or client-certificate auth.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import type { EndpointSetState, Resolver } from '../../src/discovery/resolver.js';
import {
  type Endpoint,
  KubernetesApiError,
  type KubernetesResolverOptions,
  kubernetesResolver,
} from '../../src/discovery.js';
import { KubeApiServer, type KubePki, makeKubePki } from '../support/kube-api.js';

const TOKEN = 'token-one';
let pki: KubePki;
let dir: string;
let api: KubeApiServer | undefined;
const resolvers: Resolver[] = [];

beforeAll(() => {
  pki = makeKubePki();
  dir = mkdtempSync(join(tmpdir(), 'weft-kube-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const r of resolvers.splice(0)) r.close();
  await api?.close();
  api = undefined;
});

let fileCount = 0;
function file(text: string, name = `file-${++fileCount}`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** A kubeconfig as kubectl writes it (sequences at the key's level, quoted and plain scalars). */
function kubeconfigYaml(server: string, user: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    '# written by the test',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${Buffer.from(pki.ca).toString('base64')}`,
    `    server: "${server}"`,
    '  name: test-cluster',
    'contexts:',
    '- context:',
    '    cluster: test-cluster',
    '    user: test-user',
    "    namespace: 'shop'",
    '  name: test',
    '- context:',
    '    cluster: test-cluster',
    '    user: other',
    '  name: other',
    'current-context: test',
    'preferences: {}',
    'users:',
    '- name: test-user',
    '  user:',
    ...user.split('\n').map((l) => `    ${l}`),
    '- name: other',
    '  user: {}',
  ].join('\n');
}

async function startApi(): Promise<KubeApiServer> {
  api = await KubeApiServer.start(pki, TOKEN);
  return api;
}

interface Watched {
  readonly resolver: Resolver;
  readonly states: EndpointSetState[];
  last(): EndpointSetState | undefined;
  until(what: string, predicate: (state: EndpointSetState) => boolean): Promise<EndpointSetState>;
}

function watch(options: Partial<KubernetesResolverOptions> & { kubeconfig?: string }): Watched {
  const resolver = kubernetesResolver({
    service: 'api',
    port: 'http',
    reconnect: { baseMs: 20, maxMs: 100 },
    ...options,
  } as KubernetesResolverOptions);
  resolvers.push(resolver);
  const states: EndpointSetState[] = [];
  resolver.subscribe((s) => states.push(s));
  const last = () => states[states.length - 1];
  return {
    resolver,
    states,
    last,
    async until(what, predicate) {
      const deadline = Date.now() + 8_000;
      for (;;) {
        const state = last();
        if (state !== undefined && predicate(state)) return state;
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}; last state ${JSON.stringify(state)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

const addresses = (state: EndpointSetState) =>
  state.kind === 'bound' ? state.endpoints.map((e) => e.address).sort() : [];
const bound =
  (...expected: string[]) =>
  (s: EndpointSetState) =>
    s.kind === 'bound' && JSON.stringify(addresses(s)) === JSON.stringify([...expected].sort());

describe('kubernetesResolver (contract)', () => {
  it('lists ready endpoints of the named port, with zone and metadata, over TLS with a bearer token', async () => {
    const server = await startApi();
    server.createService('shop', 'api');
    server.putSlice('shop', 'api-a', 'api', {
      ports: [
        { name: 'http', port: 8080 },
        { name: 'admin', port: 9090 },
      ],
      endpoints: [
        { address: '10.0.0.1', zone: 'zone-a', nodeName: 'node-1', pod: 'api-1' },
        { address: '10.0.0.2', ready: null }, // nil ready means ready
        { address: '10.0.0.3', ready: false, serving: false },
        { address: '10.0.0.4', ready: false, serving: true, terminating: true },
      ],
    });
    server.putSlice('shop', 'api-b', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ address: '10.0.1.1', zone: 'zone-b' }],
    });
    server.putSlice('shop', 'other', 'web', {
      ports: [{ name: 'http', port: 80 }],
      endpoints: [{ address: '10.9.9.9' }],
    });
    const w = watch({ kubeconfig: file(kubeconfigYaml(server.url, `token: ${TOKEN}`)) });
    expect(w.resolver.description).toBe('kubernetes:shop/api:http');
    const state = await w.until('the first set', bound('10.0.0.1:8080', '10.0.0.2:8080', '10.0.1.1:8080'));
    const first = (state as unknown as { endpoints: Endpoint[] }).endpoints.find(
      (e) => e.host === '10.0.0.1',
    );
    expect(first?.zone).toBe('zone-a');
    expect(first?.metadata).toEqual({ nodeName: 'node-1', pod: 'api-1' });
    const list = server.seen('list')[0]!;
    expect(list.authorization).toBe(`Bearer ${TOKEN}`);
    expect(list.query.get('labelSelector')).toBe('kubernetes.io/service-name=api');
    await w.until('a watch', () => server.watchCount === 1);
    const watchRequest = server.seen('watch')[0]!;
    expect(watchRequest.query.get('allowWatchBookmarks')).toBe('true');
    expect(watchRequest.query.get('resourceVersion')).toBe(String(server.resourceVersion));
  });

  it('follows slices added, modified and deleted, and picks the port by number', async () => {
    const server = await startApi();
    server.createService('default', 'api');
    server.putSlice('default', 'api-a', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ address: '10.0.0.1' }],
    });
    const w = watch({
      kubeconfig: file(kubeconfigYaml(server.url, `token: ${TOKEN}`)),
      namespace: 'default',
      port: 8080,
    });
    await w.until('the first set', bound('10.0.0.1:8080'));
    await w.until('a watch', () => server.watchCount === 1);
    server.putSlice('default', 'api-b', 'api', {
      ports: [{ port: 8080 }],
      endpoints: [{ address: '10.0.0.2' }],
    });
    await w.until('a slice added', bound('10.0.0.1:8080', '10.0.0.2:8080'));
    server.putSlice('default', 'api-a', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ address: '10.0.0.1', ready: false }, { address: '10.0.0.3' }],
    });
    await w.until('a slice modified', bound('10.0.0.2:8080', '10.0.0.3:8080'));
    server.deleteSlice('default', 'api-b');
    await w.until('a slice deleted', bound('10.0.0.3:8080'));
    expect(server.seen('list')).toHaveLength(1);
  });

  it('a Service with no ready endpoint is negative, saying it exists; a missing one says it does not', async () => {
    const server = await startApi();
    server.createService('shop', 'api');
    server.putSlice('shop', 'api-a', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [
        { address: '10.0.0.1' },
        { address: '10.0.0.2', ready: false, serving: true, terminating: true },
      ],
    });
    const w = watch({ kubeconfig: file(kubeconfigYaml(server.url, `token: ${TOKEN}`)) });
    await w.until('the first set', bound('10.0.0.1:8080'));
    await w.until('a watch', () => server.watchCount === 1);
    server.putSlice('shop', 'api-a', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [
        { address: '10.0.0.1', ready: false },
        { address: '10.0.0.2', ready: false, serving: true, terminating: true },
      ],
    });
    const exists = await w.until('negative', (s) => s.kind === 'negative');
    expect(exists).toMatchObject({ kind: 'negative' });
    expect((exists as { reason: string }).reason).toMatch(
      /^Service shop\/api exists but has no ready endpoints for port http \(1 EndpointSlices: 1 endpoints not ready, 1 terminating/,
    );
    server.deleteService('shop', 'api');
    const gone = await w.until(
      'does not exist',
      (s) => s.kind === 'negative' && s.reason.includes('does not exist'),
    );
    expect((gone as { reason: string }).reason).toBe(
      'Service shop/api does not exist (the API server answered 404)',
    );
    server.createService('shop', 'api');
    server.putSlice('shop', 'api-c', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ address: '10.0.0.9' }],
    });
    await w.until('back', bound('10.0.0.9:8080'));
  });

  it('a Service that never existed is negative from the start', async () => {
    const server = await startApi();
    const w = watch({ kubeconfig: file(kubeconfigYaml(server.url, `token: ${TOKEN}`)), service: 'nope' });
    const state = await w.until('negative', (s) => s.kind === 'negative');
    expect((state as { reason: string }).reason).toBe(
      'Service shop/nope does not exist (the API server answered 404)',
    );
  });

  it('terminatingFallback uses serving, terminating endpoints only while none is ready', async () => {
    const server = await startApi();
    server.createService('shop', 'api');
    server.putSlice('shop', 'api-a', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [
        { address: '10.0.0.1', ready: false, serving: true, terminating: true },
        { address: '10.0.0.2', ready: false, serving: false, terminating: true },
      ],
    });
    const w = watch({
      kubeconfig: file(kubeconfigYaml(server.url, `token: ${TOKEN}`)),
      terminatingFallback: true,
    });
    const state = await w.until('the terminating one', bound('10.0.0.1:8080'));
    expect((state as unknown as { endpoints: Endpoint[] }).endpoints[0]?.metadata).toEqual({
      terminating: true,
    });
    await w.until('a watch', () => server.watchCount === 1);
    server.putSlice('shop', 'api-b', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ address: '10.0.0.3' }],
    });
    await w.until('the ready one only', bound('10.0.0.3:8080'));
  });

  it('bookmarks move the resourceVersion on, so a watch restarted after compaction does not re-list', async () => {
    const server = await startApi();
    server.createService('shop', 'api');
    server.putSlice('shop', 'api-a', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ address: '10.0.0.1' }],
    });
    const w = watch({ kubeconfig: file(kubeconfigYaml(server.url, `token: ${TOKEN}`)) });
    await w.until('the first set', bound('10.0.0.1:8080'));
    await w.until('a watch', () => server.watchCount === 1);
    // Changes elsewhere move the resourceVersion; only a bookmark tells this watch about them.
    for (let i = 0; i < 5; i++)
      server.putSlice('shop', `web-${i}`, 'web', {
        ports: [{ port: 80 }],
        endpoints: [{ address: '10.1.0.1' }],
      });
    server.bookmark();
    const bookmarkVersion = String(server.resourceVersion);
    await new Promise((r) => setTimeout(r, 100));
    server.compact();
    server.endWatches();
    await w.until('a second watch', () => server.seen('watch').length === 2 && server.watchCount === 1);
    expect(server.seen('watch')[1]!.query.get('resourceVersion')).toBe(bookmarkVersion);
    expect(server.seen('list')).toHaveLength(1);
    expect(w.states.every((s) => s.kind === 'bound')).toBe(true);
  });

  for (const goneAs of ['event', 'status'] as const) {
    it(`410 Gone (as ${goneAs === 'event' ? 'an ERROR event' : 'an HTTP status'}) re-lists and picks up what changed`, async () => {
      const server = await startApi();
      server.goneAs = goneAs;
      server.createService('shop', 'api');
      server.putSlice('shop', 'api-a', 'api', {
        ports: [{ name: 'http', port: 8080 }],
        endpoints: [{ address: '10.0.0.1' }],
      });
      const w = watch({ kubeconfig: file(kubeconfigYaml(server.url, `token: ${TOKEN}`)) });
      await w.until('the first set', bound('10.0.0.1:8080'));
      await w.until('a watch', () => server.watchCount === 1);
      server.resetWatches();
      await w.until('failed', (s) => s.kind === 'failed');
      // While the watch is down: a change, then the history is compacted away.
      server.deleteSlice('shop', 'api-a');
      server.putSlice('shop', 'api-b', 'api', {
        ports: [{ name: 'http', port: 8080 }],
        endpoints: [{ address: '10.0.0.2' }],
      });
      server.compact();
      await w.until('the new set', bound('10.0.0.2:8080'));
      expect(server.seen('list').length).toBe(2);
      if (goneAs === 'status') expect(server.requests.some((r) => r.status === 410)).toBe(true);
      // And an ERROR 410 on a live watch re-lists too.
      await w.until('a watch', () => server.watchCount === 1);
      server.expireWatches();
      await w.until('a third list', () => server.seen('list').length === 3);
    });
  }

  it('a broken watch publishes failed, then reconnects from its resourceVersion and replays the changes', async () => {
    const server = await startApi();
    server.createService('shop', 'api');
    server.putSlice('shop', 'api-a', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ address: '10.0.0.1' }],
    });
    const w = watch({ kubeconfig: file(kubeconfigYaml(server.url, `token: ${TOKEN}`)) });
    await w.until('the first set', bound('10.0.0.1:8080'));
    await w.until('a watch', () => server.watchCount === 1);
    server.failNext.watch.push(500, 503);
    server.resetWatches();
    server.putSlice('shop', 'api-b', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ address: '10.0.0.2' }],
    });
    const failed = await w.until('failed', (s) => s.kind === 'failed');
    expect((failed as { error: Error }).error).toBeInstanceOf(KubernetesApiError);
    await w.until('the replayed change', bound('10.0.0.1:8080', '10.0.0.2:8080'));
    expect(server.seen('list')).toHaveLength(1);
    expect(server.seen('watch').filter((r) => r.status === 500 || r.status === 503)).toHaveLength(2);
    // A line that is not JSON breaks the watch the same way.
    await w.until('a watch', () => server.watchCount === 1);
    server.garbleWatches();
    await w.until('failed on garbage', (s) => s.kind === 'failed' && /not JSON/.test(s.error.message));
    await w.until('bound again', bound('10.0.0.1:8080', '10.0.0.2:8080'));
  });

  it('a failing list (403) is failed until the server answers', async () => {
    const server = await startApi();
    server.createService('shop', 'api');
    server.putSlice('shop', 'api-a', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ address: '10.0.0.1' }],
    });
    server.failNext.list.push(403, 403);
    const w = watch({ kubeconfig: file(kubeconfigYaml(server.url, `token: ${TOKEN}`)) });
    const failed = await w.until('failed', (s) => s.kind === 'failed');
    expect((failed as unknown as { error: KubernetesApiError }).error.status).toBe(403);
    await w.until('bound', bound('10.0.0.1:8080'));
    expect(server.seen('list').length).toBe(3);
  });

  it('a Service check that fails is failed, not negative', async () => {
    const server = await startApi();
    server.createService('shop', 'api');
    server.failNext.service.push(500);
    const w = watch({ kubeconfig: file(kubeconfigYaml(server.url, `token: ${TOKEN}`)) });
    await w.until('failed', (s) => s.kind === 'failed');
    await w.until('negative', (s) => s.kind === 'negative' && s.reason.includes('exists'));
  });

  it('a server whose certificate the CA did not sign is failed (TLS is verified)', async () => {
    const server = await startApi();
    const other = makeKubePki();
    const config = kubeconfigYaml(server.url, `token: ${TOKEN}`).replace(
      Buffer.from(pki.ca).toString('base64'),
      Buffer.from(other.ca).toString('base64'),
    );
    const w = watch({ kubeconfig: file(config) });
    const failed = await w.until('failed', (s) => s.kind === 'failed');
    expect((failed as { error: Error }).error.message).toMatch(/certificate/i);
    expect(server.requests).toHaveLength(0);
  });

  it('authenticates with a client certificate named by relative paths, and reads kubeconfig as JSON', async () => {
    const server = await startApi();
    server.createService('shop', 'api');
    server.putSlice('shop', 'api-a', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ address: '10.0.0.1' }],
    });
    file(pki.clientCert, 'client.crt');
    file(pki.clientKey, 'client.key');
    file(pki.ca, 'ca.crt');
    const json = {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'c',
      clusters: [
        {
          name: 'k',
          cluster: {
            server: `https://kube.weft.test:${server.port}`,
            'certificate-authority': 'ca.crt',
            'tls-server-name': 'kube.weft.test',
          },
        },
      ],
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u', namespace: 'shop' } }],
      users: [{ name: 'u', user: { 'client-certificate': 'client.crt', 'client-key': 'client.key' } }],
    };
    // kube.weft.test does not resolve: the server URL's host is replaced by 127.0.0.1, the name kept for TLS.
    json.clusters[0]!.cluster.server = server.url;
    const w = watch({ kubeconfig: file(JSON.stringify(json)) });
    await w.until('bound', bound('10.0.0.1:8080'));
    expect(server.seen('list')[0]!.authorization).toBeUndefined();
  });

  it('in-cluster: reads the token file before every request, so a rotated token is used', async () => {
    const server = await startApi();
    server.createService('shop', 'api');
    server.putSlice('shop', 'api-a', 'api', {
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ address: '10.0.0.1' }],
    });
    const tokenFile = file(`${TOKEN}\n`, 'token');
    const w = watch({
      inCluster: {
        host: '127.0.0.1',
        port: server.port,
        tokenFile,
        caFile: file(pki.ca),
        namespaceFile: file('shop\n'),
      },
    });
    expect(w.resolver.description).toBe('kubernetes:shop/api:http');
    await w.until('bound', bound('10.0.0.1:8080'));
    await w.until('a watch', () => server.watchCount === 1);
    writeFileSync(tokenFile, 'token-two\n');
    server.tokens = new Set(['token-two']);
    server.endWatches();
    await w.until('a watch with the new token', () =>
      server.seen('watch').some((r) => r.authorization === 'Bearer token-two' && r.status === 200),
    );
    expect(w.states.every((s) => s.kind === 'bound')).toBe(true);
  });

  it('in-cluster without options reads KUBERNETES_SERVICE_HOST/PORT', () => {
    const saved = { ...process.env };
    try {
      process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
      process.env.KUBERNETES_SERVICE_PORT = '6443';
      // The default token path does not exist here: the error names it.
      expect(() => kubernetesResolver({ service: 'api', port: 'http' })).toThrow(/serviceaccount\/token/);
    } finally {
      process.env = saved;
    }
  });
});

describe('kubernetesResolver options (contract)', () => {
  const base = () => ({
    service: 'api',
    port: 'http',
    kubeconfig: file(kubeconfigYaml('https://127.0.0.1:1', `token: ${TOKEN}`)),
  });
  const bad: [string, Record<string, unknown>, string][] = [
    ['unknown key', { servce: 'x' }, 'kubernetes.servce'],
    ['service', { service: 'Api_1' }, 'kubernetes.service'],
    ['port', { port: 0 }, 'kubernetes.port'],
    ['port name', { port: 'HTTP!' }, 'kubernetes.port'],
    ['namespace', { namespace: 'Shop' }, 'kubernetes.namespace'],
    ['addressType', { addressType: 'v4' }, 'kubernetes.addressType'],
    ['watchTimeoutSeconds', { watchTimeoutSeconds: 0 }, 'kubernetes.watchTimeoutSeconds'],
    ['reconnect', { reconnect: { baseMs: -1 } }, 'kubernetes.reconnect.baseMs'],
    [
      'missing kubeconfig',
      { kubeconfig: join(tmpdir(), 'weft-no-such-kubeconfig') },
      'kubernetes.kubeconfig',
    ],
    ['both sources', { inCluster: true }, 'kubernetes.inCluster'],
    ['unknown context', { context: 'nope' }, 'kubernetes.kubeconfig'],
  ];
  for (const [what, change, option] of bad) {
    it(`rejects a bad ${what} with a ConfigError naming ${option}`, () => {
      let error: unknown;
      try {
        kubernetesResolver({ ...base(), ...change } as unknown as KubernetesResolverOptions);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
    });
  }

  it('refuses exec plugins, saying what to do instead', () => {
    const config = file(kubeconfigYaml('https://127.0.0.1:1', 'exec:\n  command: aws'));
    expect(() => kubernetesResolver({ service: 'api', port: 'http', kubeconfig: config })).toThrow(
      /exec.*kubectl create token/,
    );
  });

  it('refuses YAML it does not read, naming the line', () => {
    const config = file('apiVersion: v1\nclusters: &anchor\n- name: x\n');
    expect(() => kubernetesResolver({ service: 'api', port: 'http', kubeconfig: config })).toThrow(
      /line 2: anchors/,
    );
  });

  it('takes the namespace from the kubeconfig context unless given', () => {
    const r = kubernetesResolver({ ...base(), context: 'other' });
    resolvers.push(r);
    expect(r.description).toBe('kubernetes:default/api:http');
    const s = kubernetesResolver({ ...base(), namespace: 'pay', port: 8443 });
    resolvers.push(s);
    expect(s.description).toBe('kubernetes:pay/api:8443');
  });
});
