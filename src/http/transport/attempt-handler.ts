/**
 * The dispatch handler of one HTTP attempt: what undici's `request()` does for a caller, minus
 * what weft does not need, plus what it does. It resolves the attempt's promise at the response
 * headers with undici's own streaming body (./response-body.ts), notes on the call's context whether the request was
 * written (which decides what may be sent again after a failure: Finagle's WriteException is a
 * requeue), and listens to the call's cancellation (deadline, per-attempt timeout, the caller's
 * signal) itself, aborting through undici's controller.
 *
 * Why not `pool.request()`: it builds an AsyncResource per request, a callback and a promise
 * around it, and for a signal two more closures and a 'close' listener on the body stream; weft
 * then wrapped its handler once more to see the write. One handler object does all of it here,
 * listening as an object (`handleEvent`), so an attempt allocates no closure of its own. Measured
 * in docs/benchmarks.md (the `overhead` scenario).
 */
import type { Dispatcher } from 'undici';
import type { CallContext } from '../../core/context.js';
import type { HttpResponse } from '../protocol/request.js';
import { ResponseBody } from './response-body.js';

type Controller = Dispatcher.DispatchController;

function noop(): void {}

/** What the handler listens to for an abort: weft's token or the caller's (combined) signal. */
interface AbortSource {
  addEventListener(type: 'abort', listener: { handleEvent(): void }): void;
  removeEventListener(type: 'abort', listener: { handleEvent(): void }): void;
}

export class AttemptHandler implements Dispatcher.DispatchHandler {
  readonly #ctx: CallContext;
  readonly #resolve: (response: HttpResponse) => void;
  readonly #reject: (error: unknown) => void;
  readonly #isHead: boolean;
  /** The request body, kept to destroy it if the attempt fails while it is a stream. */
  #requestBody: unknown;
  #source: AbortSource | null = null;
  #controller: Controller | null = null;
  #context: unknown = undefined;
  #body: ResponseBody | null = null;
  #settled = false;
  #trailers: Record<string, string | string[]> = {};

  constructor(
    ctx: CallContext,
    method: string,
    requestBody: unknown,
    resolve: (response: HttpResponse) => void,
    reject: (error: unknown) => void,
  ) {
    this.#ctx = ctx;
    this.#isHead = method === 'HEAD';
    this.#requestBody = requestBody;
    this.#resolve = resolve;
    this.#reject = reject;
    const source = (ctx.cancellation ?? ctx.signal) as AbortSource | undefined;
    if (source !== undefined) {
      source.addEventListener('abort', this);
      this.#source = source;
    }
  }

  /** The call was cancelled: abort the exchange, before or after the response headers. */
  handleEvent(): void {
    this.#unlisten();
    const reason = this.#ctx.cancelledReason() as Error;
    if (this.#controller !== null) this.#controller.abort(reason);
  }

  onRequestStart(controller: Controller, context: unknown): void {
    const reason = this.#ctx.cancelledReason() as Error | undefined;
    if (reason !== undefined) {
      controller.abort(reason);
      return;
    }
    this.#controller = controller;
    this.#context = context;
  }

  onRequestSent(): void {
    this.#ctx.requestWritten = true;
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusText?: string,
  ): void {
    this.#ctx.requestWritten = true;
    if (statusCode < 200) return;
    const contentLength = headers['content-length'];
    const body = new ResponseBody(
      controller,
      headers['content-type'] as string | undefined,
      !this.#isHead && contentLength !== undefined ? Number(contentLength) : null,
    );
    this.#body = body;
    this.#settled = true;
    this.#resolve({
      statusCode,
      statusText,
      headers,
      trailers: this.#trailers,
      opaque: null,
      body,
      context: this.#context as object,
    } as unknown as HttpResponse);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    const body = this.#body;
    if (body !== null && !body.push(chunk)) controller.pause();
  }

  onResponseEnd(
    _controller: Controller,
    trailers: Record<string, string | string[] | undefined> | null,
  ): void {
    this.#unlisten();
    if (trailers !== null && typeof trailers === 'object') {
      const into = this.#trailers;
      for (const key of Object.keys(trailers)) {
        // A trailer named __proto__ is data, not the prototype.
        if (key === '__proto__') {
          Object.defineProperty(into, key, {
            value: trailers[key],
            enumerable: true,
            configurable: true,
            writable: true,
          });
        } else {
          into[key] = trailers[key] as string | string[];
        }
      }
    }
    this.#body?.endOfBody();
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    this.#unlisten();
    const requestBody = this.#requestBody;
    this.#requestBody = null;
    if (isStream(requestBody)) {
      requestBody.on('error', noop);
      requestBody.destroy(error);
    }
    if (!this.#settled) {
      this.#settled = true;
      this.#reject(error);
      return;
    }
    const body = this.#body;
    if (body === null) return;
    this.#body = null;
    // Let handlers already queued for the body run before it errors (as undici's request() does).
    queueMicrotask(() => body.on('error', noop).destroy(error));
  }

  #unlisten(): void {
    const source = this.#source;
    if (source === null) return;
    this.#source = null;
    source.removeEventListener('abort', this);
  }
}

function isStream(body: unknown): body is NodeJS.ReadableStream & { destroy(error?: Error): void } {
  return (
    body !== null &&
    typeof body === 'object' &&
    typeof (body as { pipe?: unknown }).pipe === 'function' &&
    typeof (body as { on?: unknown }).on === 'function'
  );
}
