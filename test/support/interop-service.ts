/**
 * The gRPC interop suite's service (`grpc.testing.TestService`, test/fixtures/grpc/interop/), for
 * both directions of the interop tests: the generated client classes (from @grpc/proto-loader,
 * field names as in the proto) that weft's cases call, and a grpc-js server implementing the
 * server features the public case list asks for (grpc/grpc doc/interop-test-descriptions.md:
 * EmptyCall, UnaryCall, StreamingInputCall, StreamingOutputCall, FullDuplexCall, HalfDuplexCall,
 * Echo Status, Echo Metadata, ResponseParameters.interval_us). `UnimplementedCall` and
 * `UnimplementedService` are left out on purpose: grpc-js answers them UNIMPLEMENTED. The
 * Ruby interop client (test/support/ruby-interop.ts) runs against this server.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The folder of the interop protos. */
export const INTEROP_PROTO_DIR = fileURLToPath(new URL('../fixtures/grpc/interop/', import.meta.url));

const definition = protoLoader.loadSync('test.proto', {
  includeDirs: [INTEROP_PROTO_DIR],
  keepCase: true,
  enums: String,
  longs: Number,
  defaults: true,
});
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  grpc: {
    testing: {
      TestService: grpc.ServiceClientConstructor;
      UnimplementedService: grpc.ServiceClientConstructor;
    };
  };
};

// --- messages (field names as in messages.proto) -------------------------------------------------

/** The only payload type the cases use. */
export type PayloadType = 'COMPRESSABLE';

export interface Payload {
  type?: PayloadType;
  body: Buffer;
}
export interface EchoStatus {
  code: number;
  message: string;
}
export interface SimpleRequest {
  response_type?: PayloadType;
  response_size?: number;
  payload?: Payload | null;
  response_status?: EchoStatus | null;
}
export interface SimpleResponse {
  payload: Payload | null;
}
export interface StreamingInputCallRequest {
  payload: Payload | null;
}
export interface StreamingInputCallResponse {
  aggregated_payload_size: number;
}
export interface ResponseParameters {
  size: number;
  interval_us?: number;
}
export interface StreamingOutputCallRequest {
  response_type?: PayloadType;
  response_parameters?: ResponseParameters[];
  payload?: Payload | null;
  response_status?: EchoStatus | null;
}
export interface StreamingOutputCallResponse {
  payload: Payload | null;
}
export type Empty = Record<string, never>;

// --- generated clients ---------------------------------------------------------------------------

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;

/** The generated client of `grpc.testing.TestService`, as @grpc/proto-loader builds it. */
export interface TestServiceClient extends grpc.Client {
  emptyCall: UnaryMethod<Empty, Empty>;
  unaryCall: UnaryMethod<SimpleRequest, SimpleResponse>;
  streamingOutputCall(
    request: StreamingOutputCallRequest,
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<StreamingOutputCallResponse>;
  streamingInputCall(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<StreamingInputCallResponse>,
  ): grpc.ClientWritableStream<StreamingInputCallRequest>;
  fullDuplexCall(
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientDuplexStream<StreamingOutputCallRequest, StreamingOutputCallResponse>;
  unimplementedCall: UnaryMethod<Empty, Empty>;
}

/** The generated client of `grpc.testing.UnimplementedService`. */
export interface UnimplementedServiceClient extends grpc.Client {
  unimplementedCall: UnaryMethod<Empty, Empty>;
}

/** A generated client class: what `new` and weft's `createGrpcClient` take. */
export interface InteropClientClass<C> {
  new (address: string, credentials: grpc.ChannelCredentials, options?: Record<string, unknown>): C;
  readonly service: grpc.ServiceDefinition;
}

export const TestServiceClient = loaded.grpc.testing
  .TestService as unknown as InteropClientClass<TestServiceClient>;
export const UnimplementedServiceClient = loaded.grpc.testing
  .UnimplementedService as unknown as InteropClientClass<UnimplementedServiceClient>;

// --- the server ----------------------------------------------------------------------------------

/** Metadata keys the server echoes ("Echo Metadata"). */
export const ECHO_INITIAL_KEY = 'x-grpc-test-echo-initial';
export const ECHO_TRAILING_KEY = 'x-grpc-test-echo-trailing-bin';

export interface InteropServerOptions {
  /**
   * grpc-js server options, `interceptors` among them (grpc-js ≥ 1.10): a server interceptor
   * under test (weft's deadline interceptor, say) sees every interop call.
   */
  readonly serverOptions?: grpc.ServerOptions;
  /** Server credentials. Default: insecure. */
  readonly credentials?: grpc.ServerCredentials;
}

/** A running interop server on 127.0.0.1. */
export interface InteropServer {
  readonly port: number;
  readonly address: string;
  /** Calls the server has seen, by method name (`UnaryCall`, ...). */
  readonly seen: string[];
  close(): Promise<void>;
}

type AnyServerCall = { metadata: grpc.Metadata; sendMetadata(metadata: grpc.Metadata): void };

/** The echoed initial metadata (sent at once) and the trailing metadata to end the call with. */
function echoMetadata(call: AnyServerCall): grpc.Metadata {
  const initial = call.metadata.get(ECHO_INITIAL_KEY);
  if (initial.length > 0) {
    const headers = new grpc.Metadata();
    for (const value of initial) headers.add(ECHO_INITIAL_KEY, value);
    call.sendMetadata(headers);
  }
  const trailers = new grpc.Metadata();
  for (const value of call.metadata.get(ECHO_TRAILING_KEY)) trailers.add(ECHO_TRAILING_KEY, value);
  return trailers;
}

/** The status a request asks the server to end with ("Echo Status"), if any. */
function echoedStatus(
  status: EchoStatus | null | undefined,
  trailers: grpc.Metadata,
): Partial<grpc.StatusObject> | undefined {
  if (status === null || status === undefined || status.code === 0) return undefined;
  return { code: status.code, details: status.message, metadata: trailers };
}

function payload(type: PayloadType | undefined, size: number): Payload | grpc.StatusObject {
  if (type !== undefined && type !== 'COMPRESSABLE') {
    return {
      code: grpc.status.INVALID_ARGUMENT,
      details: `unsupported response_type ${String(type)}`,
      metadata: new grpc.Metadata(),
    };
  }
  return { type: 'COMPRESSABLE', body: Buffer.alloc(size) };
}

function isStatus(value: unknown): value is grpc.StatusObject {
  return typeof (value as { code?: unknown }).code === 'number';
}

const sleep = (us: number) =>
  us > 0 ? new Promise<void>((resolve) => setTimeout(resolve, Math.ceil(us / 1_000))) : Promise.resolve();

/**
 * Writes the responses a request's `response_parameters` ask for, in order, each after its
 * `interval_us`; requests queue behind one another. Stops once the call is cancelled.
 */
class ResponseWriter {
  #chain: Promise<void> = Promise.resolve();
  #cancelled = false;

  constructor(private readonly call: grpc.ServerWritableStream<unknown, StreamingOutputCallResponse>) {
    call.on('cancelled', () => {
      this.#cancelled = true;
    });
  }

  /** Queue the responses for `request`; fails the call if its response type is unsupported. */
  enqueue(request: StreamingOutputCallRequest): void {
    const params = request.response_parameters ?? [];
    this.#chain = this.#chain.then(async () => {
      for (const p of params) {
        await sleep(p.interval_us ?? 0);
        if (this.#cancelled) return;
        const body = payload(request.response_type, p.size);
        if (isStatus(body)) {
          this.call.emit('error', body);
          this.#cancelled = true;
          return;
        }
        this.call.write({ payload: body });
      }
    });
  }

  /** After every queued response: end the call with `trailers`. */
  finish(trailers: grpc.Metadata): void {
    this.#chain = this.#chain.then(() => {
      if (!this.#cancelled) this.call.end(trailers);
    });
  }
}

