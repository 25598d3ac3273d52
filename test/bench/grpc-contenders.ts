/**
 * The gRPC contenders: what a grpc-js user would pick instead of weft's gRPC client, set up the
 * way grpc-js documents it, and configured alike where they overlap (docs/benchmarks.md lists
 * every setting). Every one calls `Unary` of the test service (test/fixtures/grpc/echo.proto)
 * through the client class @grpc/proto-loader generates:
 *
 *   weft                   createGrpcClient (weft/grpc) over every replica: the default stack
 *                          (deadline, retry + budget, P2C Peak EWMA, failure accrual), one grpc-js
 *                          channel per replica, UNAVAILABLE retryable for the service (as below)
 *   grpc-js                a client on one address: grpc-js's default pick_first, one channel
 *                          (single-replica scenarios: the ceiling)
 *   grpc-js round_robin    one client over every replica (`ipv4:a,b,c,d`), the `round_robin` policy
 *                          in its service config
 *   grpc-js round_robin + retryPolicy   the same, with a `retryPolicy` for the service
 *
 * Alike: a total limit per call (`totalTimeoutMs`: weft's `timeoutMs`, grpc-js's `deadline` call
 * option); `maxAttempts` (weft's `retry.maxAttempts`, the retryPolicy's); exponential backoff from
 * 25 to 250 ms; UNAVAILABLE retryable whatever the method's idempotency (weft's per-method
 * `retryableStatusCodes`, the retryPolicy's). Neither has a per-attempt limit (gRFC A6 has none).
 * Each contender's channels use a subchannel pool of their own
 * (`grpc.use_local_subchannel_pool`), so a fresh contender never inherits a connection, or a
 * connection's backoff, from one closed before it in the same process.
 */
import * as grpc from '@grpc/grpc-js';
import type { WeftGrpcChannel } from '../../src/grpc.js';
import { EchoClient } from '../support/grpc-servers.js';
import type { Send } from './load.js';
import { weftGrpc } from './weft-grpc.js';

export const GRPC_CONTENDERS = ['weft', 'grpc-js', 'grpc-js-round-robin', 'grpc-js-retry'] as const;
export type GrpcContenderName = (typeof GRPC_CONTENDERS)[number];

/** The contenders that balance over several replicas. */
export const GRPC_MULTI_REPLICA: readonly GrpcContenderName[] = [
  'weft',
  'grpc-js-round-robin',
  'grpc-js-retry',
];

/** Display names, as in the tables. */
export const GRPC_LABELS: Record<GrpcContenderName, string> = {
  weft: 'weft',
  'grpc-js': 'grpc-js',
  'grpc-js-round-robin': 'grpc-js round_robin',
  'grpc-js-retry': 'grpc-js round_robin + retryPolicy',
};

export interface GrpcContenderSettings {
  readonly totalTimeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
}

export const GRPC_DEFAULT_SETTINGS: GrpcContenderSettings = {
  totalTimeoutMs: 3_000,
  maxAttempts: 3,
  backoffInitialMs: 25,
  backoffMaxMs: 250,
};

/** The service every contender calls, as its service config and weft's `methods` name it. */
export const ECHO_SERVICE = 'weft.test.Echo';

export interface GrpcContender {
  readonly name: GrpcContenderName;
  readonly label: string;
  /** One unary call; resolves with 0 (OK), rejects with the grpc-js ServiceError when the call failed. */
  readonly send: Send;
  close(): Promise<void>;
}

/** A grpc-js target naming every address (`ipv4:127.0.0.1:5001,127.0.0.1:5002`), for round_robin. */
export function ipv4Target(addresses: readonly string[]): string {
  if (addresses.length === 0) throw new Error('ipv4Target: no addresses');
  for (const a of addresses) {
    if (!/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(a)) throw new Error(`ipv4Target: not an IPv4 host:port: ${a}`);
  }
  return `ipv4:${addresses.join(',')}`;
}

