/**
 * The gRPC interop suite's client cases, written from the public case list (grpc/grpc
 * doc/interop-test-descriptions.md): the fourteen that need no Google credentials, each with the
 * procedure and the assertions the list gives. They take generated clients (test/support/
 * interop-service.ts), so the same cases run through weft against any interop server.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'vitest';
import {
  ECHO_INITIAL_KEY,
  ECHO_TRAILING_KEY,
  type Payload,
  type StreamingOutputCallRequest,
  type StreamingOutputCallResponse,
  type TestServiceClient,
  type UnimplementedServiceClient,
} from '../support/interop-service.js';

/** The clients a case calls. */
export interface InteropClients {
  readonly test: TestServiceClient;
  readonly unimplemented: UnimplementedServiceClient;
}

/** The cases' names, as the public list spells them. */
export const INTEROP_CASE_NAMES = [
  'empty_unary',
  'large_unary',
  'client_streaming',
  'server_streaming',
  'ping_pong',
  'empty_stream',
  'timeout_on_sleeping_server',
  'cancel_after_begin',
  'cancel_after_first_response',
  'custom_metadata',
  'status_code_and_message',
  'special_status_message',
  'unimplemented_method',
  'unimplemented_service',
] as const;

export type InteropCaseName = (typeof INTEROP_CASE_NAMES)[number];

const zeros = (size: number): Payload => ({ type: 'COMPRESSABLE', body: Buffer.alloc(size) });

/** A response payload of `size` zero bytes, of the COMPRESSABLE type. */
function expectZeros(payload: Payload | null | undefined, size: number): void {
  expect(payload?.type).toBe('COMPRESSABLE');
  expect(payload?.body.length).toBe(size);
  expect(payload?.body.equals(Buffer.alloc(size))).toBe(true);
}

/** What a unary call ended with: its response or error, and the metadata it received. */
interface UnaryOutcome<Res> {
  readonly response?: Res;
  readonly error?: grpc.ServiceError;
  readonly headers?: grpc.Metadata;
  readonly status: grpc.StatusObject;
}

function unary<Req, Res>(
  method: (
    request: Req,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<Res>,
  ) => grpc.ClientUnaryCall,
  client: grpc.Client,
  request: Req,
  metadata = new grpc.Metadata(),
): Promise<UnaryOutcome<Res>> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let ended: { response?: Res; error?: grpc.ServiceError } | undefined;
    let status: grpc.StatusObject | undefined;
    const finish = () => {
      if (ended !== undefined && status !== undefined) resolve({ ...ended, headers, status });
    };
    const call = method.call(client, request, metadata, {}, (error, response) => {
      ended = error ? { error } : { response: response as Res };
      finish();
    });
    call.on('metadata', (m: grpc.Metadata) => {
      headers = m;
    });
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      finish();
    });
  });
}

/** A bidi or server stream's messages, headers and final status. */
interface StreamOutcome {
  readonly messages: StreamingOutputCallResponse[];
  readonly headers?: grpc.Metadata;
  readonly status: grpc.StatusObject;
  readonly error?: grpc.ServiceError;
}

function outcome(
  stream: grpc.ClientReadableStream<StreamingOutputCallResponse>,
  onMessage?: (message: StreamingOutputCallResponse, index: number) => void,
): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    const messages: StreamingOutputCallResponse[] = [];
    let headers: grpc.Metadata | undefined;
    let error: grpc.ServiceError | undefined;
    stream.on('metadata', (m: grpc.Metadata) => {
      headers = m;
    });
    stream.on('data', (m: StreamingOutputCallResponse) => {
      messages.push(m);
      onMessage?.(m, messages.length - 1);
    });
    stream.on('error', (e: grpc.ServiceError) => {
      error = e;
    });
    // 'status' comes last, after 'end' or 'error'.
    stream.on('status', (status: grpc.StatusObject) =>
      setImmediate(() => resolve({ messages, headers, status, error })),
    );
  });
}

const LARGE_REQUEST = 271_828;
const LARGE_RESPONSE = 314_159;
const PING_PONG = [
  [27_182, 31_415],
  [8, 9],
  [1_828, 2_653],
  [45_904, 58_979],
] as const;
const STATUS_MESSAGE = 'test status message';
const SPECIAL_STATUS_MESSAGE = '\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n';

