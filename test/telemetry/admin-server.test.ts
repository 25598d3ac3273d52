/**
 * The server half on the admin page, driven through the documented contract: plain objects
 * implementing ObservedServer, and the ServerObserver hooks that `adminServerTelemetry()`
 * returns, called as an adapter would. Checks the exact `servers` JSON (from `adminState` and
 * over loopback from `startAdminServer`, array and function forms), rejection counts (null until
 * the plugin is attached, one count when two plugins are attached, `servers()` dropping a closed
 * server), ConfigErrors and a 500 for bad servers, and, in headless Chromium, that the page draws
 * the server table beside a client. Every server, client and browser is closed.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { adminServerTelemetry, adminState } from '../../src/admin.js';
import { ConfigError } from '../../src/index.js';
import { type AdminServer, createAdminHandler, startAdminServer } from '../../src/telemetry/admin.js';
import type { AdminState } from '../../src/telemetry/admin-state.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';

const { backends, client } = loopbackFixtures();

const admins: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(admins.splice(0).map((a) => a.close()));
});

/** A server as an adapter exposes it: plain fields the test changes as it goes. */
interface FakeServer {
  name: string;
  inflight: number;
  limit: number | undefined;
  algorithm: string | undefined;
  draining: boolean;
}

function fakeServer(name: string, overrides: Partial<FakeServer> = {}): FakeServer {
  return { name, inflight: 0, limit: 20, algorithm: 'gradient2', draining: false, ...overrides };
}

