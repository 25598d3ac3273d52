/**
 * The admin page's line per discovery source, in real headless Chromium (Debian's
 * /usr/bin/chromium, driven by playwright-core, as in ./admin-browser.test.ts): a client whose
 * fallback resolver serves from its static fallback because the primary failed shows one line per
 * source, the serving one marked, with state, counts and the primary's last error. A missing
 * Chromium fails the test. Loopback only; everything is closed.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fallbackResolver } from '../../src/discovery/fallback.js';
import type { EndpointSetListener, Resolver } from '../../src/discovery/resolver.js';
import { staticResolver } from '../../src/index.js';
import { startAdminServer } from '../../src/telemetry/admin.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'];

const { backends, client } = loopbackFixtures();

let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's package (\`apt-get install chromium\`)`,
    );
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 });
});

afterAll(async () => {
  await browser?.close();
});

/** A primary that cannot reach its server: it fails on subscribe. */
const unreachable: Resolver = {
  description: 'etcd:/services/api',
  subscribe(listener: EndpointSetListener) {
    listener({ kind: 'failed', error: new Error('connect ECONNREFUSED 127.0.0.1:2379') });
    return () => {};
  },
  close() {},
};

describe('admin page: discovery sources in headless Chromium', () => {
  it('shows a line per source, the serving one marked, with its state, counts and last error', async () => {
    const b = await backends.start(replyAfter(0));
    const api = client({
      name: 'api',
      resolver: fallbackResolver([unreachable, staticResolver([b.address], { description: 'static(api)' })]),
    });
    await (await api.request({ path: '/' })).body.text();
    const admin = await startAdminServer({ clients: [api] });
    if (browser === undefined) throw new Error('the browser did not start (see beforeAll)');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await page.goto(admin.url);
      const lines = page.locator('section.client[data-client="api"] li.source');
      await lines.first().waitFor({ timeout: 5_000 });
      expect(await lines.count()).toBe(2);
      const primary = lines.nth(0);
      const fallback = lines.nth(1);
      expect(await primary.getAttribute('data-source')).toBe('etcd:/services/api');
      expect(await primary.getAttribute('data-serving')).toBe('false');
      expect(await primary.textContent()).toMatch(
        /^etcd:\/services\/api: not serving, failed, 1 update, 1 error, last [\d.]+ s ago, last error: connect ECONNREFUSED 127\.0\.0\.1:2379$/,
      );
      expect(await fallback.getAttribute('data-serving')).toBe('true');
      expect(await fallback.getAttribute('class')).toBe('source serving');
      expect(await fallback.textContent()).toMatch(
        /^static\(api\): serving for [\d.]+ s, bound, 1 update, 0 errors, last [\d.]+ s ago$/,
      );
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await admin.close();
    }
  });
});
