// Tests of the runnable examples: the demo's core on a short, low-concurrency run (success rates,
// retries and ejections counted at the backends, traffic shares and shutdown; no speed assertions), its flags and exit codes as a real process, the quick
// start, the deadline propagation example and the unit-testing example (MockAgent and VirtualClock). Loopback only; every server is closed.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DeadlineExceededError } from '../src/index.js';
import { startEtcd } from '../test/support/etcd.js';
import { main as deadlinePropagation } from './deadline-propagation.js';
import { parseDemoArgs, UsageError } from './demo/args.js';
import { FLAKY_LABEL, SLOW_LABEL } from './demo/backends.js';
import { type DemoSummary, runDemo } from './demo/demo.js';
import { main as etcdRegistration } from './etcd-registration.js';
import { runGrpcDemo } from './grpc-demo.js';
import { main as quickStart } from './quick-start.js';
import { main as serverExpress } from './server-express.js';
import { main as serverFastify } from './server-fastify.js';
import {
  deadlineBeforeSlowReply,
  ejectedEndpoint,
  retriedServiceUnavailable,
  main as testingWithMocks,
} from './testing-with-mocks.js';

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
  it('weft retries around the flaky replica, ejects it and avoids the slow one; naive does not; all closed', async () => {
    const before = tcpHandles();
    const lines: string[] = [];
    const summary: DemoSummary = await runDemo({
      durationMs: 1_500,
      concurrency: 4,
      warmupMs: 200,
      tickMs: 500,
      log: (text) => lines.push(text),
    });

    const [weft, naive] = summary.clients;
    expect(weft?.name).toBe('weft');
    expect(weft?.balancer).toBe('p2c-peak-ewma');
    expect(naive?.name).toBe('naive');
    expect(naive?.balancer).toBe('round-robin');
    for (const client of summary.clients) {
      expect(client.calls).toBeGreaterThan(20);
      const notOk = [...Object.values(client.statuses), ...Object.values(client.failures)];
      expect(client.succeeded + notOk.reduce((n, e) => n + e, 0)).toBe(client.calls);
      // Counted at the backends: attempts − calls, and the attempts that carried weft-attempt ≥ 2.
      expect(client.attempts).toBe(client.endpoints.reduce((n, e) => n + e.attempts, 0));
      expect(client.retries).toBe(client.attempts - client.calls);
      expect(client.endpoints.reduce((n, e) => n + e.retries, 0)).toBe(client.retries);
      // Probation's probes (marked weft-probe) are counted apart, and only weft sends them.
      expect(client.probes).toBe(client.endpoints.reduce((n, e) => n + e.probes, 0));
      expect(client.endpoints.map((e) => e.label)).toContain(SLOW_LABEL);
      // Only the flaky backend answers 503.
      for (const e of client.endpoints) if (e.label !== FLAKY_LABEL) expect(e.errors).toBe(0);
    }

    // The caller's view: weft retries the flaky replica's 503s elsewhere; naive passes them on.
    // (Naive expects ~92.5%: a quarter of its calls meet 30% 503s; short, loaded runs vary, so the
    // bound leaves room, and the point is the gap.)
    expect(weft!.successRate).toBeGreaterThanOrEqual(0.99);
    expect(naive!.successRate).toBeLessThan(0.98);
    expect(naive!.calls - naive!.succeeded).toBeGreaterThan(0);
    expect(weft!.retries).toBeGreaterThan(0);
    expect(naive!.retries).toBe(0);
    expect(naive!.probes).toBe(0);
    expect(weft!.ejections).toBeGreaterThanOrEqual(1);
    expect(weft!.endpoints.find((e) => e.label === FLAKY_LABEL)?.ejections).toBeGreaterThanOrEqual(1);
    expect(weft!.retryBudget).toEqual(expect.any(Number));
    expect(naive!.ejections).toBeNull(); // failure accrual off: no number made up
    expect(naive!.retryBudget).toBeNull(); // retries off
    expect(weft!.slowShare).toBeLessThan(0.1);
    expect(naive!.slowShare).toBeGreaterThan(0.15);

    expect(summary.closed).toEqual({ clients: true, servers: true });
    expect(await settledTcpHandles(before)).toBeLessThanOrEqual(before);

    const text = lines.join('\n');
    expect(text).toContain('retry: false, failureAccrual: false'); // the header names the setups
    expect(text).toContain('== weft (p2c-peak-ewma)');
    expect(text).toContain('== naive (round-robin)');
    expect(text).toMatch(/ state\n/); // the live table's accrual column
    expect(text).toMatch(/flaky-30%.* (alive|ejected|probing)\n/);
    expect(text).toContain('verdict: ');
    expect(text).not.toContain('n/a until');
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
    for (const client of parsed.clients) {
      expect(client).toHaveProperty('retries', expect.any(Number));
      expect(client).toHaveProperty('ejections');
      expect(client).toHaveProperty('retryBudget');
      expect(client).toHaveProperty('successRate', expect.any(Number));
    }
    expect(parsed.clients[0]?.retryBudget).toEqual(expect.any(Number));
    expect(parsed.clients[1]?.ejections).toBeNull();
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

  describe('testing with mocks', () => {
    it('a 503 then a 200: two attempts, the second marked weft-attempt 2', async () => {
      const result = await retriedServiceUnavailable();
      expect(result).toEqual({ name: 'Ada', attempts: [undefined, '2'] });
    });

    it('an endpoint that keeps failing is ejected after 5 failures, left alone, then probed once', async () => {
      const result = await ejectedEndpoint();
      expect(result.ejections[0]).toBe('127.0.0.1:8001');
      expect(result.failingBeforeEjection).toBe(5);
      expect(result.failingWhileEjected).toBe(0);
      expect(result.probes).toBe(1);
      expect(result.ejections).toEqual(['127.0.0.1:8001', '127.0.0.1:8001']); // the probe failed
      expect(result.succeeded).toBe(16); // 5 + 10 + 1 calls, every one retried onto the healthy backend
    });

    it('a reply 500 ms late fails a 100 ms deadline and fits a 1 s one, on the virtual clock', async () => {
      const started = performance.now();
      const result = await deadlineBeforeSlowReply();
      expect(result.error).toBeInstanceOf(DeadlineExceededError);
      expect((result.error as DeadlineExceededError).budgetMs).toBe(100);
      expect((result.error as DeadlineExceededError).attempts).toHaveLength(1);
      expect(result.name).toBe('Ada');
      expect(performance.now() - started).toBeLessThan(400); // no real waiting for the 500 ms
    });

    it('runs as a whole and logs the three cases', async () => {
      const lines: string[] = [];
      await testingWithMocks((text) => lines.push(text));
      expect(lines).toHaveLength(3);
      expect(lines[0]).toBe('503 then 200: got Ada after 2 attempts');
      expect(lines[2]).toContain('WEFT_DEADLINE_EXCEEDED with a 100 ms budget');
    });
  });
});