async function stateOf(admin: AdminServer): Promise<AdminState> {
  const res = await fetch(`${admin.url}state.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as AdminState;
}

describe('servers in the admin JSON', () => {
  it('shows each server’s gauges, and its rejections by reason once the plugin is attached', () => {
    const api = fakeServer('api', { inflight: 7, limit: 24 });
    const batch = fakeServer('batch', { limit: undefined, algorithm: undefined, draining: true });
    expect(adminState([], undefined, [api, batch]).servers).toEqual([
      { name: 'api', inflight: 7, limit: 24, algorithm: 'gradient2', draining: false, rejected: null },
      { name: 'batch', inflight: 0, limit: null, algorithm: null, draining: true, rejected: null },
    ]);

    const telemetry = adminServerTelemetry();
    const hooks = telemetry.attach(api);
    hooks.requestRejected?.('/users/:id', 'overload');
    hooks.requestRejected?.('/users/:id', 'overload');
    hooks.requestRejected?.('/users/:id', 'expired');
    hooks.requestRejected?.('/users/:id', 'bored' as never);
    hooks.requestFinished?.('/users/:id', 200, 3);
    hooks.deadlineReceived?.(100);
    api.inflight = 2;
    api.draining = true;
    expect(adminState([], undefined, [api]).servers).toEqual([
      {
        name: 'api',
        inflight: 2,
        limit: 24,
        algorithm: 'gradient2',
        draining: true,
        rejected: { overload: 2, draining: 0, expired: 1 },
      },
    ]);
    expect(adminState([]).servers).toEqual([]);
  });

  it('counts a server once when two plugins are attached, and lists the servers each is attached to', () => {
    const api = fakeServer('api');
    const first = adminServerTelemetry();
    const second = adminServerTelemetry();
    const one = first.attach(api);
    const two = second.attach(api);
    // The server calls every plugin's hooks for each rejection: two rejections, heard twice each.
    for (let i = 0; i < 2; i++) {
      one.requestRejected?.('/', 'draining');
      two.requestRejected?.('/', 'draining');
    }
    expect(adminState([], undefined, [api]).servers[0]?.rejected).toEqual({
      overload: 0,
      draining: 2,
      expired: 0,
    });
    const other = fakeServer('other');
    const three = first.attach(other);
    expect(first.servers()).toEqual([api, other]);
    expect(second.servers()).toEqual([api]);
    three.close?.();
    two.close?.();
    expect(first.servers()).toEqual([api]);
    expect(second.servers()).toEqual([]);
  });

  it('is served beside the clients by startAdminServer, from an array or a function', async () => {
    const b = await backends.start(replyAfter(0));
    const users = client({ name: 'users', endpoints: [b.address] });
    const api = fakeServer('api', { inflight: 1 });
    const telemetry = adminServerTelemetry();
    const hooks = telemetry.attach(api);
    hooks.requestRejected?.('/', 'overload');

    const fixed = await startAdminServer({ clients: [users], servers: [api] });
    admins.push(fixed);
    const state = await stateOf(fixed);
    expect(Object.keys(state)).toEqual(['generatedAt', 'servers', 'clients']);
    expect(state.servers).toEqual([
      {
        name: 'api',
        inflight: 1,
        limit: 20,
        algorithm: 'gradient2',
        draining: false,
        rejected: { overload: 1, draining: 0, expired: 0 },
      },
    ]);
    expect(state.clients.map((c) => c.name)).toEqual(['users']);

    // The function form is read on every request: a server attached later shows up.
    const dynamic = await startAdminServer({ clients: [], servers: () => telemetry.servers() });
    admins.push(dynamic);
    expect((await stateOf(dynamic)).servers.map((s) => s.name)).toEqual(['api']);
    telemetry.attach(fakeServer('late', { limit: undefined, algorithm: undefined }));
    expect((await stateOf(dynamic)).servers.map((s) => [s.name, s.limit, s.rejected?.overload])).toEqual([
      ['api', 20, 1],
      ['late', null, 0],
    ]);
    // Without `servers`, the list is empty.
    const none = await startAdminServer({ clients: [users] });
    admins.push(none);
    expect((await stateOf(none)).servers).toEqual([]);
  });

  it('names a bad server in a ConfigError, and answers 500 when the function returns one', async () => {
    const option = (servers: unknown) => {
      try {
        createAdminHandler({ clients: [], servers: servers as never });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).option;
      }
      return undefined;
    };
    expect(option('api')).toBe('servers');
    expect(option([fakeServer('api'), { name: 'half' }])).toBe('servers[1]');
    expect(option([fakeServer('api')])).toBeUndefined();

    const admin = await startAdminServer({ clients: [], servers: () => [{ name: 'half' }] as never });
    admins.push(admin);
    const res = await fetch(`${admin.url}state.json`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'servers[0] is not a server' });
  });
});

describe('servers on the admin page', () => {
  const CHROMIUM = '/usr/bin/chromium';

  it('draws the server table beside the clients in headless Chromium', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: \`apt-get install chromium\` (.ci/run does this)`);
    }
    const b = await backends.start(replyAfter(0));
    const users = client({ name: 'users', endpoints: [b.address] });
    const api = fakeServer('api', { inflight: 30, limit: 24 });
    const batch = fakeServer('batch', { limit: undefined, algorithm: undefined, draining: true });
    const hooks = adminServerTelemetry().attach(api);
    hooks.requestRejected?.('/', 'overload');
    hooks.requestRejected?.('/', 'expired');
    const admin = await startAdminServer({ clients: [users], servers: [api, batch] });
    admins.push(admin);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run'],
      timeout: 15_000,
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(admin.url);
      const apiRow = page.locator('section.servers tr[data-server="api"]');
      await apiRow.waitFor({ timeout: 5_000 });
      const cells = async (row: typeof apiRow) =>
        (await row.locator('td').allTextContents()).map((t) => t.trim());
      expect(await cells(apiRow)).toEqual(['api', 'serving', '30', '24', 'gradient2', '125%', '1', '0', '1']);
      expect(await apiRow.locator('.bar.load .fill').getAttribute('class')).toBe('fill low');
      const batchRow = page.locator('section.servers tr[data-server="batch"]');
      expect(await batchRow.getAttribute('class')).toBe('draining');
      expect(await cells(batchRow)).toEqual([
        'batch',
        'draining',
        '0',
        '-',
        'no limiter',
        '-',
        '-',
        '-',
        '-',
      ]);
      // The clients are still drawn after the servers.
      await page.locator('section.client[data-client="users"]').waitFor({ timeout: 5_000 });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
