/**
 * A client of etcd's JSON gateway (the gRPC API served as HTTP/1.1 + JSON on the client port,
 * etcd 3.4+): `POST /v3/kv/range` for a prefix, and `POST /v3/watch`, a long-lived response of
 * one JSON object per line. Verified on etcd 3.4.23 (research next-wave §B3): keys and values
 * are base64, 64-bit numbers are strings, PUT events omit `"type"` (the proto3 default).
 * HTTP goes through Node's built-in `fetch`, which is undici: discovery/ may not import the undici
 * package (.dependency-cruiser.cjs), and the resolver needs nothing from it that `fetch` lacks.
 */

/** The gateway paths used (etcd's api/etcdserverpb/rpc.proto `google.api.http` options). */
const RANGE_PATH = '/v3/kv/range';
const WATCH_PATH = '/v3/watch';

/** One key of a range answer or a watch event. */
export interface EtcdKeyValue {
  readonly key: string;
  /** The value as UTF-8 text; empty for a DELETE event. */
  readonly value: string;
}

/** A range answer: the keys under the prefix, at `revision` (the store's revision when read). */
export interface EtcdRange {
  readonly revision: number;
  readonly kvs: readonly EtcdKeyValue[];
}

/** One change a watch reports. */
export interface EtcdEvent {
  readonly type: 'put' | 'delete';
  readonly kv: EtcdKeyValue;
}

/** One message of a watch stream, decoded. */
export type EtcdWatchMessage =
  /** The watch exists; events from the start revision follow. */
  | { readonly kind: 'created'; readonly revision: number }
  /** Changes, in revision order; `revision` is the store's revision when sent. */
  | { readonly kind: 'events'; readonly revision: number; readonly events: readonly EtcdEvent[] }
  /** A progress notification: no changes up to `revision`. */
  | { readonly kind: 'progress'; readonly revision: number }
  /** The start revision was compacted away: the history the watch needs is gone. */
  | { readonly kind: 'compacted'; readonly compactRevision: number }
  /** The server canceled the watch for another reason (e.g. permission denied). */
  | { readonly kind: 'canceled'; readonly reason: string };

/** Which gateway call failed. */
export type EtcdOperation = 'range' | 'watch';

/**
 * A call to etcd's JSON gateway failed: the connection (refused, reset, timed out), an HTTP or
 * gRPC error status, an answer that is not the gateway's JSON, or a watch stream that ended.
 */
export class EtcdRequestError extends Error {
  /** The etcd endpoint asked, e.g. `http://10.0.0.5:2379`. */
  readonly endpoint: string;
  /** The gateway call: `range` (the list) or `watch`. */
  readonly operation: EtcdOperation;
  /** A Node/undici error code (`ECONNREFUSED`), `HTTP 503`, or etcd's gRPC code (`grpc 11`), when known. */
  readonly code: string | undefined;

  constructor(endpoint: string, operation: EtcdOperation, detail: string, code?: string, cause?: unknown) {
    super(`etcd ${operation} at ${endpoint} failed: ${detail}`, cause === undefined ? undefined : { cause });
    this.name = 'EtcdRequestError';
    this.endpoint = endpoint;
    this.operation = operation;
    this.code = code;
  }
}

/** How the resolver talks to etcd; the default is {@link fetchGateway}. Tests wrap it. */
export interface EtcdGateway {
  /** Every key under `prefix`, with the revision read at. Rejects with {@link EtcdRequestError}. */
  range(endpoint: string, prefix: string, signal: AbortSignal): Promise<EtcdRange>;
  /**
   * Watch `prefix` from `startRevision` until `signal` aborts. Yields each message; throws
   * {@link EtcdRequestError} when the stream cannot be opened, breaks or ends.
   */
  watch(
    endpoint: string,
    prefix: string,
    startRevision: number,
    signal: AbortSignal,
  ): AsyncIterable<EtcdWatchMessage>;
}

/**
 * The gateway over `fetch`. `requestTimeoutMs` bounds a range call and the wait for a watch's
 * response headers; the watch stream itself has no timeout (the caller ends it).
 */
