/**
 * The ambient context of an incoming request, in AsyncLocalStorage: inside a request handler,
 * every outbound weft call inherits the remaining deadline without the caller passing anything
 * (Finagle's broadcast `Contexts`, gRPC's deadline propagation).
 *
 * One store per process, whichever build loads it: the ESM and CommonJS builds (and two copies
 * of weft in one node_modules tree) find it under a `Symbol.for` key on `globalThis`, as
 * @opentelemetry/api keeps its globals, so a CommonJS library sees a deadline set through the
 * ESM build. The store is versioned by the shape of {@link AmbientContext}: a copy of weft that
 * finds a store of another version throws when it loads, rather than losing deadlines silently.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from './clock.js';

/** What an incoming request hands down to the outbound calls made while serving it. */
export interface AmbientContext {
  /** Absolute deadline on `clock`, in ms (`Infinity` when the request has none). */
  readonly deadline: number;
  /** The clock `deadline` is measured on. */
  readonly clock: Clock;
  /**
   * Aborted when the incoming request is over (its client cancelled it, its deadline passed, or
   * it was answered): an outbound call made while serving it, whose caller passed no signal of its
   * own, is cancelled with it, every attempt included (gRPC's cancellation propagation). Optional:
   * a context without one cancels nothing.
   */
  readonly signal?: AbortSignal;
}

/** The `globalThis` key of the process's one ambient store. */
export const AMBIENT_STORE_KEY = Symbol.for('weft.ambientContext');

/**
 * The version of the store's shape: raise it whenever {@link AmbientContext} changes in a way an
 * older copy of weft would misread.
 *   1  `deadline` and `clock`.
 *   2  `signal` (the incoming request's cancellation): a copy of version 1 would ignore it, and
 *      a `deadline` of `Infinity` (a cancellable request with no deadline) is now usual.
 */
export const AMBIENT_STORE_VERSION = 2;

/** What `globalThis[AMBIENT_STORE_KEY]` holds. */
interface SharedAmbientStore {
  readonly version: number;
  readonly storage: AsyncLocalStorage<AmbientContext>;
}

const storage = sharedStorage();

function sharedStorage(): AsyncLocalStorage<AmbientContext> {
  const global = globalThis as { [AMBIENT_STORE_KEY]?: SharedAmbientStore };
  const found = global[AMBIENT_STORE_KEY];
  if (found === undefined) {
    const store: SharedAmbientStore = {
      version: AMBIENT_STORE_VERSION,
      storage: new AsyncLocalStorage<AmbientContext>(),
    };
    Object.defineProperty(global, AMBIENT_STORE_KEY, { value: store, enumerable: false });
    return store.storage;
  }
  if (found.version !== AMBIENT_STORE_VERSION || !(found.storage instanceof AsyncLocalStorage)) {
    throw new Error(
      `weft: another copy of weft in this process keeps the ambient deadline in store version ${String(
        found.version,
      )}, and this copy needs version ${AMBIENT_STORE_VERSION}: deadlines would not pass between ` +
        'them. Install one version of weft (npm ls weft shows the copies; npm dedupe may merge them).',
    );
  }
  return found.storage;
}

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
