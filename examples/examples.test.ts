// Tests of the runnable examples: the demo's core on a short, low-concurrency run (traffic shares
// and shutdown only, no speed assertions), its flags and exit codes as a real process, the quick
// start and the deadline propagation example. Loopback only; every server is closed.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main as deadlinePropagation } from './deadline-propagation.js';
import { parseDemoArgs, UsageError } from './demo/args.js';
import { SLOW_LABEL } from './demo/backends.js';
import { type DemoSummary, runDemo } from './demo/demo.js';
import { main as quickStart } from './quick-start.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Loopback servers and sockets alive now (node's active handle names). */
function tcpHandles(): number {
  return process
    .getActiveResourcesInfo()
    .filter((name) => name === 'TCPServerWrap' || name === 'TCPSocketWrap').length;
}

async function settledTcpHandles(atMost: number): Promise<number> {
  for (let i = 0; i < 50 && tcpHandles() > atMost; i++) await new Promise((r) => setTimeout(r, 20));
  return tcpHandles();
}

/** Run the demo entry point as its own process, the way `npm run demo` does. */
function runDemoProcess(args: readonly string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'examples/demo/main.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 15_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('demo', () => {
  it('keeps weft off the slow replica, round robin does not, and closes everything', async () => {
    const before = tcpHandles();
    const lines: string[] = [];
    const summary: DemoSummary = await runDemo({
      durationMs: 1_500,
      concurrency: 4,
      warmupMs: 200,
      tickMs: 500,
      log: (text) => lines.push(text),
    });

    const [weft, baseline] = summary.clients;
    expect(weft?.balancer).toBe('p2c-peak-ewma');
    expect(baseline?.balancer).toBe('round-robin');
    for (const client of summary.clients) {
      expect(client.calls).toBeGreaterThan(20);
      const responses = client.endpoints.reduce((n, e) => n + e.requests, 0);
      const failed = Object.values(client.failures).reduce((n, e) => n + e, 0);
      expect(responses + failed).toBe(client.calls);
      expect(client.endpoints.map((e) => e.label)).toContain(SLOW_LABEL);
      expect(client.retries).toBeNull();
      expect(client.ejections).toBeNull();
    }
    expect(weft!.slowShare).toBeLessThan(0.1);
    expect(baseline!.slowShare).toBeGreaterThan(0.15);
    // Only the flaky backend answers 503.
    for (const e of weft!.endpoints) if (!e.label.startsWith('flaky')) expect(e.errors).toBe(0);

    expect(summary.closed).toEqual({ clients: true, servers: true });
    expect(await settledTcpHandles(before)).toBeLessThanOrEqual(before);

    const text = lines.join('\n');
    expect(text).toContain('== p2c-peak-ewma');
    expect(text).toContain('== round-robin');
    expect(text).toContain('verdict: ');
    expect(text.includes('\u001b[')).toBe(false); // no ANSI codes unless asked for colour
  });

  it('prints one JSON object and no tables with json: true', async () => {
    const lines: string[] = [];
    const summary = await runDemo({
      durationMs: 300,
      concurrency: 2,
      warmupMs: 0,
      json: true,
      log: (t) => lines.push(t),
    });
    expect(lines).toHaveLength(1);
    const parsed = JSON.parse(lines[0]!) as DemoSummary;
    expect(parsed.clients.map((c) => c.balancer)).toEqual(['p2c-peak-ewma', 'round-robin']);
    expect(parsed.verdict).toBe(summary.verdict);
  });

  it('stops at the request cap before the time is up', async () => {
    const summary = await runDemo({
      durationMs: 10_000,
      concurrency: 2,
      maxRequests: 30,
      warmupMs: 0,
      log: () => {},
    });
    for (const client of summary.clients) expect(client.calls).toBe(30);
  });
});

describe('demo flags', () => {
  it('parses --duration, --concurrency and --json', () => {
    expect(parseDemoArgs(['--duration', '2.5', '--concurrency', '8', '--json'])).toEqual({
      help: false,
      durationMs: 2_500,
      concurrency: 8,
      json: true,
    });
    expect(parseDemoArgs([])).toMatchObject({ durationMs: 10_000, concurrency: 16, json: false });
  });

  it.each([
    [['--duration', 'abc']],
    [['--duration', '0']],
    [['--duration', '']],
    [['--concurrency', '2.5']],
    [['--bogus']],
    [['extra']],
  ])('rejects %j', (argv) => {
    expect(() => parseDemoArgs(argv)).toThrow(UsageError);
  });

  it('exits 2 with a clear message on a bad value', () => {
    const run = runDemoProcess(['--duration', 'soon']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--duration must be a number');
  });

  it('runs as a process without a TTY and exits 0 by itself', () => {
    const run = runDemoProcess(['--duration', '0.3', '--concurrency', '2', '--json']);
    expect(run.error).toBeUndefined(); // not killed by the timeout: nothing kept it alive
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout.trim()) as DemoSummary;
    expect(summary.closed).toEqual({ clients: true, servers: true });
  });
});

describe('examples', () => {
  it('quick start fetches through weft', async () => {
    const result = await quickStart(() => {});
    expect(result.status).toBe(200);
    expect(result.body).toMatch(/^hello from backend [12]$/);
  });

  it('deadline propagation hands the back server less time than the front had', async () => {
    const result = await deadlinePropagation(() => {});
    expect(result.frontReceivedMs).toBeGreaterThan(0);
    expect(result.frontReceivedMs).toBeLessThanOrEqual(result.budgetMs);
    expect(result.backReceivedMs).toBeGreaterThan(0);
    expect(result.backReceivedMs).toBeLessThan(result.frontReceivedMs - 40);
  });
});
