/**
 * What the admin page accepts as a client, and what it tells of each protocol: a weft client
 * (`createHttpClient`, `createGrpcChannel`: both are ClientViews), or a generated gRPC client
 * that `createGrpcClient` made, whose weft channel is `client.getChannel()`. The protocol is
 * told by structure, as the rest of telemetry reads clients (the dependency rules keep src/http/
 * and src/grpc/ out of reach): a gRPC channel has grpc-js's `createCall` and
 * `getConnectivityState`, whose state the page shows; an HTTP client has `request` and `fetch`.
 */
import type { ClientView } from '../client/client-view.js';
import { grpcConnectivityName } from './grpc-shapes.js';

/** A generated grpc-js client (`createGrpcClient`): its channel is the weft client. */
export interface GrpcClientLike {
  getChannel(): unknown;
}

/** What the admin page and `adminState` take for each client. */
export type AdminClient = ClientView | GrpcClientLike;

/** The protocol a client speaks, as the admin page names it. */
export type AdminProtocol = 'http' | 'grpc';

/** The weft client behind `client`, or undefined when it is none. */
export function clientViewOf(client: unknown): ClientView | undefined {
  const candidate = client as Partial<ClientView & GrpcClientLike> | null | undefined;
  if (typeof candidate?.endpoints === 'function') return candidate as ClientView;
  if (typeof candidate?.getChannel !== 'function') return undefined;
  const channel = candidate.getChannel() as Partial<ClientView> | null | undefined;
  return typeof channel?.endpoints === 'function' ? (channel as ClientView) : undefined;
}

interface GrpcChannelLike {
  createCall(...args: never[]): unknown;
  getConnectivityState(tryToConnect: boolean): number;
}

function isGrpcChannel(client: ClientView): client is ClientView & GrpcChannelLike {
  const c = client as Partial<GrpcChannelLike>;
  return typeof c.createCall === 'function' && typeof c.getConnectivityState === 'function';
}

/** The protocol `client` speaks; null for a client of another kind (a stack client of your own). */
export function protocolOf(client: ClientView): AdminProtocol | null {
  if (isGrpcChannel(client)) return 'grpc';
  const c = client as { request?: unknown; fetch?: unknown };
  return typeof c.request === 'function' && typeof c.fetch === 'function' ? 'http' : null;
}

/**
 * A gRPC channel's connectivity (`READY`, `CONNECTING`, `IDLE`, `TRANSIENT_FAILURE`, `SHUTDOWN`),
 * read without making it connect; null for any other client.
 */
export function connectivityOf(client: ClientView): string | null {
  return isGrpcChannel(client) ? grpcConnectivityName(client.getConnectivityState(false)) : null;
}
