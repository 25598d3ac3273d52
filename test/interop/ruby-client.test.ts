/**
 * The other direction: the interop client of Debian's ruby-grpc (gRPC C-core, `client.rb`), an
 * implementation we did not write, runs its non-auth cases against weft's grpc-js interop server
 * (test/support/interop-service.ts), plain and over TLS with the gem's test certificate and host
 * override. The Ruby client checks every answer itself and exits 0 only when its case passed.
 *
 * The server runs weft's server interceptor (`grpcDeadlineInterceptor`), then one that records what
 * each call arrived with (method, deadline, `:authority`), so the deadline the C-core client sends
 * is checked where a server interceptor sees it, with weft's in front.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcDeadlineInterceptor } from '../../src/grpc.js';
import { type InteropServer, startInteropServer } from '../support/interop-service.js';
import {
  INTEROP_HOST_OVERRIDE,
  interopServerCredentials,
  runRubyInteropClient,
} from '../support/ruby-interop.js';

/**
 * The Ruby client's cases that need no Google credentials, and the methods each must reach on
 * the server. (Its 1.51 client has no special_status_message; the compression cases are not among
 * the fourteen.) cancel_after_begin may be cancelled before the server sees it; the unimplemented
 * cases reach no handler.
 */
const RUBY_CLIENT_CASES: Readonly<Record<string, readonly string[]>> = {
  empty_unary: ['EmptyCall'],
  large_unary: ['UnaryCall'],
  client_streaming: ['StreamingInputCall'],
  server_streaming: ['StreamingOutputCall'],
  ping_pong: ['FullDuplexCall'],
  empty_stream: ['FullDuplexCall'],
  timeout_on_sleeping_server: ['FullDuplexCall'],
  cancel_after_begin: [],
  cancel_after_first_response: ['FullDuplexCall'],
  custom_metadata: ['UnaryCall', 'FullDuplexCall'],
  status_code_and_message: ['UnaryCall', 'FullDuplexCall'],
  unimplemented_method: [],
  unimplemented_service: [],
};

/** What a server interceptor saw of one call when it arrived. */
interface Arrival {
  readonly path: string;
  /** Milliseconds to the call's deadline when it arrived; Infinity for none. */
  readonly timeLeftMs: number;
  /** The call's `:authority`; undefined on grpc-js 1.10, whose server calls have no getHost(). */
  readonly authority: string | undefined;
}

/** A pass-through server interceptor that notes every call's arrival. */
function recordArrivals(into: Arrival[]): grpc.ServerInterceptor {
  return (method, call) => {
    const deadline = call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    const host = (call as { getHost?: () => string }).getHost;
    into.push({ path: method.path, timeLeftMs: at - Date.now(), authority: host?.call(call) });
    return new grpc.ServerInterceptingCall(call);
  };
}

for (const tls of [false, true]) {
  describe(`the Ruby (C-core) interop client against weft's grpc-js interop server${tls ? ', over TLS' : ''}`, () => {
    let server: InteropServer;
    const arrivals: Arrival[] = [];
    beforeAll(async () => {
      server = await startInteropServer({
        // weft's server interceptor first, as docs/grpc.md says; the recorder after it.
        serverOptions: { interceptors: [grpcDeadlineInterceptor(), recordArrivals(arrivals)] },
        credentials: tls ? interopServerCredentials() : undefined,
      });
    });
    afterAll(async () => {
      await server?.close();
    });

    for (const [testCase, methods] of Object.entries(RUBY_CLIENT_CASES)) {
      it(testCase, async () => {
        const seenBefore = server.seen.length;
        const arrivedBefore = arrivals.length;
        const result = await runRubyInteropClient({ port: server.port, testCase, tls });
        expect(result.timedOut, result.output).toBe(false);
        expect(result.passed, `client.rb --test_case=${testCase} failed:\n${result.output}`).toBe(true);
        expect(server.seen.slice(seenBefore)).toEqual(methods);
        const arrived = arrivals.slice(arrivedBefore);
        if (tls && 'getHost' in grpc.ServerInterceptingCall.prototype) {
          for (const a of arrived) expect(a.authority).toBe(INTEROP_HOST_OVERRIDE);
        }
        if (testCase === 'timeout_on_sleeping_server') {
          // The client's 1 s deadline reached the server as grpc-timeout.
          expect(arrived).toHaveLength(1);
          expect(arrived[0]!.timeLeftMs).toBeGreaterThan(0);
          expect(arrived[0]!.timeLeftMs).toBeLessThanOrEqual(1_000);
        }
      });
    }
  });
}