export function fetchGateway(requestTimeoutMs: number): EtcdGateway {
  return {
    async range(endpoint, prefix, signal) {
      const body = { key: base64(prefix), range_end: prefixRangeEnd(prefix).toString('base64') };
      const json = await post(endpoint, RANGE_PATH, body, 'range', withTimeout(signal, requestTimeoutMs));
      const answer = json as { header?: { revision?: unknown }; kvs?: unknown };
      const revision = revisionOf(answer.header?.revision, endpoint, 'range');
      const kvs = Array.isArray(answer.kvs)
        ? answer.kvs.map((kv) => decodeKeyValue(kv, endpoint, 'range'))
        : [];
      return { revision, kvs };
    },
    watch: (endpoint, prefix, startRevision, signal) =>
      watchStream(endpoint, prefix, startRevision, signal, requestTimeoutMs),
  };
}

async function* watchStream(
  endpoint: string,
  prefix: string,
  startRevision: number,
  signal: AbortSignal,
  requestTimeoutMs: number,
): AsyncGenerator<EtcdWatchMessage> {
  const create = {
    create_request: {
      key: base64(prefix),
      range_end: prefixRangeEnd(prefix).toString('base64'),
      start_revision: String(startRevision),
    },
  };
  // The header timeout aborts only the wait for the response, not the stream that follows.
  const headers = new AbortController();
  const onAbort = (): void => headers.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(
    () =>
      headers.abort(
        new EtcdRequestError(endpoint, 'watch', `no answer within ${requestTimeoutMs}ms`, 'ETIMEDOUT'),
      ),
    requestTimeoutMs,
  );
  timer.unref();
  let response: Response;
  try {
    response = await send(endpoint, WATCH_PATH, create, 'watch', headers.signal);
  } finally {
    clearTimeout(timer);
  }
  try {
    if (!response.ok) throw await statusError(response, endpoint, 'watch');
    if (response.body === null) throw new EtcdRequestError(endpoint, 'watch', 'the answer has no body');
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk, { stream: true });
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line !== '') yield decodeWatchLine(line, endpoint);
          newline = buffered.indexOf('\n');
        }
      }
    } catch (error) {
      throw transportError(error, endpoint, 'watch', headers.signal);
    }
    if (buffered.trim() !== '') yield decodeWatchLine(buffered.trim(), endpoint);
    throw new EtcdRequestError(endpoint, 'watch', 'the server ended the watch stream', 'EOF');
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Ends the stream (and its connection) when the consumer stops early or the signal aborted.
    headers.abort(signal.reason);
  }
}

function decodeWatchLine(line: string, endpoint: string): EtcdWatchMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new EtcdRequestError(
      endpoint,
      'watch',
      `a line of the stream is not JSON: ${line.slice(0, 80)}`,
      undefined,
      error,
    );
  }
  const message = parsed as { result?: Record<string, unknown>; error?: unknown };
  if (message.error !== undefined) throw gatewayError(message.error, endpoint, 'watch');
  const result = message.result;
  if (result === undefined || result === null || typeof result !== 'object') {
    throw new EtcdRequestError(endpoint, 'watch', `unexpected message: ${line.slice(0, 80)}`);
  }
  if (result.canceled === true) {
    if (result.compact_revision !== undefined && result.compact_revision !== '0') {
      return { kind: 'compacted', compactRevision: revisionOf(result.compact_revision, endpoint, 'watch') };
    }
    return { kind: 'canceled', reason: typeof result.cancel_reason === 'string' ? result.cancel_reason : '' };
  }
  const revision = revisionOf(
    (result.header as { revision?: unknown } | undefined)?.revision,
    endpoint,
    'watch',
  );
  if (result.created === true) return { kind: 'created', revision };
  if (!Array.isArray(result.events) || result.events.length === 0) return { kind: 'progress', revision };
  const events = result.events.map((raw: unknown): EtcdEvent => {
    const event = raw as { type?: unknown; kv?: unknown };
    // proto3 leaves out default values: a PUT (0) event has no "type".
    const type = event.type === 'DELETE' ? 'delete' : 'put';
    return { type, kv: decodeKeyValue(event.kv, endpoint, 'watch') };
  });
  return { kind: 'events', revision, events };
}

