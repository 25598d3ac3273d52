// The gRPC demo (`npm run demo:grpc`): four grpc-js replicas of one service on loopback, two
// healthy, one slow (+50 ms) and one flaky (30% UNAVAILABLE), called through weft's gRPC client
// and through plain grpc-js with round_robin, the same closed loop for each. weft retries the
// flaky replica's failures on another replica (the method is idempotent in the proto), ejects
// it, and keeps its calls off the slow one; round robin spreads every call evenly and passes the
// failures on. Prints a table (or one JSON object with --json) and lets the process end by
// itself once every client and server is closed.
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createGrpcClient } from '../src/grpc.js';

const PROTO = fileURLToPath(new URL('./grpc/echo.proto', import.meta.url));
const Echo = (
  grpc.loadPackageDefinition(protoLoader.loadSync(PROTO)) as unknown as {
    demo: { Echo: grpc.ServiceClientConstructor };
  }
).demo.Echo;

/** A replica's behaviour: extra latency, and the share of calls it fails with UNAVAILABLE. */
interface Replica {
  readonly label: string;
  readonly delayMs: number;
  readonly failShare: number;
}

export const REPLICAS: readonly Replica[] = [
  { label: 'healthy-1', delayMs: 1, failShare: 0 },
  { label: 'healthy-2', delayMs: 1, failShare: 0 },
  { label: 'slow-50ms', delayMs: 51, failShare: 0 },
  { label: 'flaky-30%', delayMs: 1, failShare: 0.3 },
];

/** What one client saw. */
export interface GrpcClientSummary {
  readonly name: string;
  readonly calls: number;
  readonly succeeded: number;
  readonly successRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Calls (attempts included) each replica served. */
  readonly served: Readonly<Record<string, number>>;
  /** The share of the attempts that went to the slow replica. */
  readonly slowShare: number;
}

export interface GrpcDemoOptions {
  readonly durationMs?: number;
  readonly concurrency?: number;
  readonly log?: (text: string) => void;
  readonly json?: boolean;
}

interface Running {
  readonly address: string;
  readonly served: Map<string, number>;
  close(): Promise<void>;
}

/** Start the four replicas; each counts the calls it serves per client (the `client` metadata). */
async function startReplicas(): Promise<{ replicas: Running[]; close(): Promise<void> }> {
  const replicas = await Promise.all(
    REPLICAS.map(async (replica, index) => {
      const served = new Map<string, number>();
      const server = new grpc.Server();
      let n = 0;
      server.addService(Echo.service, {
        echo: (
          call: grpc.ServerUnaryCall<{ message: string }, unknown>,
          callback: grpc.sendUnaryData<unknown>,
        ) => {
          const client = String(call.metadata.get('client')[0] ?? '?');
          served.set(client, (served.get(client) ?? 0) + 1);
          n++;
          // Deterministic failures: every call whose number falls in the failing share.
          const fail = replica.failShare > 0 && (n * 7 + index) % 10 < replica.failShare * 10;
          setTimeout(() => {
            if (fail) callback({ code: grpc.status.UNAVAILABLE, details: `${replica.label} is flaky` });
            else callback(null, { message: call.request.message, replica: replica.label });
          }, replica.delayMs);
        },
      });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
          e ? reject(e) : resolve(p),
        ),
      );
      return {
        address: `127.0.0.1:${port}`,
        served,
        close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
      };
    }),
  );
  return { replicas, close: async () => void (await Promise.all(replicas.map((r) => r.close()))) };
}

type EchoCaller = (metadata: grpc.Metadata) => Promise<void>;

function caller(client: grpc.Client): EchoCaller {
  const echo = (client as unknown as Record<string, Function>).echo!.bind(client);
  return (metadata) =>
    new Promise<void>((resolve, reject) =>
      echo({ message: 'hi' }, metadata, { deadline: Date.now() + 2_000 }, (error: Error | null) =>
        error ? reject(error) : resolve(),
      ),
    );
}

/** Run one client's closed loop for `durationMs` with `concurrency` callers. */
async function drive(name: string, call: EchoCaller, durationMs: number, concurrency: number) {
  const latencies: number[] = [];
  let calls = 0;
  let succeeded = 0;
  const end = Date.now() + durationMs;
  const metadata = new grpc.Metadata();
  metadata.set('client', name);
  const worker = async () => {
    while (Date.now() < end) {
      const started = performance.now();
      calls++;
      try {
        await call(metadata);
        succeeded++;
        latencies.push(performance.now() - started);
      } catch {
        // counted as a failed call
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { calls, succeeded, p50Ms: at(0.5), p99Ms: at(0.99) };
}

export async function runGrpcDemo(options: GrpcDemoOptions = {}): Promise<GrpcClientSummary[]> {
  const { durationMs = 5_000, concurrency = 8, log = console.log, json = false } = options;
  const { replicas, close } = await startReplicas();
  const addresses = replicas.map((r) => r.address);
  const weft = createGrpcClient(Echo, { name: 'echo', endpoints: addresses });
  const plain = new Echo(`ipv4:${addresses.join(',')}`, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  });
  const summaries: GrpcClientSummary[] = [];
  try {
    for (const [name, client] of [
      ['weft', weft],
      ['grpc-js round_robin', plain],
    ] as const) {
      const result = await drive(name, caller(client as grpc.Client), durationMs, concurrency);
      const served = Object.fromEntries(
        REPLICAS.map((r, i) => [r.label, replicas[i]!.served.get(name) ?? 0]),
      );
      const attempts = Object.values(served).reduce((a, b) => a + b, 0);
      summaries.push({
        name,
        ...result,
        successRate: result.succeeded / Math.max(1, result.calls),
        served,
        slowShare: (served['slow-50ms'] ?? 0) / Math.max(1, attempts),
      });
    }
  } finally {
    (weft as grpc.Client).close();
    plain.close();
    await close();
  }
  if (json) log(JSON.stringify({ clients: summaries }));
  else {
    log(
      `gRPC demo: ${REPLICAS.map((r) => r.label).join(', ')}; ${concurrency} callers, ${durationMs} ms each`,
    );
    for (const s of summaries) {
      log(
        `${s.name.padEnd(20)} calls ${String(s.calls).padStart(6)}  success ${(s.successRate * 100).toFixed(1).padStart(5)}%` +
          `  p50 ${s.p50Ms.toFixed(1)} ms  p99 ${s.p99Ms.toFixed(1)} ms  slow replica share ${(s.slowShare * 100).toFixed(1)}%`,
      );
      log(
        `${''.padEnd(20)} served: ${Object.entries(s.served)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    }
  }
  return summaries;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const json = process.argv.includes('--json');
  await runGrpcDemo({ json });
}
