/**
 * Test helper: the gRPC interop server and client of Debian's `ruby-grpc` (gRPC C-core; the
 * gem's `src/ruby/pb/test/server.rb` and `client.rb`), an implementation weft's authors did not
 * write. Finds the installed gem, starts its server on a free port (plain or TLS with the gem's
 * own test certificate) and waits, bounded, until it answers an EmptyCall; runs its client
 * against a server of the test's choosing. Certificates are read from the installed package at
 * run time, never copied. The server binds 0.0.0.0; tests send it only loopback traffic. Every
 * process started here is killed at the end (`stop()`, and on the test process's exit).
 *
 * ruby-grpc is installed by `npm test`'s pretest (scripts/pretest.mjs); without it these
 * helpers throw, saying so: the interop tests never skip.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { TestServiceClient } from './interop-service.js';

/** The name the gem's test server certificate is valid for (`*.test.google.fr`), as the interop suite uses it. */
export const INTEROP_HOST_OVERRIDE = 'foo.test.google.fr';

/** Where the installed gem keeps what the tests use. */
export interface RubyInteropFiles {
  readonly gemDir: string;
  readonly serverScript: string;
  readonly clientScript: string;
  /** The test CA that signed the server certificate. */
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
}

const MISSING =
  "Debian's ruby-grpc (the gRPC interop server and client the interop tests run) is not installed. " +
  'Run `node scripts/pretest.mjs` (`npm test` runs it first and installs it as root), or `apt-get install -y ruby ruby-grpc`.';

let files: RubyInteropFiles | undefined;

/** The installed gem's interop scripts and test certificates. Throws, naming the pretest, if missing. */
export function rubyInteropFiles(): RubyInteropFiles {
  if (files !== undefined) return files;
  let gemDir: string;
  try {
    gemDir = execFileSync('ruby', ['-e', 'print Gem::Specification.find_by_name("grpc").gem_dir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15_000,
    }).trim();
  } catch (error) {
    throw new Error(`${MISSING}\n(ruby could not find the grpc gem: ${(error as Error).message})`);
  }
  const pb = join(gemDir, 'src/ruby/pb/test');
  const testdata = join(gemDir, 'src/ruby/spec/testdata');
  const found: RubyInteropFiles = {
    gemDir,
    serverScript: join(pb, 'server.rb'),
    clientScript: join(pb, 'client.rb'),
    caFile: join(testdata, 'ca.pem'),
    serverCertFile: join(testdata, 'server1.pem'),
    serverKeyFile: join(testdata, 'server1.key'),
  };
  for (const file of Object.values(found)) {
    if (!existsSync(file)) throw new Error(`${MISSING}\n(${file} is missing from the grpc gem at ${gemDir})`);
  }
  files = found;
  return found;
}

/** Channel credentials that trust the gem's test CA (for its TLS server). */
export function interopClientCredentials(): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(readFileSync(rubyInteropFiles().caFile));
}

/** Server credentials with the gem's test certificate (`*.test.google.fr`), for a grpc-js server. */
export function interopServerCredentials(): grpc.ServerCredentials {
  const f = rubyInteropFiles();
  return grpc.ServerCredentials.createSsl(null, [
    { cert_chain: readFileSync(f.serverCertFile), private_key: readFileSync(f.serverKeyFile) },
  ]);
}

// --- processes -----------------------------------------------------------------------------------

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Kill `child` and wait until it is gone. */
async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // SIGKILL: the server's SIGTERM path aborts in C-core (a completion queue assertion, with a
  // core dump where enabled) and it ignores SIGINT; it keeps no state worth a clean stop.
  child.kill('SIGKILL');
  await gone;
}

/** A port nothing listens on now, on every interface (the Ruby server binds 0.0.0.0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '0.0.0.0', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A running Ruby interop server. */
export interface RubyInteropServer {
  readonly port: number;
  /** `127.0.0.1:port`: tests reach it on loopback only. */
  readonly address: string;
  readonly tls: boolean;
  /** What the server printed so far. */
  log(): string;
  /** Kill the server. Idempotent. */
  stop(): Promise<void>;
}