/** Seconds as a service config writes a duration (`0.025s`). */
function seconds(ms: number): string {
  return `${ms / 1_000}s`;
}

/**
 * The service config (`grpc.service_config`) of the round_robin contenders: round_robin, and with
 * `retry` a retryPolicy for {@link ECHO_SERVICE} retrying UNAVAILABLE, as grpc-js documents it (gRFC
 * A6): `maxAttempts` attempts at most, backoff from the settings' initial to max, doubling.
 */
export function roundRobinServiceConfig(settings: GrpcContenderSettings, retry: boolean): string {
  const config: Record<string, unknown> = { loadBalancingConfig: [{ round_robin: {} }] };
  if (retry) {
    config.methodConfig = [
      {
        name: [{ service: ECHO_SERVICE }],
        retryPolicy: {
          maxAttempts: settings.maxAttempts,
          initialBackoff: seconds(settings.backoffInitialMs),
          maxBackoff: seconds(settings.backoffMaxMs),
          backoffMultiplier: 2,
          retryableStatusCodes: ['UNAVAILABLE'],
        },
      },
    ];
  }
  return JSON.stringify(config);
}

type UnaryMethod = (
  request: { message: string; count: number },
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null) => void,
) => unknown;

const REQUEST = { message: 'hi', count: 0 };
const LOCAL_POOL = { 'grpc.use_local_subchannel_pool': 1 };

/** One unary call through `client`; with `totalTimeoutMs`, a deadline that far ahead. */
function unarySend(client: grpc.Client, totalTimeoutMs: number | undefined): Send {
  const unary = (client as unknown as { unary: UnaryMethod }).unary.bind(client);
  return () =>
    new Promise<number>((resolve, reject) => {
      const options = totalTimeoutMs === undefined ? {} : { deadline: Date.now() + totalTimeoutMs };
      unary(REQUEST, options, (error) => (error ? reject(error) : resolve(grpc.status.OK)));
    });
}

/** Build a gRPC contender over `addresses` (host:port). `grpc-js` takes exactly one. */
export function makeGrpcContender(
  name: GrpcContenderName,
  addresses: readonly string[],
  settings: GrpcContenderSettings = GRPC_DEFAULT_SETTINGS,
): GrpcContender {
  const contender = (send: Send, close: () => Promise<void>): GrpcContender => ({
    name,
    label: GRPC_LABELS[name],
    send,
    close,
  });
  const insecure = grpc.credentials.createInsecure();
  switch (name) {
    case 'weft': {
      const client = weftGrpc.createGrpcClient(EchoClient, {
        endpoints: addresses,
        timeoutMs: settings.totalTimeoutMs,
        retry: {
          maxAttempts: settings.maxAttempts,
          backoffInitialMs: settings.backoffInitialMs,
          backoffMaxMs: settings.backoffMaxMs,
        },
        methods: { [ECHO_SERVICE]: { retryableStatusCodes: ['UNAVAILABLE'] } },
        channelOptions: LOCAL_POOL,
      }) as grpc.Client;
      // The client's close() does not wait for weft's channel; closing the channel does.
      const channel = client.getChannel() as unknown as WeftGrpcChannel;
      return contender(unarySend(client, undefined), () => channel.close());
    }
    case 'grpc-js': {
      if (addresses.length !== 1) throw new Error(`grpc-js takes one address, got ${addresses.length}`);
      const client = new EchoClient(addresses[0]!, insecure, LOCAL_POOL);
      return contender(unarySend(client, settings.totalTimeoutMs), async () => client.close());
    }
    case 'grpc-js-round-robin':
    case 'grpc-js-retry': {
      const client = new EchoClient(ipv4Target(addresses), insecure, {
        ...LOCAL_POOL,
        'grpc.service_config': roundRobinServiceConfig(settings, name === 'grpc-js-retry'),
      });
      return contender(unarySend(client, settings.totalTimeoutMs), async () => client.close());
    }
  }
}
