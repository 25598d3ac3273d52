/**
 * The process-wide dispatcher, from the undici weft itself depends on: `setGlobalDispatcher` and
 * `getGlobalDispatcher`, re-exported so that installing a routing agent needs no `undici` of the
 * user's own (under pnpm's strict layout there is none to import, and another copy may speak an
 * older dispatcher API). undici 8 stores the dispatcher under `Symbol.for('undici.globalDispatcher.2')`
 * and a `Dispatcher1Wrapper` of it under `...globalDispatcher.1`, the key Node's built-in fetch reads.
 */
export { getGlobalDispatcher, setGlobalDispatcher } from 'undici';
