/**
 * The process hold: while any weft call is in flight, the process stays alive, whatever the call
 * is waiting for (discovery's first answer, a retry's backoff, a hedge's delay, a connection), as
 * it does during Node's own `fetch`. When the last call settles and nothing else holds the event
 * loop, the process may exit.
 *
 * Every timer weft makes through the Clock is unref'd, so that an idle client never holds a
 * process open (housekeeping: DNS refresh, ejection windows, budget windows, the breaker's open
 * period). A call's own waits are covered instead by this one ref'd handle, taken when the first
 * call starts and let go when the last one ends: two counter updates per call, and a `ref()` or
 * `unref()` only when the count leaves or reaches zero. docs/process-lifetime.md lists every
 * timer and which of the two kinds it is.
 */

/** The longest delay a Node timer takes (2^31 − 1 ms, about 24.8 days); it never fires in practice. */
const NEVER_MS = 2_147_483_647;

let inFlight = 0;
let handle: ReturnType<typeof setInterval> | undefined;

function keepAlive(): void {}

/** A call has started: hold the process open until {@link releaseProcess}. */
export function holdProcess(): void {
  if (inFlight++ !== 0) return;
  if (handle === undefined) handle = setInterval(keepAlive, NEVER_MS);
  else handle.ref();
}

/** A call that {@link holdProcess} counted has ended. */
export function releaseProcess(): void {
  if (inFlight === 0) return;
  if (--inFlight === 0) handle?.unref();
}

/** Calls holding the process open now (for tests and diagnostics). */
export function callsHoldingProcess(): number {
  return inFlight;
}
