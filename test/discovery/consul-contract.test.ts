/**
 * consulResolver against a Consul HTTP API held to the documented blocking-query contract
 * (test/support/consul-api.ts; no Consul binary can run here): passing instances only, address
 * fallback, weights, tags, meta and zone, blocking queries with index and wait, the index-reset
 * rules, the catalog deciding "does not exist", ACL token and datacenter, failures and recovery.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import type { EndpointSetState, Resolver } from '../../src/discovery/resolver.js';
import {
  ConsulApiError,
  type ConsulResolverOptions,
  consulResolver,
  type Endpoint,
} from '../../src/discovery.js';
import { ConsulApiServer } from '../support/consul-api.js';

let consul: ConsulApiServer | undefined;
const resolvers: Resolver[] = [];
afterEach(async () => {
  for (const r of resolvers.splice(0)) r.close();
  await consul?.close();
  consul = undefined;
});

async function startConsul(): Promise<ConsulApiServer> {
  consul = await ConsulApiServer.start();
  return consul;
}

function watch(options: Partial<ConsulResolverOptions>) {
  const resolver = consulResolver({
    service: 'api',
    address: consul!.address,
    reconnect: { baseMs: 20, maxMs: 100 },
    ...options,
  } as ConsulResolverOptions);
  resolvers.push(resolver);
  const states: EndpointSetState[] = [];
  resolver.subscribe((s) => states.push(s));
  const last = () => states[states.length - 1];
  return {
    resolver,
    states,
    async until(what: string, predicate: (state: EndpointSetState) => boolean): Promise<EndpointSetState> {
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
const held = (server: ConsulApiServer) => () => server.heldCount === 1;

describe('consulResolver (contract)', () => {
  it('publishes passing instances with address fallback, weights, tags, meta and zone, with token and dc', async () => {
    const server = await startConsul();
    server.token = 'secret';
    server.register('api', {
      id: 'api-1',
      node: 'n1',
      nodeAddress: '10.0.0.1',
      port: 8080,
      tags: ['v2', 'blue'],
      meta: { version: '2.1', zone: 'zone-a' },
      weight: 3,
    });
    server.register('api', {
      id: 'api-2',
      node: 'n2',
      nodeAddress: '10.0.0.2',
      address: '10.1.0.2',
      port: 8081,
      nodeMeta: { zone: 'zone-b' },
    });
    server.register('api', {
      id: 'api-3',
      node: 'n3',
      nodeAddress: '10.0.0.3',
      port: 8080,
      status: 'critical',
    });
    server.register('api', {
      id: 'api-4',
      node: 'n4',
      nodeAddress: '10.0.0.4',
      port: 8080,
      status: 'warning',
    });
    const w = watch({ token: 'secret', datacenter: 'dc1', zoneMetaKey: 'zone' });
    expect(w.resolver.description).toBe('consul:api@dc1');
    const state = await w.until('the first set', bound('10.0.0.1:8080', '10.1.0.2:8081'));
    const endpoints = (state as unknown as { endpoints: Endpoint[] }).endpoints;
    const one = endpoints.find((e) => e.host === '10.0.0.1')!;
    expect(one.weight).toBe(3);
    expect(one.zone).toBe('zone-a');
    expect(one.metadata).toEqual({
      id: 'api-1',
      node: 'n1',
      tags: 'v2,blue',
      'meta.version': '2.1',
      'meta.zone': 'zone-a',
    });
    expect(endpoints.find((e) => e.host === '10.1.0.2')!.zone).toBe('zone-b');
    const first = server.healthQueries()[0]!;
    expect(first.token).toBe('secret');
    expect(first.query.get('dc')).toBe('dc1');
    expect(first.query.has('passing')).toBe(true);
    expect(first.query.has('index')).toBe(false);
    await w.until('a blocking query', held(server));
    const second = server.healthQueries()[1]!;
    expect(second.query.get('index')).toBe(String(server.indexOf('api')));
    expect(second.query.get('wait')).toBe('60s');
  });

  it('blocking queries deliver registrations, deregistrations and health changes', async () => {
    const server = await startConsul();
    server.register('api', { id: 'api-1', node: 'n1', nodeAddress: '10.0.0.1', port: 8080 });
    const w = watch({});
    await w.until('the first set', bound('10.0.0.1:8080'));
    await w.until('a blocking query', held(server));
    server.register('api', { id: 'api-2', node: 'n2', nodeAddress: '10.0.0.2', port: 8080 });
    await w.until('a registration', bound('10.0.0.1:8080', '10.0.0.2:8080'));
    await w.until('a blocking query', held(server));
    server.setStatus('api', 'api-1', 'critical');
    await w.until('a failing check', bound('10.0.0.2:8080'));
    await w.until('a blocking query', held(server));
    server.deregister('api', 'api-2');
    server.setStatus('api', 'api-1', 'passing');
    await w.until('recovery', bound('10.0.0.1:8080'));
  });

  it('the catalog decides: an unknown service is negative', async () => {
    const server = await startConsul();
    server.register('web', { id: 'web-1', node: 'n1', nodeAddress: '10.0.0.1', port: 80 });
    const w = watch({});
    const state = await w.until('negative', (s) => s.kind === 'negative');
    expect((state as { reason: string }).reason).toBe('Consul\'s catalog has no service "api"');
    expect(server.requests.some((r) => r.path === '/v1/catalog/service/api')).toBe(true);
    server.register('api', { id: 'api-1', node: 'n1', nodeAddress: '10.0.0.1', port: 8080 });
    await w.until('registered', bound('10.0.0.1:8080'));
  });

  it('a known service with no passing instance is bound([]) by default, negative when asked', async () => {
    const server = await startConsul();
    server.register('api', { id: 'api-1', node: 'n1', nodeAddress: '10.0.0.1', port: 8080 });
    const keep = watch({});
    const fail = watch({ nonePassing: 'negative' });
    await keep.until('bound', bound('10.0.0.1:8080'));
    await fail.until('bound', bound('10.0.0.1:8080'));
    await keep.until('two blocking queries', () => server.heldCount === 2);
    server.setStatus('api', 'api-1', 'critical');
    await keep.until('empty', (s) => s.kind === 'bound' && s.endpoints.length === 0);
    const negative = await fail.until('negative', (s) => s.kind === 'negative');
    expect((negative as { reason: string }).reason).toBe(
      'service "api" is registered (1 instances) but none passes its health checks',
    );
  });

  it('an index that goes backwards resets to a fresh read, so later changes are not missed', async () => {
    const server = await startConsul();
    for (let i = 0; i < 30; i++)
      server.register('other', { id: `o${i}`, node: 'n', nodeAddress: '10.9.0.1', port: 80 });
    server.register('api', { id: 'api-1', node: 'n1', nodeAddress: '10.0.0.1', port: 8080 });
    const w = watch({ waitSeconds: 1 });
    await w.until('bound', bound('10.0.0.1:8080'));
    await w.until('a blocking query', held(server));
    const before = server.indexOf('api');
    server.restoreIndex(5);
    server.register('api', { id: 'api-2', node: 'n2', nodeAddress: '10.0.0.2', port: 8080 });
    expect(server.indexOf('api')).toBeLessThan(before);
    await w.until('the change after the restore', bound('10.0.0.1:8080', '10.0.0.2:8080'));
    // The set can come from the answer that carried the lower index, before the fresh read that
    // answer calls for has gone out: wait for it (bounded).
    const freshRead = () =>
      server
        .healthQueries()
        .slice(2)
        .some((q) => !q.query.has('index'));
    for (let i = 0; i < 200 && !freshRead(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(freshRead()).toBe(true);
  });

  it('an index of 0 is never sent back, and the loop is rate-limited', async () => {
    const server = await startConsul();
    server.zeroIndex = true;
    server.register('api', { id: 'api-1', node: 'n1', nodeAddress: '10.0.0.1', port: 8080 });
    const w = watch({ minIntervalMs: 100 });
    await w.until('bound', bound('10.0.0.1:8080'));
    const start = server.healthQueries().length;
    await new Promise((r) => setTimeout(r, 600));
    const count = server.healthQueries().length - start;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(8);
    expect(server.healthQueries().every((q) => !q.query.has('index'))).toBe(true);
  });

  it('errors are failed (the client keeps the last set), and the recovery shows at once, not after a wait', async () => {
    const server = await startConsul();
    server.register('api', { id: 'api-1', node: 'n1', nodeAddress: '10.0.0.1', port: 8080 });
    const w = watch({}); // wait 60 s: a blocking retry would hide the recovery for a minute
    await w.until('bound', bound('10.0.0.1:8080'));
    await w.until('a blocking query', held(server));
    server.failNext.push(500, 500);
    server.register('api', { id: 'api-2', node: 'n2', nodeAddress: '10.0.0.2', port: 8080 });
    const failed = await w.until('failed', (s) => s.kind === 'failed');
    expect((failed as unknown as { error: ConsulApiError }).error).toBeInstanceOf(ConsulApiError);
    expect((failed as unknown as { error: ConsulApiError }).error.status).toBe(500);
    await w.until(
      'bound again',
      (s) => s.kind === 'bound' && w.states.filter((x) => x.kind === 'failed').length === 2,
    );
    expect(addresses(w.states[w.states.length - 1]!)).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
  });

  it('a wrong ACL token or datacenter is failed, not negative', async () => {
    const server = await startConsul();
    server.token = 'secret';
    server.register('api', { id: 'api-1', node: 'n1', nodeAddress: '10.0.0.1', port: 8080 });
    const noToken = watch({});
    const denied = await noToken.until('failed', (s) => s.kind === 'failed');
    expect((denied as unknown as { error: ConsulApiError }).error.status).toBe(403);
    const wrongDc = watch({ token: 'secret', datacenter: 'dc9' });
    const noPath = await wrongDc.until('failed', (s) => s.kind === 'failed');
    expect((noPath as { error: Error }).error.message).toMatch(/No path to datacenter/);
  });

  it('a request that gets no answer times out after wait × 17/16 + 5 s and is failed', async () => {
    const server = await startConsul();
    server.hang = true;
    const w = watch({ waitSeconds: 1 });
    const failed = await w.until('failed', (s) => s.kind === 'failed');
    expect((failed as { error: Error }).error.message).toMatch(/no answer within 6063 ms/);
  }, 15_000);

  it('an address that is not Consul (no X-Consul-Index) is failed', async () => {
    const server = await startConsul();
    const w = watch({ address: `${server.address}/not-consul/` });
    const failed = await w.until('failed', (s) => s.kind === 'failed');
    expect((failed as { error: Error }).error.message).toMatch(/404|X-Consul-Index/);
  });
});

describe('consulResolver options (contract)', () => {
  const bad: [string, Record<string, unknown>, string][] = [
    ['unknown key', { servce: 'x' }, 'consul.servce'],
    ['service', { service: 'a/b' }, 'consul.service'],
    ['address', { address: 'ftp://x' }, 'consul.address'],
    ['waitSeconds', { waitSeconds: 601 }, 'consul.waitSeconds'],
    ['nonePassing', { nonePassing: 'empty' }, 'consul.nonePassing'],
    ['token', { token: '' }, 'consul.token'],
    ['reconnect', { reconnect: { maxMs: -1 } }, 'consul.reconnect.maxMs'],
  ];
  for (const [what, change, option] of bad) {
    it(`rejects a bad ${what} with a ConfigError naming ${option}`, () => {
      let error: unknown;
      try {
        consulResolver({ service: 'api', ...change } as unknown as ConsulResolverOptions);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
    });
  }
});
