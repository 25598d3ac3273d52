/**
 * Shared clock readings: one reading of the clock serves every layer of one synchronous descent.
 *
 * On its way down to the transport a call needs "now" in four places: the client's start (the
 * total timeout counts from it), the attempt filter (the attempt's deadline and timeout), the
 * balancer's pick (Peak EWMA's decay and the load's start) and the deadline header (the time
 * left, written on the wire). When the layers between them are weft's own, nothing can run in
 * between: each calls the next in the same tick, with no await and no timer, so the four readings
 * would differ by the few microseconds the code itself takes, and each costs a native call on the
 * hot path. So a layer may take the reading of the layer above instead of its own:
 *
 *   attempt         takes the client's start (`ctx.callStart`) for the first attempt; a retry or
 *                   a hedge's backup starts later, from a timer or an await, and reads the clock.
 *   balancer        takes the attempt's reading (`ctx.attemptStart`, which the attempt filter
 *                   sets); a call that waited for discovery reads the clock when it resumes.
 *   deadline-header takes the pick's reading (`ctx.attemptStart`, which the balancer sets).
 *
 * Whether it may is decided once, when the client builds its stacks ({@link decideSharedReadings}):
 * only when every layer between the two is one the client built itself. A layer of the user's in
 * between may await, or take time, so its presence makes the layer below read the clock itself.
 * The settle of an attempt always reads the clock: it comes after the transport's I/O.
 *
 * Custom stacks (weft/policies) share nothing unless they pass a decided `SharedReadings`.
 */

import type { Stack } from './stack.js';

/** Which layers may take the reading of the layer above (see the module comment). */
export class SharedReadings {
  /** The attempt filter may take `ctx.callStart` for the first attempt. */
  attemptTakesCallStart = false;
  /** The balancer may take the attempt filter's reading, `ctx.attemptStart`. */
  pickTakesAttemptStart = false;
  /** The deadline header may take the balancer's reading, `ctx.attemptStart`. */
  headerTakesPick = false;
}

/** A stack as the client built it, and as the user's editor returned it. */
export interface BuiltAndEdited<Layer> {
  readonly built: Stack<Layer>;
  readonly edited: Stack<Layer>;
}

/**
 * Decide, from the client's stacks, which layers may share a reading. A layer counts as the
 * client's own when it is the very layer the client built (by identity): a role the user replaced
 * or inserted is not. Reordering the client's own layers is harmless, since each of them reaches
 * the next in the same tick on a call's first descent.
 */
export function decideSharedReadings(
  readings: SharedReadings,
  client: BuiltAndEdited<unknown>,
  endpoint: BuiltAndEdited<unknown>,
): void {
  const attempt = client.built.has('attempt') ? client.built.get('attempt') : undefined;
  const clientLayers = client.edited.layers();
  const attemptAt = attempt === undefined ? -1 : clientLayers.indexOf(attempt);
  readings.attemptTakesCallStart =
    attemptAt >= 0 && onlyBuilt(clientLayers.slice(0, attemptAt), client.built);
  // Nothing may sit between the attempt filter and the balancer, the terminal of this stack.
  readings.pickTakesAttemptStart = attemptAt >= 0 && attemptAt === clientLayers.length - 1;
  const header = endpoint.built.has('deadline-header') ? endpoint.built.get('deadline-header') : undefined;
  const endpointLayers = endpoint.edited.layers();
  const headerAt = header === undefined ? -1 : endpointLayers.indexOf(header);
  readings.headerTakesPick = headerAt >= 0 && onlyBuilt(endpointLayers.slice(0, headerAt), endpoint.built);
}

function onlyBuilt(layers: readonly unknown[], built: Stack<unknown>): boolean {
  const own = built.layers();
  return layers.every((layer) => own.includes(layer));
}
