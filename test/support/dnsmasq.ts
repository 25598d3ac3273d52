/**
 * Test helper: a real dnsmasq on 127.0.0.1 and a free high port (no root needed), answering A and
 * AAAA queries from a hosts file the test writes, with TTL 1 s (`--local-ttl=1`), and answering
 * NXDOMAIN for unknown names under the test domain (`--local=/weft.test/`). `setHosts()` rewrites
 * the file and sends SIGHUP, which makes dnsmasq re-read it. SRV records (`--srv-host`, optional)
 * are command-line options, which SIGHUP does not re-read: `setSrv()` restarts dnsmasq on the same
 * port. Needs the Debian package `dnsmasq-base` (pulled in by `apt-get install -y dnsmasq`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { promises as dns } from 'node:dns';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The domain the helper's dnsmasq answers for authoritatively. */
export const TEST_DOMAIN = 'weft.test';

/** Host records: name → addresses (IPv4 or IPv6). */
export type HostRecords = Readonly<Record<string, readonly string[]>>;

/**
 * One SRV record (dnsmasq `--srv-host=<name>,<target>,<port>,<priority>,<weight>`). The target
 * `.` makes dnsmasq answer `SRV 0 0 1 .`, "service decidedly not available" (RFC 2782).
 */
export interface SrvRecord {
  readonly target: string;
  readonly port?: number;
  readonly priority?: number;
  readonly weight?: number;
}

/** SRV records: name (e.g. `_http._tcp.api.weft.test`) → records. */
export type SrvRecords = Readonly<Record<string, readonly SrvRecord[]>>;

/** A running dnsmasq. */
export interface Dnsmasq {
  /** The UDP/TCP port it listens on (127.0.0.1). */
  readonly port: number;
  /** `127.0.0.1:port`, for `dnsResolver({ servers: [...] })`. */
  readonly server: string;
  /** Replace every record and wait until dnsmasq has re-read them (SIGHUP). */
  setHosts(records: HostRecords): Promise<void>;
  /**
   * Replace every SRV record: dnsmasq is stopped and started again on the same port with the new
   * records (it does not re-read them on SIGHUP). Queries during the restart go unanswered.
   */
  setSrv(records: SrvRecords): Promise<void>;
  /** Freeze the process (SIGSTOP): queries time out until {@link resume}. */
  pause(): void;
  /** Let a paused process run again (SIGCONT). */
  resume(): void;
  /** Stop the process and delete its files. Idempotent. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 5_000;
const RELOAD_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 3_000;
const PORT_ATTEMPTS = 5;

/**
 * Start dnsmasq with `records` (and the SRV records `srv`, if given). Throws, naming the package
 * to install, if dnsmasq is missing.
 */
export async function startDnsmasq(records: HostRecords, srv: SrvRecords = {}): Promise<Dnsmasq> {
  const binary = findDnsmasq();
  const dir = await mkdtemp(join(tmpdir(), 'weft-dnsmasq-'));
  const hostsFile = join(dir, 'hosts');
  await writeFile(hostsFile, hostsText(records));
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freeUdpPort();
    try {
      const first = await launch(binary, port, hostsFile, srv);
      return control(binary, port, hostsFile, dir, first);
    } catch (error) {
      lastError = error;
      if (!/Address already in use/i.test(String(error))) break;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

/** One dnsmasq process. */
interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly log: () => string;
}

/** The Dnsmasq handle over the current process, which `setSrv` replaces. */
function control(binary: string, port: number, hostsFile: string, dir: string, first: Running): Dnsmasq {
  let current = first;
  let stopped = false;
  const readCount = (): number => current.log().split(`read ${hostsFile}`).length - 1;
  return {
    port,
    server: `127.0.0.1:${port}`,
    async setHosts(records) {
      const before = readCount();
      await writeFile(hostsFile, hostsText(records));
      current.child.kill('SIGHUP');
      const deadline = Date.now() + RELOAD_TIMEOUT_MS;
      while (readCount() <= before) {
        if (Date.now() > deadline)
          throw new Error(`dnsmasq did not re-read ${hostsFile} after SIGHUP:\n${current.log()}`);
        await sleep(20);
      }
    },
    async setSrv(records) {
      if (stopped) throw new Error('dnsmasq was stopped');
      await kill(current.child, current.exited);
      // The port was ours a moment ago; another process may grab it in between, so retry a little.
      let lastError: unknown;
      for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
        try {
          current = await launch(binary, port, hostsFile, records);
          return;
        } catch (error) {
          lastError = error;
          await sleep(100);
        }
      }
      throw lastError;
    },
    pause() {
      current.child.kill('SIGSTOP');
    },
    resume() {
      current.child.kill('SIGCONT');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      current.child.kill('SIGCONT'); // a paused process would not act on SIGTERM
      await kill(current.child, current.exited);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function findDnsmasq(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'dnsmasq');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(
    'dnsmasq is not installed; the DNS discovery tests need a real DNS server. ' +
      'Install it with `apt-get install -y dnsmasq` (Debian/Ubuntu; the binary is in dnsmasq-base).',
  );
}

async function launch(binary: string, port: number, hostsFile: string, srv: SrvRecords): Promise<Running> {
  const child = spawn(
    binary,
    [
      `--port=${port}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--no-daemon',
      '--conf-file=/dev/null',
      `--addn-hosts=${hostsFile}`,
      '--local-ttl=1',
      `--local=/${TEST_DOMAIN}/`,
      '--log-facility=-',
      ...srvArgs(srv),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const append = (chunk: Buffer): void => {
    log += chunk.toString();
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

  const server = `127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(child, server, () => log);
  } catch (error) {
    await kill(child, exited);
    throw error;
  }

  return { child, exited, log: () => log };
}

function srvArgs(srv: SrvRecords): string[] {
  const args: string[] = [];
  for (const [name, records] of Object.entries(srv)) {
    for (const { target, port = 1, priority = 0, weight = 0 } of records) {
      args.push(
        target === '.' ? `--srv-host=${name}` : `--srv-host=${name},${target},${port},${priority},${weight}`,
      );
    }
  }
  return args;
}

/** Poll until dnsmasq answers a query (an answer or NXDOMAIN both prove it is up). */
async function waitUntilAnswering(child: ChildProcess, server: string, log: () => string): Promise<void> {
  const resolver = new dns.Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([server]);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      throw new Error(`dnsmasq exited before answering (${child.exitCode ?? child.signalCode}):\n${log()}`);
    }
    try {
      await resolver.resolve4(`probe.${TEST_DOMAIN}`);
      return;
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOTFOUND') return;
    }
    if (Date.now() > deadline)
      throw new Error(`dnsmasq did not answer on ${server} within ${START_TIMEOUT_MS}ms:\n${log()}`);
    await sleep(50);
  }
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function hostsText(records: HostRecords): string {
  const lines: string[] = [];
  for (const [name, addresses] of Object.entries(records)) {
    for (const address of addresses) lines.push(`${address} ${name}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A UDP port that was free a moment ago (dnsmasq cannot report the port it picked). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