describe('etcd registration example', () => {
  it('registers with a lease kept alive past its TTL, is discovered and called, and revoking deletes the key', async () => {
    const etcd = await startEtcd();
    try {
      const lines: string[] = [];
      const result = await etcdRegistration((t) => lines.push(t), etcd.url, { ttlSeconds: 1, holdMs: 2_500 });
      expect(result.status).toBe(200);
      expect(result.body).toBe('hello from an instance registered in etcd');
      // Kept alive every TTL/3: the key outlived its TTL (etcd raises a 1 s TTL to its 1.5 s minimum).
      expect(result.keepAlives).toBeGreaterThanOrEqual(4);
      expect(result.presentBeforeRevoke).toBe(true);
      expect(result.staleAfterRevoke).toBe(true); // the resolver saw the delete
      expect(await etcd.list('services/hello/')).toEqual({});
      expect(lines[0]).toMatch(/^registered services\/hello\/instance-\d+ → 127\.0\.0\.1:\d+ with lease \d+/);
    } finally {
      await etcd.stop();
    }
  });
});

describe('gRPC demo', () => {
  it('weft retries the flaky replica elsewhere and keeps off the slow one; round robin does neither', async () => {
    const lines: string[] = [];
    const [weft, roundRobin] = await runGrpcDemo({
      durationMs: 1_000,
      concurrency: 4,
      log: (t) => lines.push(t),
    });
    expect(weft!.name).toBe('weft');
    expect(roundRobin!.name).toBe('grpc-js round_robin');
    for (const client of [weft!, roundRobin!]) expect(client.calls).toBeGreaterThan(20);
    expect(weft!.successRate).toBeGreaterThanOrEqual(0.99);
    expect(roundRobin!.successRate).toBeLessThan(0.98);
    expect(weft!.slowShare).toBeLessThan(roundRobin!.slowShare);
    expect(lines.join('\n')).toContain('slow replica share');
  });
});

describe('server half examples', () => {
  it.each([
    ['Express', serverExpress],
    ['Fastify', serverFastify],
  ])(
    '%s: the deadline shrinks on its way to the backend; a draining replica loses no call',
    async (_name, run) => {
      const lines: string[] = [];
      const result = await run((text) => lines.push(text));
      expect(result.backendReceivedMs).toBeGreaterThan(0);
      expect(result.backendReceivedMs).toBeLessThanOrEqual(result.budgetMs - 20);
      expect(result.failedWhileDraining).toBe(0);
      expect(result.servedWhileDraining).toEqual({ 'replica-2': result.callsWhileDraining });
      expect(lines).toHaveLength(2);
      expect(lines[1]).toContain('0 failed');
    },
  );
});