/** Each case: its procedure, then the assertions the public list gives. */
export const INTEROP_CASES: Readonly<Record<InteropCaseName, (c: InteropClients) => Promise<void>>> = {
  async empty_unary({ test }) {
    const result = await unary(test.emptyCall, test, {});
    expect(result.error).toBeUndefined();
    expect(result.response).toEqual({});
  },

  async large_unary({ test }) {
    const result = await unary(test.unaryCall, test, {
      response_type: 'COMPRESSABLE',
      response_size: LARGE_RESPONSE,
      payload: zeros(LARGE_REQUEST),
    });
    expect(result.error).toBeUndefined();
    expectZeros(result.response?.payload, LARGE_RESPONSE);
  },

  async client_streaming({ test }) {
    const reply = await new Promise<{ error: grpc.ServiceError | null; size?: number }>((resolve) => {
      const call = test.streamingInputCall(new grpc.Metadata(), {}, (error, response) =>
        resolve({ error, size: response?.aggregated_payload_size }),
      );
      for (const size of [27_182, 8, 1_828, 45_904]) call.write({ payload: zeros(size) });
      call.end();
    });
    expect(reply.error).toBeNull();
    expect(reply.size).toBe(74_922);
  },

  async server_streaming({ test }) {
    const sizes = [31_415, 9, 2_653, 58_979];
    const result = await outcome(
      test.streamingOutputCall({
        response_type: 'COMPRESSABLE',
        response_parameters: sizes.map((size) => ({ size })),
      }),
    );
    expect(result.status.code).toBe(grpc.status.OK);
    expect(result.messages).toHaveLength(4);
    for (const [i, m] of result.messages.entries()) expectZeros(m.payload, sizes[i]!);
  },

  async ping_pong({ test }) {
    const call = test.fullDuplexCall();
    const request = (i: number): StreamingOutputCallRequest => ({
      response_type: 'COMPRESSABLE',
      response_parameters: [{ size: PING_PONG[i]![1] }],
      payload: zeros(PING_PONG[i]![0]),
    });
    // Each request goes out only after the reply to the one before; the last reply half-closes.
    const result = outcome(call, (_message, index) => {
      if (index + 1 < PING_PONG.length) call.write(request(index + 1));
      else call.end();
    });
    call.write(request(0));
    const { status, messages } = await result;
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toHaveLength(4);
    for (const [i, m] of messages.entries()) expectZeros(m.payload, PING_PONG[i]![1]);
  },

  async empty_stream({ test }) {
    const call = test.fullDuplexCall();
    const result = outcome(call);
    call.end();
    const { status, messages } = await result;
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toHaveLength(0);
  },

  async timeout_on_sleeping_server({ test }) {
    const call = test.fullDuplexCall(new grpc.Metadata(), { deadline: Date.now() + 1 });
    const result = outcome(call);
    call.write({ payload: zeros(27_182) });
    const { status, error } = await result;
    expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  },

  async cancel_after_begin({ test }) {
    const error = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = test.streamingInputCall(new grpc.Metadata(), {}, (e) => resolve(e));
      call.cancel();
    });
    expect(error?.code).toBe(grpc.status.CANCELLED);
  },

  async cancel_after_first_response({ test }) {
    const call = test.fullDuplexCall();
    const result = outcome(call, () => call.cancel());
    call.write({
      response_type: 'COMPRESSABLE',
      response_parameters: [{ size: 31_415 }],
      payload: zeros(27_182),
    });
    const { status, messages, error } = await result;
    expect(messages).toHaveLength(1);
    expectZeros(messages[0]!.payload, 31_415);
    expect(status.code).toBe(grpc.status.CANCELLED);
    expect(error?.code).toBe(grpc.status.CANCELLED);
  },

  async custom_metadata({ test }) {
    const trailing = Buffer.from([0xab, 0xab, 0xab]);
    const metadata = () => {
      const m = new grpc.Metadata();
      m.set(ECHO_INITIAL_KEY, 'test_initial_metadata_value');
      m.set(ECHO_TRAILING_KEY, trailing);
      return m;
    };
    const expectEchoed = (headers: grpc.Metadata | undefined, trailers: grpc.Metadata) => {
      expect(headers?.get(ECHO_INITIAL_KEY)).toEqual(['test_initial_metadata_value']);
      expect(trailers.get(ECHO_TRAILING_KEY)).toEqual([trailing]);
    };

    const u = await unary(
      test.unaryCall,
      test,
      { response_type: 'COMPRESSABLE', response_size: LARGE_RESPONSE, payload: zeros(LARGE_REQUEST) },
      metadata(),
    );
    expect(u.error).toBeUndefined();
    expectZeros(u.response?.payload, LARGE_RESPONSE);
    expectEchoed(u.headers, u.status.metadata);

    const call = test.fullDuplexCall(metadata());
    const result = outcome(call);
    call.write({
      response_type: 'COMPRESSABLE',
      response_parameters: [{ size: LARGE_RESPONSE }],
      payload: zeros(LARGE_REQUEST),
    });
    call.end();
    const bidi = await result;
    expect(bidi.status.code).toBe(grpc.status.OK);
    expect(bidi.messages).toHaveLength(1);
    expectEchoed(bidi.headers, bidi.status.metadata);
  },

  async status_code_and_message({ test }) {
    const responseStatus = { code: grpc.status.UNKNOWN, message: STATUS_MESSAGE };
    const u = await unary(test.unaryCall, test, { response_status: responseStatus });
    expect(u.error?.code).toBe(grpc.status.UNKNOWN);
    expect(u.error?.details).toBe(STATUS_MESSAGE);

    const call = test.fullDuplexCall();
    const result = outcome(call);
    call.write({ response_status: responseStatus });
    call.end();
    const { status } = await result;
    expect(status.code).toBe(grpc.status.UNKNOWN);
    expect(status.details).toBe(STATUS_MESSAGE);
  },

  async special_status_message({ test }) {
    const u = await unary(test.unaryCall, test, {
      response_status: { code: grpc.status.UNKNOWN, message: SPECIAL_STATUS_MESSAGE },
    });
    expect(u.error?.code).toBe(grpc.status.UNKNOWN);
    expect(u.error?.details).toBe(SPECIAL_STATUS_MESSAGE);
  },

  async unimplemented_method({ test }) {
    const u = await unary(test.unimplementedCall, test, {});
    expect(u.error?.code).toBe(grpc.status.UNIMPLEMENTED);
  },

  async unimplemented_service({ unimplemented }) {
    const u = await unary(unimplemented.unimplementedCall, unimplemented, {});
    expect(u.error?.code).toBe(grpc.status.UNIMPLEMENTED);
  },
};
