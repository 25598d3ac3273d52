/**
 * Loopback gRPC backends for tests: real grpc-js servers on 127.0.0.1 serving the test service
 * (test/fixtures/grpc/echo.proto) with handlers of the test's choosing, a log of the calls each
 * saw (method, metadata, deadline), and one call that closes them all. The generated client
 * comes from @grpc/proto-loader, as a user's would.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const ECHO_PROTO = fileURLToPath(new URL('../fixtures/grpc/echo.proto', import.meta.url));

const definition = protoLoader.loadSync(ECHO_PROTO, { keepCase: false, defaults: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  weft: { test: { Echo: grpc.ServiceClientConstructor } };
};

/** The generated client class of the test service. */
export const EchoClient = loaded.weft.test.Echo;

export interface EchoRequest {
  message: string;
  count: number;
}
export interface EchoReply {
  message: string;
  server: string;
}

/** One call a backend saw. */
export interface SeenCall {
  readonly method: string;
  readonly metadata: grpc.Metadata;
  /** Milliseconds to the call's deadline when it arrived (Infinity for none). */
  readonly timeLeftMs: number;
  readonly call: SurfaceCall;
}

type Unary = grpc.handleUnaryCall<EchoRequest, EchoReply>;
type ServerStream = grpc.handleServerStreamingCall<EchoRequest, EchoReply>;
type ClientStream = grpc.handleClientStreamingCall<EchoRequest, EchoReply>;
type Bidi = grpc.handleBidiStreamingCall<EchoRequest, EchoReply>;
/** A server call of any kind (grpc-js's ServerSurfaceCall, which its index does not export). */
type SurfaceCall =
  | Parameters<Unary>[0]
  | Parameters<ServerStream>[0]
  | Parameters<ClientStream>[0]
  | Parameters<Bidi>[0];

/** Handlers of the test service; those left out answer as below. */
export interface EchoHandlers {
  unary?: Unary;
  idempotentUnary?: Unary;
  serverStream?: ServerStream;
  clientStream?: ClientStream;
  bidi?: Bidi;
}

export interface GrpcBackend {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  readonly seen: SeenCall[];
  close(): Promise<void>;
}

/** Echo the message back, naming the server. */
export function echoUnary(name: string): Unary {
  return (call, callback) => callback(null, { message: call.request.message, server: name });
}

/** Fail every call with `code`, trailers-only (nothing sent before). */
export function failWith(code: grpc.status, trailers?: Record<string, string>): Unary {
  return (_call, callback) => {
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(trailers ?? {})) metadata.set(k, v);
    callback({ code, details: `failed with ${grpc.status[code]}`, metadata });
  };
}

/** Start one backend on a loopback `host` (port 0 = any free port). */
export async function startGrpcBackend(
  name: string,
  handlers: EchoHandlers = {},
  port = 0,
  host = '127.0.0.1',
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<GrpcBackend> {
  const seen: SeenCall[] = [];
  const server = new grpc.Server();
  const note = (method: string, call: SurfaceCall) => {
    const deadline = call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    seen.push({ method, metadata: call.metadata, timeLeftMs: at - Date.now(), call });
  };
  const unary = handlers.unary ?? echoUnary(name);
  const idempotentUnary = handlers.idempotentUnary ?? echoUnary(name);
  const serverStream: ServerStream =
    handlers.serverStream ??
    ((call) => {
      for (let i = 0; i < call.request.count; i++)
        call.write({ message: `${call.request.message} ${i}`, server: name });
      call.end();
    });
  const clientStream: ClientStream =
    handlers.clientStream ??
    ((call, callback) => {
      const parts: string[] = [];
      call.on('data', (m: EchoRequest) => parts.push(m.message));
      call.on('end', () => callback(null, { message: parts.join(','), server: name }));
    });
  const bidi: Bidi =
    handlers.bidi ??
    ((call) => {
      call.on('data', (m: EchoRequest) => call.write({ message: m.message, server: name }));
      call.on('end', () => call.end());
    });
  server.addService(EchoClient.service, {
    unary: ((call, callback) => {
      note('Unary', call);
      unary(call, callback);
    }) as Unary,
    idempotentUnary: ((call, callback) => {
      note('IdempotentUnary', call);
      idempotentUnary(call, callback);
    }) as Unary,
    serverStream: ((call) => {
      note('ServerStream', call);
      serverStream(call);
    }) as ServerStream,
    clientStream: ((call, callback) => {
      note('ClientStream', call);
      clientStream(call, callback);
    }) as ClientStream,
    bidi: ((call) => {
      note('Bidi', call);
      bidi(call);
    }) as Bidi,
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, credentials, (error, p) => (error ? reject(error) : resolve(p))),
  );
  return {
    name,
    port: bound,
    address: `${host}:${bound}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Calls a test left open would hold tryShutdown: end them.
        setTimeout(() => server.forceShutdown(), 200).unref();
      }),
  };
}

/** Keeps every backend a test starts and closes them all. */
export class GrpcBackends {
  readonly #all: GrpcBackend[] = [];

  async start(name: string, handlers?: EchoHandlers): Promise<GrpcBackend> {
    const backend = await startGrpcBackend(name, handlers);
    this.#all.push(backend);
    return backend;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#all.splice(0).map((b) => b.close()));
  }
}

/** A unary call as a promise. */
export function unary(
  client: grpc.Client,
  method: 'unary' | 'idempotentUnary',
  request: Partial<EchoRequest>,
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, Function>)[method]!(
      { message: '', count: 0, ...request },
      metadata,
      options,
      (error: grpc.ServiceError | null, reply: EchoReply) => (error ? reject(error) : resolve(reply)),
    );
  });
}

/** A server stream's messages and final status. */
export function collect(
  stream: grpc.ClientReadableStream<EchoReply>,
): Promise<{ messages: string[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const messages: string[] = [];
    stream.on('data', (m: EchoReply) => messages.push(m.message));
    stream.on('error', (error: grpc.ServiceError) => resolve({ messages, error }));
    stream.on('end', () => resolve({ messages }));
  });
}
