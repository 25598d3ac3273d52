/**
 * undici's Dispatcher `close()` and `destroy()` return a promise or take a node-style callback;
 * these helpers give weft's dispatchers both forms from one promise.
 */

/** `done` as undici expects it: returned when no callback is given, else handed to the callback. */
export function promiseOrCallback(
  done: Promise<void>,
  callback: (() => void) | undefined,
): Promise<void> | undefined {
  if (callback === undefined) return done;
  done.then(callback, callback);
  return undefined;
}

/** The callback among `destroy(err?, callback?)`'s arguments. */
export function destroyCallback(a: unknown, b: unknown): (() => void) | undefined {
  if (typeof a === 'function') return a as () => void;
  return typeof b === 'function' ? (b as () => void) : undefined;
}
