/**
 * The entry points of weft's gRPC client: a grpc-js channel (`ChannelInterface`, public since
 * grpc-js 1.4, gRFC L32) whose calls run through weft's stack, for grpc-js's public
 * `channelOverride` client option, and `createGrpcClient`, which builds a generated client on one.
 * Call sites stay as they are: clients from @grpc/proto-loader, grpc-tools, ts-proto and
 * protobuf-ts all take a `channelOverride`.
 *
 * The channel's connectivity is its endpoints': READY when any endpoint's channel is, then
 * CONNECTING, IDLE, TRANSIENT_FAILURE; SHUTDOWN once closed. So `client.waitForReady()` works.
 * Defaults: docs/grpc.md.
 */
import type { ChannelCredentials, ChannelInterface, ChannelOptions } from '@grpc/grpc-js';
import { connectivityState } from '@grpc/grpc-js';
import type { ClientView, EndpointStats } from '../client/client-view.js';
import { resolveClientOptions } from '../client/options.js';
import { createStackClient, type StackClient } from '../client/stack-client.js';
import type { EndpointSetSnapshot } from '../discovery/endpoint-set.js';
import type { AdaptiveThrottleStats } from '../policies/adaptive-throttle.js';
import type { CircuitBreakerHandle } from '../policies/circuit-breaker.js';
import type { HedgeStats } from '../policies/hedge.js';
import type { RetryBudget } from '../policies/retry-budget.js';
import { type CallHost, type ParentCall, WeftGrpcCall } from './call.js';
import { grpcProtocol } from './client-protocol.js';
import type { ServiceDefinitionLike } from './method.js';
import {
  checkGrpcClientOptions,
  GRPC_CLIENT_DEFAULTS,
  type GrpcClientOptions,
  type ResolvedMethod,
  resolveGrpcSettings,
} from './options.js';
import type { GrpcRequest, GrpcResponse } from './request.js';
import type { GrpcEndpoint } from './transport.js';

/** How often `watchConnectivityState` looks again, in ms. */
const WATCH_INTERVAL_MS = 50;

/** A grpc-js channel whose calls run through weft. Pass it as `channelOverride`; close it (or the client) when done. */
export interface WeftGrpcChannel extends Omit<ChannelInterface, 'close'>, ClientView {
  /** Close the client: calls in flight finish, then every endpoint's channel closes. */
  close(): Promise<void>;
}

/** Create a channel for grpc-js's `channelOverride`. Every option is validated here. */
export function createGrpcChannel(options: GrpcClientOptions): WeftGrpcChannel {
  return new GrpcStackChannel(options);
}

/** A generated grpc-js client class (`makeClientConstructor`, proto-loader, grpc-tools, ts-proto). */
export interface GrpcClientConstructor<C> {
  new (address: string, credentials: ChannelCredentials, options?: Record<string, unknown>): C;
  readonly service?: ServiceDefinitionLike;
}

/**
 * A generated client whose calls run through weft: `createGrpcClient(EchoClient, { endpoints })`.
 * The class's service definition tells weft each method's kind and idempotency. Call its
 * methods as before; `client.close()` closes weft's channel too.
 */
export function createGrpcClient<C>(
  ClientClass: GrpcClientConstructor<C>,
  options: GrpcClientOptions & { clientOptions?: Record<string, unknown> },
): C {
  const { clientOptions, ...rest } = options ?? ({} as typeof options);
  const service = ClientClass?.service;
  const channel = createGrpcChannel({
    ...rest,
    services: service === undefined ? rest.services : [...(rest.services ?? []), service],
  });
  const credentials = rest.credentials as ChannelCredentials;
  return new ClientClass(channel.name, credentials, { ...clientOptions, channelOverride: channel });
}

class GrpcStackChannel implements WeftGrpcChannel, CallHost {
  readonly name: string;
  readonly retryBudget: RetryBudget;
  readonly hedgeStats: HedgeStats | undefined;
  readonly circuitBreaker: CircuitBreakerHandle | undefined;
  readonly roles: readonly string[];
  readonly client: StackClient<GrpcRequest, GrpcResponse>;
  readonly replayBufferBytes: number;
  readonly inheritAmbientDeadline: boolean;
  readonly timeoutMs: number;
  readonly #methodAt: (path: string) => ResolvedMethod;
  readonly #live = new Set<GrpcEndpoint>();
  #callNumber = 0;

