/**
 * The client as an undici `Dispatcher`: `fetch(url, { dispatcher })`, `request(url, { dispatcher })`
 * and `setGlobalDispatcher` send through the weft stack. Each dispatch becomes one weft call; the
 * response is streamed back to undici's handler with backpressure (pause/resume) and abort.
 * The origin in the dispatch options is ignored: the balancer picks the endpoint.
 * Node's built-in fetch (bundled undici) speaks the older dispatcher API: wrap the client's
 * dispatcher in undici's `Dispatcher1Wrapper` for it (setGlobalDispatcher does that itself).
 */
import type { Readable } from 'node:stream';
import { Dispatcher, Dispatcher1Wrapper } from 'undici';
import { Cancellation } from '../../core/cancellation.js';
import { copyHeaders, type HttpRequest, type HttpResponse } from '../protocol/request.js';
import { destroyCallback, promiseOrCallback } from './dispatcher-callbacks.js';

/** What the dispatcher needs from a client: run one call through the stack. */
export interface DispatchTarget {
  /** Run a weft call for a request built from dispatch options. */
  callFromDispatch(req: HttpRequest, cancellation: Cancellation): Promise<HttpResponse>;
}

/** An undici Dispatcher that sends every request through a weft client. */
export class WeftDispatcher extends Dispatcher {
  readonly #target: DispatchTarget;
  readonly #onClose: () => Promise<void>;
  readonly #placeholderOrigin: string | undefined;

  /**
   * @param placeholderOrigin when the client has no fixed authority: the origin `client.fetch`
   *   uses for bare paths. Any other origin a request names becomes its Host header, so a routing
   *   agent keeps name-based virtual hosting working. Undefined: never derive Host.
   */
  constructor(target: DispatchTarget, onClose: () => Promise<void>, placeholderOrigin?: string) {
    super();
    this.#target = target;
    this.#onClose = onClose;
    this.#placeholderOrigin = placeholderOrigin;
  }

  override dispatch(
    options: Dispatcher.DispatchOptions,
    legacyOrCurrent: Dispatcher.DispatchHandler,
  ): boolean {
    // Node's bundled fetch speaks the older handler API (onConnect/onHeaders/...): adapt it.
    const handler = isCurrentHandler(legacyOrCurrent) ? legacyOrCurrent : adaptLegacyHandler(legacyOrCurrent);
    const controller = new ResponseController();
    handler.onRequestStart?.(controller, {});
    if (controller.aborted) {
      handler.onResponseError?.(controller, controller.reason ?? new Error('aborted'));
      return true;
    }
    let req: HttpRequest;
    try {
      req = requestFromDispatch(options, this.#placeholderOrigin);
    } catch (error) {
      handler.onResponseError?.(controller, error as Error);
      return true;
    }
    this.#target.callFromDispatch(req, controller.cancellation).then(
      (res) => controller.deliver(res, handler),
      (error: Error) => controller.fail(handler, error),
    );
    return true;
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    return promiseOrCallback(this.#onClose(), callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    return promiseOrCallback(this.#onClose(), destroyCallback(a, b));
  }
}

/** undici's own adapter from the older handler API (a static on Dispatcher1Wrapper, untyped). */
const legacyAdapter = (
  Dispatcher1Wrapper as unknown as { wrapHandler?: (h: unknown) => Dispatcher.DispatchHandler }
).wrapHandler;

function adaptLegacyHandler(handler: Dispatcher.DispatchHandler): Dispatcher.DispatchHandler {
  if (typeof legacyAdapter !== 'function') {
    throw new TypeError(
      'this undici has no Dispatcher1Wrapper.wrapHandler: wrap the dispatcher in Dispatcher1Wrapper',
    );
  }
  return legacyAdapter.call(Dispatcher1Wrapper, handler);
}

function isCurrentHandler(handler: Dispatcher.DispatchHandler): boolean {
  const h = handler as Record<string, unknown>;
  if (typeof h.onRequestStart === 'function' || typeof h.onResponseStart === 'function') return true;
  return !(
    typeof h.onConnect === 'function' ||
    typeof h.onHeaders === 'function' ||
    typeof h.onComplete === 'function'
  );
}

function requestFromDispatch(
  options: Dispatcher.DispatchOptions,
  placeholderOrigin: string | undefined,
): HttpRequest {
  let path = options.path;
  if (options.query != null) {
    const query = new URLSearchParams(options.query as Record<string, string>).toString();
    if (query.length > 0) path += (path.includes('?') ? '&' : '?') + query;
  }
  const headers = copyHeaders(options.headers as Parameters<typeof copyHeaders>[0]);
  if (placeholderOrigin !== undefined && headers.host === undefined && options.origin !== undefined) {
    const origin = typeof options.origin === 'string' ? new URL(options.origin) : options.origin;
    if (origin.origin !== placeholderOrigin) headers.host = origin.host;
  }
  return {
    method: options.method,
    path,
    headers,
    body: options.body ?? null,
    headersTimeout: options.headersTimeout ?? undefined,
    bodyTimeout: options.bodyTimeout ?? undefined,
  };
}

/** The controller undici's handler drives: abort, pause and resume map onto the weft call and body. */
class ResponseController implements Dispatcher.DispatchController {
  /** Cancels the weft call; the transport listens to it. */
  readonly cancellation = new Cancellation();
  #aborted = false;
  #paused = false;
  #reason: Error | null = null;
  #body: Readable | undefined;
  #done = false;
  rawHeaders: string[] | null = null;
  rawTrailers: string[] | null = null;

  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.cancellation.abort(reason);
    this.#body?.destroy(reason);
  }

  pause(): void {
    this.#paused = true;
    this.#body?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#body?.resume();
  }

  deliver(res: HttpResponse, handler: Dispatcher.DispatchHandler): void {
    const body = res.body as unknown as Readable;
    if (this.#aborted) {
      body.destroy();
      this.fail(handler, this.#reason ?? new Error('aborted'));
      return;
    }
    this.#body = body;
    this.rawHeaders = toRawHeaders(res.headers);
    try {
      handler.onResponseStart?.(this, res.statusCode, res.headers, res.statusText);
    } catch (error) {
      body.destroy();
      this.fail(handler, error as Error);
      return;
    }
    if (this.#aborted) return;
    body.on('data', (chunk: Buffer) => {
      if (!this.#done) handler.onResponseData?.(this, chunk);
    });
    body.on('end', () => {
      if (this.#done) return;
      this.#done = true;
      this.rawTrailers = toRawHeaders(res.trailers);
      handler.onResponseEnd?.(this, res.trailers);
    });
    body.on('error', (error: Error) => this.fail(handler, error));
    if (this.#paused) body.pause();
  }

  fail(handler: Dispatcher.DispatchHandler, error: Error): void {
    if (this.#done) return;
    this.#done = true;
    handler.onResponseError?.(this, error);
  }
}

function toRawHeaders(headers: Record<string, string | string[] | undefined> | undefined): string[] {
  const raw: string[] = [];
  if (headers === undefined) return raw;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) raw.push(name, v);
    else raw.push(name, value);
  }
  return raw;
}