const START_BOUND_MS = 20_000;
const PORT_ATTEMPTS = 4;

/**
 * Start the gem's interop server (`ruby server.rb --port=N [--use_tls=true]`) and wait until it
 * answers an EmptyCall from a plain grpc-js client (not weft: a weft bug must not look like a
 * server that failed to start), within 20 s.
 */
export async function startRubyInteropServer(options: { tls?: boolean } = {}): Promise<RubyInteropServer> {
  const f = rubyInteropFiles();
  const tls = options.tls ?? false;
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    const args = [f.serverScript, `--port=${port}`];
    if (tls) args.push('--use_tls=true');
    const child = track(spawn('ruby', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let log = '';
    const append = (chunk: Buffer) => {
      log += chunk.toString();
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.once('error', (error) => {
      log += `\nspawn error: ${error.message}`;
    });
    const server: RubyInteropServer = {
      port,
      address: `127.0.0.1:${port}`,
      tls,
      log: () => log,
      stop: () => kill(child),
    };
    try {
      await waitUntilServing(child, server, () => log);
      return server;
    } catch (error) {
      lastError = error;
      await kill(child);
      // Another process took the port between the check and the bind: try another.
      if (!/exited/.test(String(error))) break;
    }
  }
  throw lastError;
}

async function waitUntilServing(child: ChildProcess, server: RubyInteropServer, log: () => string) {
  const credentials = server.tls ? interopClientCredentials() : grpc.credentials.createInsecure();
  const probe = new TestServiceClient(
    server.address,
    credentials,
    server.tls ? { 'grpc.ssl_target_name_override': INTEROP_HOST_OVERRIDE } : {},
  );
  let onExit: (() => void) | undefined;
  try {
    const exited = new Promise<never>((_resolve, reject) => {
      onExit = () =>
        reject(
          new Error(`the Ruby interop server exited before serving (code ${child.exitCode}):\n${log()}`),
        );
      if (child.exitCode !== null || child.signalCode !== null) onExit();
      else child.once('exit', onExit);
    });
    const answered = new Promise<void>((resolve, reject) =>
      probe.emptyCall(
        {},
        new grpc.Metadata({ waitForReady: true }),
        { deadline: Date.now() + START_BOUND_MS },
        (error) =>
          error
            ? reject(
                new Error(
                  `the Ruby interop server on ${server.address} did not answer within ${START_BOUND_MS} ms: ${error.message}\n${log()}`,
                ),
              )
            : resolve(),
      ),
    );
    await Promise.race([answered, exited]);
  } finally {
    if (onExit !== undefined) child.removeListener('exit', onExit);
    probe.close();
  }
}

/** How a run of the Ruby interop client ended. */
export interface RubyClientResult {
  readonly testCase: string;
  /** Exit code; null when it was killed. */
  readonly code: number | null;
  readonly output: string;
  /** True when it outlived its bound and was killed. */
  readonly timedOut: boolean;
  /** The client printed its `OK: <case>` line and exited 0. */
  readonly passed: boolean;
}

/**
 * Run the gem's interop client, `ruby client.rb --server_host=127.0.0.1 --server_port=N
 * --test_case=CASE` (with TLS: the gem's test CA and the host override), killed after `boundMs`.
 */
export async function runRubyInteropClient(options: {
  port: number;
  testCase: string;
  tls?: boolean;
  boundMs?: number;
}): Promise<RubyClientResult> {
  const f = rubyInteropFiles();
  const args = [
    f.clientScript,
    '--server_host=127.0.0.1',
    `--server_port=${options.port}`,
    `--test_case=${options.testCase}`,
  ];
  if (options.tls === true) {
    args.push('--use_tls=true', '--use_test_ca=true', `--server_host_override=${INTEROP_HOST_OVERRIDE}`);
  }
  const child = track(spawn('ruby', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.boundMs ?? 15_000);
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      output += `\nspawn error: ${error.message}`;
    });
    child.once('close', (exitCode) => resolve(exitCode));
  });
  clearTimeout(timer);
  return {
    testCase: options.testCase,
    code,
    output,
    timedOut,
    passed: code === 0 && output.includes(`"OK: ${options.testCase}"`),
  };
}