  constructor(options: GrpcClientOptions) {
    const o = checkGrpcClientOptions(options);
    const grpc = resolveGrpcSettings(o);
    const shared = resolveClientOptions(o, {
      name: grpc.transport.authority,
      replayBufferBytes: GRPC_CLIENT_DEFAULTS.replayBufferBytes,
    });
    const methodAt = grpc.methodAt;
    this.client = createStackClient(
      grpcProtocol(
        { ...grpc.transport, live: this.#live },
        (req) => methodAt(req.method.path).retryableCodes,
      ),
      shared,
    );
    this.#methodAt = methodAt;
    this.replayBufferBytes = shared.retry?.replayBufferBytes ?? GRPC_CLIENT_DEFAULTS.replayBufferBytes;
    this.inheritAmbientDeadline = shared.inheritAmbientDeadline;
    this.timeoutMs = shared.timeoutMs;
    this.name = this.client.name;
    this.retryBudget = this.client.retryBudget;
    this.hedgeStats = this.client.hedgeStats;
    this.circuitBreaker = this.client.circuitBreaker;
    this.roles = this.client.roles;
  }

  get strategy(): string {
    return this.client.strategy;
  }

  nextCallNumber(): number {
    return ++this.#callNumber;
  }

  // --- grpc-js ChannelInterface --------------------------------------------------------------

  createCall(
    method: string,
    deadline: Date | number,
    host: string | null | undefined,
    parentCall: unknown,
    propagateFlags: number | null | undefined,
  ): ReturnType<ChannelInterface['createCall']> {
    return new WeftGrpcCall(
      this,
      this.#methodAt(method),
      deadline,
      host,
      (parentCall ?? null) as ParentCall | null,
      propagateFlags,
    ) as unknown as ReturnType<ChannelInterface['createCall']>;
  }

  close(): Promise<void> {
    return this.client.close();
  }

  getTarget(): string {
    return `weft:///${this.name}`;
  }

  getConnectivityState(tryToConnect: boolean): connectivityState {
    if (this.client.closed) return connectivityState.SHUTDOWN;
    let best: connectivityState = connectivityState.TRANSIENT_FAILURE;
    if (this.#live.size === 0) return connectivityState.IDLE;
    for (const endpoint of this.#live) {
      const state = endpoint.connectivity(tryToConnect) as connectivityState;
      if (RANK[state]! < RANK[best]!) best = state;
    }
    return best;
  }

  watchConnectivityState(
    currentState: connectivityState,
    deadline: Date | number,
    callback: (error?: Error) => void,
  ): void {
    const end = deadline instanceof Date ? deadline.getTime() : deadline;
    const look = () => {
      if (this.getConnectivityState(false) !== currentState) {
        callback();
        return;
      }
      if (Date.now() >= end) {
        callback(new Error('Deadline passed without connectivity state change'));
        return;
      }
      setTimeout(look, Math.min(WATCH_INTERVAL_MS, Math.max(0, end - Date.now()))).unref();
    };
    setImmediate(look);
  }

  getChannelzRef(): ReturnType<ChannelInterface['getChannelzRef']> {
    return { kind: 'channel', id: -1, name: this.getTarget() } as ReturnType<
      ChannelInterface['getChannelzRef']
    >;
  }

  // --- ClientView ------------------------------------------------------------------------------

  throttleStats(): AdaptiveThrottleStats | undefined {
    return this.client.throttleStats();
  }

  endpoints(): EndpointStats[] {
    return this.client.endpoints();
  }

  discovery(): EndpointSetSnapshot {
    return this.client.discovery();
  }
}

/** Which state the channel reports when its endpoints differ: the best one. */
const RANK: Readonly<Record<number, number>> = {
  [connectivityState.READY]: 0,
  [connectivityState.CONNECTING]: 1,
  [connectivityState.IDLE]: 2,
  [connectivityState.TRANSIENT_FAILURE]: 3,
  [connectivityState.SHUTDOWN]: 4,
};

export type { ChannelOptions };
