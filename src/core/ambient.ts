/**
 * The ambient context of an incoming request, in AsyncLocalStorage: inside a request handler,
 * every outbound weft call inherits the remaining deadline without the caller passing anything
 * (Finagle's broadcast `Contexts`, gRPC's deadline propagation).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from './clock.js';

/** What an incoming request hands down to the outbound calls made while serving it. */
export interface AmbientContext {
  /** Absolute deadline on `clock`, in ms. */
  readonly deadline: number;
  /** The clock `deadline` is measured on. */
  readonly clock: Clock;
}

const storage = new AsyncLocalStorage<AmbientContext>();

/** Run `fn` with `context` as the ambient context of everything it starts. */
export function runWithAmbientContext<T>(context: AmbientContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The ambient context of the current async execution, if any. */
export function currentAmbientContext(): AmbientContext | undefined {
  return storage.getStore();
}

/** Milliseconds left on the ambient deadline (`Infinity` when there is none). */
export function ambientTimeLeft(): number {
  const context = storage.getStore();
  return context === undefined ? Number.POSITIVE_INFINITY : context.deadline - context.clock.now();
}