function handlers(seen: string[]): grpc.UntypedServiceImplementation {
  return {
    EmptyCall: ((_call, callback) => {
      seen.push('EmptyCall');
      callback(null, {});
    }) as grpc.handleUnaryCall<Empty, Empty>,

    UnaryCall: ((call, callback) => {
      seen.push('UnaryCall');
      const trailers = echoMetadata(call);
      const request = call.request;
      const status = echoedStatus(request.response_status, trailers);
      if (status !== undefined) {
        callback(status);
        return;
      }
      const body = payload(request.response_type, request.response_size ?? 0);
      if (isStatus(body)) callback(body);
      else callback(null, { payload: body }, trailers);
    }) as grpc.handleUnaryCall<SimpleRequest, SimpleResponse>,

    StreamingInputCall: ((call, callback) => {
      seen.push('StreamingInputCall');
      let size = 0;
      call.on('data', (request: StreamingInputCallRequest) => {
        size += request.payload?.body.length ?? 0;
      });
      call.on('end', () => callback(null, { aggregated_payload_size: size }));
    }) as grpc.handleClientStreamingCall<StreamingInputCallRequest, StreamingInputCallResponse>,

    StreamingOutputCall: ((call) => {
      seen.push('StreamingOutputCall');
      const trailers = echoMetadata(call);
      const status = echoedStatus(call.request.response_status, trailers);
      if (status !== undefined) {
        call.emit('error', status);
        return;
      }
      const writer = new ResponseWriter(call as never);
      writer.enqueue(call.request);
      writer.finish(trailers);
    }) as grpc.handleServerStreamingCall<StreamingOutputCallRequest, StreamingOutputCallResponse>,

    FullDuplexCall: ((call) => {
      seen.push('FullDuplexCall');
      const trailers = echoMetadata(call);
      const writer = new ResponseWriter(call as never);
      let failed = false;
      call.on('data', (request: StreamingOutputCallRequest) => {
        if (failed) return;
        const status = echoedStatus(request.response_status, trailers);
        if (status !== undefined) {
          failed = true;
          call.emit('error', status);
          return;
        }
        writer.enqueue(request);
      });
      call.on('end', () => {
        if (!failed) writer.finish(trailers);
      });
    }) as grpc.handleBidiStreamingCall<StreamingOutputCallRequest, StreamingOutputCallResponse>,

    HalfDuplexCall: ((call) => {
      seen.push('HalfDuplexCall');
      const trailers = echoMetadata(call);
      const requests: StreamingOutputCallRequest[] = [];
      call.on('data', (request: StreamingOutputCallRequest) => requests.push(request));
      call.on('end', () => {
        const writer = new ResponseWriter(call as never);
        for (const request of requests) writer.enqueue(request);
        writer.finish(trailers);
      });
    }) as grpc.handleBidiStreamingCall<StreamingOutputCallRequest, StreamingOutputCallResponse>,
  };
}

/** Start the interop server on 127.0.0.1 (a free port). */
export async function startInteropServer(options: InteropServerOptions = {}): Promise<InteropServer> {
  const seen: string[] = [];
  const server = new grpc.Server(options.serverOptions);
  // UnimplementedCall is left out: grpc-js answers a method without a handler UNIMPLEMENTED.
  server.addService(TestServiceClient.service, handlers(seen));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      options.credentials ?? grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    ),
  );
  return {
    port,
    address: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 500);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
