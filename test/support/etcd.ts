/**
 * Test helper: a real single-member etcd (Debian's etcd-server, 3.4 here) on free loopback ports
 * with a temporary data directory, started in about a second, and a few calls of its JSON gateway
 * for the tests to change the store with (put, delete, compact, leases). `stop()` ends the process
 * and deletes the directory. The command line is the one verified in research next-wave §B3.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A running etcd. */
export interface Etcd {
  /** The client URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** The client port. */
  readonly port: number;
  /** Put `value` at `key` (optionally attached to a lease); resolves with the store's new revision. */
  put(key: string, value: string, lease?: string): Promise<number>;
  /** Delete `key`; resolves with the store's new revision. */
  delete(key: string): Promise<number>;
  /** The store's current revision. */
  revision(): Promise<number>;
  /** Compact the history up to `revision` (physical: returns once it is done). */
  compact(revision: number): Promise<void>;
  /** The keys under `prefix` with their values. */
  list(prefix: string): Promise<Record<string, string>>;
  /** Watch streams open on the server (the `etcd_debugging_mvcc_watch_stream_total` gauge). */
  watchStreams(): Promise<number>;
  /** Stop the process and delete its data directory. Idempotent. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const PORT_ATTEMPTS = 4;

/** Start etcd. Throws, naming the package to install, if it is missing. */
export async function startEtcd(): Promise<Etcd> {
  const binary = findEtcd();
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'weft-etcd-'));
    const [clientPort, peerPort] = [await freeTcpPort(), await freeTcpPort()];
    try {
      return await launch(binary, dir, clientPort, peerPort);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      lastError = error;
      if (!/address already in use/i.test(String(error))) break;
    }
  }
  throw lastError;
}

function findEtcd(): string {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, 'etcd'), constants.X_OK);
      return join(dir, 'etcd');
    } catch {
      // not here
    }
  }
  throw new Error(
    'etcd is not installed; the etcd discovery tests need a real etcd. ' +
      'Install it with `apt-get install -y etcd-server` (Debian/Ubuntu).',
  );
}

async function launch(binary: string, dir: string, clientPort: number, peerPort: number): Promise<Etcd> {
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    binary,
    [
      '--name=weft-test',
      `--data-dir=${join(dir, 'data')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=weft-test=${peer}`,
      '--logger=zap',
      '--log-outputs=stderr',
      '--log-level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const append = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      log += `\nspawn error: ${error.message}`;
      resolve();
    });
  });
  try {
    await waitUntilServing(child, url, () => log);
  } catch (error) {
    await kill(child, exited);
    throw error;
  }

  let stopped = false;
  return {
    url,
    port: clientPort,
    async put(key, value, lease) {
      const body: Record<string, string> = { key: b64(key), value: b64(value) };
      if (lease !== undefined) body.lease = lease;
      return revisionOf(await gateway(url, '/v3/kv/put', body));
    },
    async delete(key) {
      return revisionOf(await gateway(url, '/v3/kv/deleterange', { key: b64(key) }));
    },
    async revision() {
      return revisionOf(await gateway(url, '/v3/kv/range', { key: b64('\0'), count_only: true }));
    },
    async compact(revision) {
      await gateway(url, '/v3/kv/compaction', { revision: String(revision), physical: true });
    },
    async list(prefix) {
      const end = Buffer.from(prefix);
      end[end.length - 1]! += 1;
      const answer = (await gateway(url, '/v3/kv/range', {
        key: b64(prefix),
        range_end: end.toString('base64'),
      })) as { kvs?: { key: string; value?: string }[] };
      return Object.fromEntries((answer.kvs ?? []).map((kv) => [unb64(kv.key), unb64(kv.value ?? '')]));
    },
    async watchStreams() {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('etcd_debugging_mvcc_watch_stream_total '));
      return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill(child, exited);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One call of the JSON gateway; throws with the gateway's error text on a non-2xx status. */
async function gateway(url: string, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`etcd ${path}: HTTP ${response.status} ${text}`);
  return JSON.parse(text);
}

function revisionOf(answer: unknown): number {
  return Number((answer as { header: { revision: string } }).header.revision);
}

async function waitUntilServing(child: ChildProcess, url: string, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      throw new Error(`etcd exited before serving (${child.exitCode ?? child.signalCode}):\n${log()}`);
    }
    try {
      const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) });
      if (health.ok && ((await health.json()) as { health?: string }).health === 'true') return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline)
      throw new Error(`etcd did not serve on ${url} within ${START_TIMEOUT_MS}ms:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** A TCP port on 127.0.0.1 that was free a moment ago (etcd cannot report a port it picked). */
async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');
