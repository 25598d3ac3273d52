/**
 * What a gRPC client counts for Prometheus, beyond what every client does (./client-metrics.ts):
 * its calls by method (`grpc_service`, `grpc_method`), class and status code (`grpc_code`, the
 * status the call ended with), their latency by method and class, and its attempts by status
 * code as well as class. A call whose response is a stream is counted when the stream ends, with
 * its final status: until then it is in flight. Every series of a gRPC client carries
 * `protocol="grpc"`; an HTTP client's series keep the labels they always had. The catalogue
 * (./catalog.ts) reads these through the `grpc…Samples` functions below.
 */
import { callClassName } from '../../core/call-outcome.js';
import { attemptClassName, type ResponseClassName } from '../../core/classification.js';
import type { CallContext } from '../../core/context.js';
import { CallSlot } from '../../core/context-slot.js';
import type { Endpoint } from '../../core/endpoint.js';
import { errorCode } from '../../core/errors.js';
import { type GrpcRequestShape, grpcStatusCode, grpcStatusName, isOpenGrpcStream } from '../grpc-shapes.js';
import { CLASSES, ClientMetrics, callSeconds, classCounts } from './client-metrics.js';
import { LatencyHistogram } from './histogram.js';
import type { Labels, Sample } from './scraped-metric.js';

/** A status code slot for an outcome that has none (weft's own errors: a deadline, no endpoints). */
const NO_CODE = -1;

/** The calls of one method. */
interface MethodCalls {
  /** `grpc_service` and `grpc_method`. */
  readonly labels: Labels;
  /** By status code ({@link NO_CODE} for none), then class. */
  readonly byCode: Map<number, Record<ResponseClassName, number>>;
  /** By class, made at the first call of that class. */
  readonly latency: Partial<Record<ResponseClassName, LatencyHistogram>>;
}

/** The method of the call, from its start to its end (a stream's end included: a late outcome's context keeps it). */
const METHOD_SLOT = new CallSlot<MethodCalls>('prometheus: the gRPC method of the call');

/** Metrics of one gRPC client. */
export class GrpcClientMetrics extends ClientMetrics {
  /** By method path. */
  readonly methods = new Map<string, MethodCalls>();
  /** Responses the caller has as streams, not ended yet: their calls are counted when they end. */
  readonly #openStreams = new WeakSet<object>();

  override callStarted(req: unknown, ctx: CallContext): void {
    this.inFlight++;
    METHOD_SLOT.set(ctx, this.#methodOf(req as GrpcRequestShape | undefined));
  }

  override callFinished(ctx: CallContext, failed: boolean, outcome: unknown): void {
    if (!failed && isOpenGrpcStream(outcome)) {
      this.#openStreams.add(outcome as object);
      return;
    }
    this.#callEnded(ctx, failed, outcome);
  }

  override attemptFinished(
    ctx: CallContext,
    endpoint: Endpoint,
    failed: boolean,
    outcome: unknown,
    durationMs: number,
  ): void {
    const counts = this.countAttempt(ctx, endpoint, failed, durationMs);
    if (counts !== undefined) {
      counts.byCode ??= new Map();
      countIn(counts.byCode, grpcStatusCode(outcome, failed), attemptClassName(ctx.classification, failed));
    }
    // The end of a stream a call returned: the call ends with it.
    if (typeof outcome === 'object' && outcome !== null && this.#openStreams.delete(outcome)) {
      this.#callEnded(ctx, failed, outcome);
    }
  }

  #callEnded(ctx: CallContext, failed: boolean, outcome: unknown): void {
    this.inFlight--;
    const cls = callClassName(ctx, failed, outcome);
    const method = METHOD_SLOT.get(ctx);
    if (method !== undefined) {
      countIn(method.byCode, grpcStatusCode(outcome, failed), cls);
      let latency = method.latency[cls];
      if (latency === undefined) {
        latency = new LatencyHistogram(this.buckets);
        method.latency[cls] = latency;
      }
      latency.observe(callSeconds(ctx));
    }
    if (failed && errorCode(outcome) === 'WEFT_OVERLOADED') this.throttled++;
  }

  #methodOf(req: GrpcRequestShape | undefined): MethodCalls | undefined {
    const method = req?.method;
    if (method === undefined) return undefined;
    let calls = this.methods.get(method.path);
    if (calls === undefined) {
      calls = {
        labels: { grpc_service: method.service, grpc_method: method.name },
        byCode: new Map(),
        latency: {},
      };
      this.methods.set(method.path, calls);
    }
    return calls;
  }
}

function countIn(
  byCode: Map<number, Record<ResponseClassName, number>>,
  code: number | undefined,
  cls: ResponseClassName,
): void {
  const key = code ?? NO_CODE;
  let counts = byCode.get(key);
  if (counts === undefined) {
    counts = classCounts();
    byCode.set(key, counts);
  }
  counts[cls]++;
}

/** `grpc_code`, unless the outcome had no status. */
function withCode(labels: Labels, code: number): Labels {
  return code === NO_CODE ? labels : { ...labels, grpc_code: grpcStatusName(code) };
}

/** `weft_requests_total` of a gRPC client: by method, class and status code. */
export function grpcRequestSamples(c: GrpcClientMetrics, out: Sample[]): void {
  for (const method of c.methods.values()) {
    for (const [code, counts] of method.byCode) {
      for (const cls of CLASSES) {
        const value = counts[cls];
        if (value > 0)
          out.push({ labels: withCode({ ...c.labels, class: cls, ...method.labels }, code), value });
      }
    }
  }
}

/** `weft_request_duration_seconds` of a gRPC client: by method and class. */
export function grpcRequestLatencySamples(c: GrpcClientMetrics, fullName: string, out: Sample[]): void {
  for (const method of c.methods.values()) {
    for (const cls of CLASSES) {
      const h = method.latency[cls];
      if (h !== undefined) h.samples(fullName, { ...c.labels, class: cls, ...method.labels }, out);
    }
  }
}

/** `weft_attempts_total` of a gRPC client: by endpoint (unless off), class and status code. */
export function grpcAttemptSamples(
  c: GrpcClientMetrics,
  endpointLabels: (endpoint: string) => Labels,
  out: Sample[],
): void {
  for (const [endpoint, counts] of c.attempts) {
    if (counts.byCode === undefined) continue;
    for (const [code, byClass] of counts.byCode) {
      for (const cls of CLASSES) {
        const value = byClass[cls];
        if (value > 0)
          out.push({ labels: withCode({ ...endpointLabels(endpoint), class: cls }, code), value });
      }
    }
  }
}
