/**
 * Write tracking: an undici interceptor that marks a call's context once the whole request has
 * been handed to the connection (undici's `onRequestSent`). Until then, a failure means the server
 * cannot have processed the request, so even a POST may be sent again (Finagle's WriteException
 * is a requeue). The context travels in the dispatch options under a weft-private key.
 */
import type { Dispatcher } from 'undici';
import type { CallContext } from '../core/context.js';

/** The dispatch-options key that carries the call's context to the interceptor. */
export const CONTEXT_KEY = 'weftContext';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;

/** Forwards every handler event, noting `onRequestSent` on the call's context. */
class WriteTrackingHandler implements Handler {
  readonly #inner: Handler;
  readonly #ctx: CallContext;

  constructor(inner: Handler, ctx: CallContext) {
    this.#inner = inner;
    this.#ctx = ctx;
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#inner.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: never, socket: never): void {
    this.#inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onRequestSent(): void {
    this.#ctx.requestWritten = true;
    this.#inner.onRequestSent?.();
  }

  onBodySent(chunk: Buffer): void {
    this.#inner.onBodySent?.(chunk);
  }

  onResponseStarted(): void {
    this.#inner.onResponseStarted?.();
  }

  onResponseStart(controller: Controller, statusCode: number, headers: never, statusMessage?: string): void {
    this.#ctx.requestWritten = true;
    this.#inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.#inner.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Controller, trailers: never): void {
    this.#inner.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Controller, error: Error): void {
    this.#inner.onResponseError?.(controller, error);
  }
}

/** The interceptor: wrap the handler when the dispatch carries a weft context. */
export function writeTracking(dispatch: Dispatcher['dispatch']): Dispatcher['dispatch'] {
  return (options: Dispatcher.DispatchOptions, handler: Handler): boolean => {
    const ctx = (options as { [CONTEXT_KEY]?: CallContext })[CONTEXT_KEY];
    return dispatch(options, ctx === undefined ? handler : new WriteTrackingHandler(handler, ctx));
  };
}
