/**
 * The admin page end to end in real headless Chromium (Debian's /usr/bin/chromium, which .ci/run
 * installs, driven by playwright-core): a weft client under light load against three loopback
 * backends, one answering 503 to everything until failure accrual ejects it for 60–120 s; the page
 * must list all three endpoints, mark that one ejected, keep refreshing, and request nothing but
 * its own origin. A missing Chromium fails the test. Loopback only; everything is closed.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpClient, staticResolver } from '../../src/index.js';
import { createAdminHandler, startAdminServer } from '../../src/telemetry/admin.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';

const CHROMIUM = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const { backends, client } = loopbackFixtures();

let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's package with \`apt-get install chromium\` ` +
        '(.ci/run does this); this test needs a real browser and does not skip',
    );
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 });
});

afterAll(async () => {
  await browser?.close();
});

const unavailable = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(503, { 'content-type': 'text/plain' });
  res.end('down');
};

/** A page that records every request it makes and every script or console error. */
async function openPage(): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  if (browser === undefined) throw new Error('the browser did not start (see beforeAll)');
  const page = await browser.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (req) => requests.push(req.url()));
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return { page, requests, errors };
}

/** The element's text, as the DOM has it (`textContent`), trimmed. */
async function text(locator: Locator): Promise<string> {
  return ((await locator.textContent()) ?? '').trim();
}

/** Calls in a loop until stopped, so the page watches a client that is working. */
function backgroundLoad(c: HttpClient): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      const res = await c.request({ path: '/' });
      await res.body.text();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

describe('admin page in headless Chromium', () => {
  it('shows the endpoints of a running client and marks the failing one ejected', async () => {
    const good1 = await backends.start(replyAfter(1));
    const good2 = await backends.start(replyAfter(1));
    const bad = await backends.start(unavailable);
    // The 503 backend is alone at first, so that every call reaches it until failure accrual
    // ejects it (with all three from the start, P2C may stop picking it after one slow answer);
    // then the healthy ones join, and the bad one's history stays with it.
    const resolver = staticResolver([bad.address]);
    const weft = client({
      name: 'demo-weft',
      resolver,
      failureAccrual: { minEjectionMs: 60_000 },
    });
    const ejected = () => weft.endpoints().find((e) => e.address === bad.address)?.accrual?.state === 'dead';
    for (let i = 0; i < 10 && !ejected(); i++) {
      const res = await weft.request({ path: '/' });
      await res.body.text();
    }
    expect(ejected(), 'failure accrual ejected the 503 backend').toBe(true);
    resolver.update([good1.address, good2.address, bad.address]);

    const token = 'browser-test-token';
    const admin = await startAdminServer({ clients: [weft], token });
    const stopLoad = backgroundLoad(weft);
    const { page, requests, errors } = await openPage();
    try {
      await page.goto(`${admin.url}?token=${token}`);
      const section = page.locator('section.client[data-client="demo-weft"]');
      await section.locator(`tr[data-address="${bad.address}"]`).waitFor({ timeout: 5_000 });

      expect(await text(section.locator('h2'))).toBe('demo-weft p2c-peak-ewma');
      const shown = await section.locator('tbody td.address').allTextContents();
      expect(shown.sort()).toEqual([good1.address, good2.address, bad.address].sort());
      const badRow = section.locator(`tr[data-address="${bad.address}"]`);
      expect(await badRow.getAttribute('class')).toMatch(/\bejected\b/);
      expect(await text(badRow.locator('td.state'))).toMatch(/^ejected \(\d+ s left\)$/);
      expect(await text(badRow.locator('td.status'))).toBe('busy');
      for (const b of [good1, good2]) {
        const row = section.locator(`tr[data-address="${b.address}"]`);
        expect(await text(row.locator('td.state'))).toBe('alive');
        expect(await row.getAttribute('class')).toBeNull();
      }
      const facts = await text(section.locator('.facts'));
      expect(facts).toContain('1 of 3 ejected');
      expect(facts).toContain('discovery bound, 3 endpoints');
      // One cost bar spans the whole track: the costliest endpoint's.
      const widths = await section
        .locator('.bar.cost .fill')
        .evaluateAll((bars) =>
          bars.map((b) => Number.parseFloat((b as unknown as { style: { width: string } }).style.width)),
        );
      expect(widths).toHaveLength(3);
      expect(Math.max(...widths)).toBe(100);
      // Success over the last 30 s: every attempt to the ejected backend failed (a red, empty
      // bar), every one to the others succeeded (a full bar); and each shows its EWMA.
      expect(await text(badRow.locator('.bar.success span'))).toMatch(/^0\.0% of \d+$/);
      expect(await badRow.locator('.bar.success .fill').getAttribute('class')).toBe('fill low');
      for (const b of [good1, good2]) {
        const row = section.locator(`tr[data-address="${b.address}"]`);
        expect(await text(row.locator('.bar.success span'))).toMatch(/^100\.0% of \d+$/);
        expect(await row.locator('.bar.success .fill').getAttribute('style')).toContain('width: 100%');
        expect(await text(row.locator('td.ewma'))).toMatch(/^\d+\.\d ms$/);
      }

      // It keeps refreshing (about once a second), and never asks anything but its own origin.
      await expect
        .poll(() => requests.filter((url) => url.includes('/state.json')).length, { timeout: 4_000 })
        .toBeGreaterThanOrEqual(3);
      expect(await text(page.locator('#status'))).toContain('updated');
      const origin = new URL(admin.url).origin;
      expect(requests.filter((url) => /^https?:/.test(url) && new URL(url).origin !== origin)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await stopLoad();
      await admin.close();
    }
  });

  it('works under an Express-style mount without a trailing slash, and shows names as text', async () => {
    const a = await backends.start(replyAfter(0));
    const named = client({ name: '<b id="x">users</b>', endpoints: [a.address], failureAccrual: false });
    const handler = createAdminHandler({ clients: [named] });
    const server = createServer((req, res) => {
      const url = req.url ?? '/';
      if (url === '/weft' || url.startsWith('/weft/')) {
        req.url = url.slice('/weft'.length) || '/';
        handler(req, res, () => res.writeHead(404).end());
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { page, errors } = await openPage();
    try {
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/weft`);
      const row = page.locator(`tr[data-address="${a.address}"]`);
      await row.waitFor({ timeout: 5_000 });
      expect(await text(row.locator('td.state'))).toBe('off');
      expect(await text(page.locator('section.client h2'))).toBe('<b id="x">users</b> p2c-peak-ewma');
      expect(await page.locator('#x').count()).toBe(0); // the name was not parsed as HTML
      expect(await text(page.locator('.facts'))).toContain('retry budget');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
