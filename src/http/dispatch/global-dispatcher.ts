/**
 * The process-wide dispatcher, from the undici weft itself depends on: `setGlobalDispatcher` and
 * `getGlobalDispatcher`, re-exported so that installing a routing agent needs no `undici` of the
 * user's own (under pnpm's strict layout there is none to import, and another copy may speak an
 * older dispatcher API). undici 8 stores the dispatcher under `Symbol.for('undici.globalDispatcher.2')`
 * and a `Dispatcher1Wrapper` of it under `...globalDispatcher.1`, the key Node's built-in fetch reads.
 */
import {
  getGlobalDispatcher as undiciGetGlobalDispatcher,
  setGlobalDispatcher as undiciSetGlobalDispatcher,
} from 'undici';

// Declared here rather than re-exported, so that each carries its own documentation: a bare
// re-export would show users undici's declaration, which has none.

/**
 * undici's `setGlobalDispatcher`, from the undici weft uses: makes `dispatcher` (a routing agent,
 * say) the one that Node's built-in `fetch` and undici's own `fetch` and `request` use when a call
 * names none.
 */
export const setGlobalDispatcher: typeof undiciSetGlobalDispatcher = undiciSetGlobalDispatcher;

/** undici's `getGlobalDispatcher`, from the undici weft uses: the process-wide dispatcher now. */
export const getGlobalDispatcher: typeof undiciGetGlobalDispatcher = undiciGetGlobalDispatcher;
