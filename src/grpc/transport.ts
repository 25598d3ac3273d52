/**
 * The gRPC transport: the bottom of every endpoint stack, one grpc-js channel per endpoint
 * (target `ipv4:10.0.0.7:50051`, `ipv6:[::1]:50051`, or `dns:host:port` for a name), made when the
 * endpoint joins discovery. Each attempt is a grpc-js call on it (./attempt.ts).
 *
 * The channel is told the logical authority (`grpc.default_authority`, and for TLS the name the
 * certificate must match, `grpc.ssl_target_name_override`), so every endpoint is called by the
 * service's name, not its address. It never gets a service config: weft retries, hedges and
 * balances, and a `retryPolicy` inside would retry within each of weft's attempts. grpc-js's
 * transparent retries stay on: they resend only what never reached the server application, on
 * the same endpoint (gRFC A6), which weft cannot do from outside.
 *
 * Health: the endpoint is `busy` while its channel is in TRANSIENT_FAILURE (the balancer then
 * prefers another), `closed` once shut down, `open` otherwise (IDLE connects on the first call).
 * Closing lets in-flight attempts finish, then closes the channel.
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  connectivityState,
  Channel as GrpcChannel,
} from '@grpc/grpc-js';
import type { CallContext } from '../core/context.js';
import type { Endpoint } from '../core/endpoint.js';
import type { Service, ServiceStatus } from '../core/service.js';
import { type AttemptOwner, GrpcAttempt } from './attempt.js';
import type { GrpcRequest, GrpcResponse } from './request.js';

/** Settings every endpoint channel of one client shares. */
export interface GrpcTransportSettings {
  readonly credentials: ChannelCredentials;
  /** The service's name: `:authority` and the TLS name; undefined: the endpoint's address. */
  readonly authority: string | undefined;
  /** grpc-js channel options for every endpoint channel (no service config). */
  readonly channelOptions: ChannelOptions;
  /** The endpoints open now, for the client channel's connectivity (./channel.ts). */
  readonly live?: Set<GrpcEndpoint> | undefined;
}

/** A grpc-js target for one endpoint. */
export function endpointTarget(endpoint: Endpoint): string {
  const host = endpoint.host;
  if (host.includes(':')) return `ipv6:[${host}]:${endpoint.port}`;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return `ipv4:${host}:${endpoint.port}`;
  return `dns:${host}:${endpoint.port}`;
}

export class GrpcEndpoint implements Service<GrpcRequest, GrpcResponse>, AttemptOwner {
  readonly #channel: GrpcChannel;
  readonly #address: string;
  readonly #createCall: (
    path: string,
    deadline: number,
    host: string | undefined,
  ) => ReturnType<GrpcChannel['createCall']>;
  readonly #live: Set<GrpcEndpoint> | undefined;
  #inFlight = 0;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;

  constructor(endpoint: Endpoint, settings: GrpcTransportSettings) {
    const options: ChannelOptions = {
      ...settings.channelOptions,
      'grpc.service_config_disable_resolution': 1,
    };
    if (settings.authority !== undefined) {
      options['grpc.default_authority'] = settings.authority;
      options['grpc.ssl_target_name_override'] ??= hostOf(settings.authority);
    }
    this.#channel = new GrpcChannel(endpointTarget(endpoint), settings.credentials, options);
    this.#address = endpoint.address;
    const channel = this.#channel;
    this.#createCall = (path, deadline, host) => channel.createCall(path, deadline, host, null, 0);
    this.#live = settings.live;
    this.#live?.add(this);
  }

  /** The endpoint channel's connectivity state (grpc-js `getConnectivityState`). */
  connectivity(tryToConnect: boolean): number {
    return this.#channel.getConnectivityState(tryToConnect);
  }

  get status(): ServiceStatus {
    if (this.#closing !== undefined) return 'closed';
    const state = this.#channel.getConnectivityState(false);
    if (state === connectivityState.TRANSIENT_FAILURE) return 'busy';
    if (state === connectivityState.SHUTDOWN) return 'closed';
    return 'open';
  }

  call(req: GrpcRequest, ctx: CallContext): Promise<GrpcResponse> {
    this.#inFlight++;
    const promise = new Promise<GrpcResponse>(captureSettlers);
    const attempt = new GrpcAttempt(req, ctx, this.#address, this, capturedResolve!, capturedReject!);
    capturedResolve = undefined;
    capturedReject = undefined;
    attempt.start(this.#createCall);
    return promise;
  }

  connected(): boolean {
    return this.#channel.getConnectivityState(false) === connectivityState.READY;
  }

  attemptEnded(): void {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#drained !== undefined) this.#drained();
  }

  close(): Promise<void> {
    this.#live?.delete(this);
    this.#closing ??= new Promise<void>((resolve) => {
      const done = () => {
        this.#channel.close();
        resolve();
      };
      if (this.#inFlight === 0) done();
      else this.#drained = done;
    });
    return this.#closing;
  }
}

/**
 * An attempt's promise and its settling functions without a closure or a result object per
 * attempt (as `Promise.withResolvers` makes): the executor, one function for every attempt, runs
 * synchronously inside `new Promise` and leaves them here for the caller to take at once.
 */
let capturedResolve: ((response: GrpcResponse) => void) | undefined;
let capturedReject: ((error: unknown) => void) | undefined;
function captureSettlers(resolve: (response: GrpcResponse) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

function hostOf(authority: string): string {
  if (authority.startsWith('[')) return authority.slice(1, authority.indexOf(']'));
  const colon = authority.lastIndexOf(':');
  return colon > 0 && /^\d+$/.test(authority.slice(colon + 1)) ? authority.slice(0, colon) : authority;
}