async function post(
  endpoint: string,
  path: string,
  body: unknown,
  operation: EtcdOperation,
  signal: AbortSignal,
): Promise<unknown> {
  const response = await send(endpoint, path, body, operation, signal);
  if (!response.ok) throw await statusError(response, endpoint, operation);
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw transportError(error, endpoint, operation, signal);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new EtcdRequestError(
      endpoint,
      operation,
      `the answer is not JSON: ${text.slice(0, 80)}`,
      undefined,
      error,
    );
  }
}

async function send(
  endpoint: string,
  path: string,
  body: unknown,
  operation: EtcdOperation,
  signal: AbortSignal,
): Promise<Response> {
  try {
    return await fetch(`${endpoint}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    throw transportError(error, endpoint, operation, signal);
  }
}

/** An error status: the gateway's JSON error (`{"error","message","code"}`) when there is one. */
async function statusError(
  response: Response,
  endpoint: string,
  operation: EtcdOperation,
): Promise<EtcdRequestError> {
  const text = await response.text().catch(() => '');
  try {
    return gatewayError(JSON.parse(text), endpoint, operation, response.status);
  } catch {
    return new EtcdRequestError(
      endpoint,
      operation,
      `HTTP ${response.status} ${text.slice(0, 80)}`.trim(),
      `HTTP ${response.status}`,
    );
  }
}

function gatewayError(
  raw: unknown,
  endpoint: string,
  operation: EtcdOperation,
  status?: number,
): EtcdRequestError {
  const error = raw as { message?: unknown; code?: unknown; grpc_code?: unknown; error?: unknown };
  const inner =
    typeof error.error === 'object' && error.error !== null ? (error.error as typeof error) : error;
  const message = typeof inner.message === 'string' ? inner.message : JSON.stringify(raw).slice(0, 80);
  const grpc = inner.grpc_code ?? inner.code;
  const code =
    typeof grpc === 'number' ? `grpc ${grpc}` : status !== undefined ? `HTTP ${status}` : undefined;
  return new EtcdRequestError(
    endpoint,
    operation,
    status === undefined ? message : `HTTP ${status}: ${message}`,
    code,
  );
}

/** A fetch failure as an EtcdRequestError naming the system error under undici's `TypeError: fetch failed`. */
function transportError(
  error: unknown,
  endpoint: string,
  operation: EtcdOperation,
  signal: AbortSignal,
): EtcdRequestError {
  if (error instanceof EtcdRequestError) return error;
  if (signal.aborted && signal.reason instanceof EtcdRequestError) return signal.reason;
  const cause = (error as { cause?: unknown } | null)?.cause;
  const code = codeOf(cause) ?? codeOf(error);
  const detail = code ?? (error instanceof Error ? error.message : String(error));
  return new EtcdRequestError(endpoint, operation, detail, code, error);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function withTimeout(signal: AbortSignal, ms: number): AbortSignal {
  return AbortSignal.any([signal, AbortSignal.timeout(ms)]);
}

function decodeKeyValue(raw: unknown, endpoint: string, operation: EtcdOperation): EtcdKeyValue {
  const kv = raw as { key?: unknown; value?: unknown } | null;
  if (kv === null || typeof kv !== 'object' || typeof kv.key !== 'string') {
    throw new EtcdRequestError(
      endpoint,
      operation,
      `a key-value without a key: ${JSON.stringify(raw)?.slice(0, 80)}`,
    );
  }
  return { key: fromBase64(kv.key), value: typeof kv.value === 'string' ? fromBase64(kv.value) : '' };
}

function revisionOf(raw: unknown, endpoint: string, operation: EtcdOperation): number {
  const revision = typeof raw === 'string' ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(revision) || revision < 0) {
    throw new EtcdRequestError(
      endpoint,
      operation,
      `the answer has no valid revision (${JSON.stringify(raw)})`,
    );
  }
  return revision;
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function fromBase64(text: string): string {
  return Buffer.from(text, 'base64').toString('utf8');
}

/**
 * The end of the key range that holds every key starting with `prefix`: the prefix with its last
 * byte below 0xff incremented and the bytes after it dropped (etcd's `GetPrefixRangeEnd`).
 */
export function prefixRangeEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = bytes[i]! + 1;
      return end;
    }
  }
  // All 0xff (or empty): "every key from the prefix on", etcd's "\0" range end.
  return Buffer.from([0]);
}
