/**
 * A typed place for one layer's own state on a call's context (Finagle's `Contexts.local.Key`,
 * tower's request extensions): the layer that makes a slot is the only one that reads or writes
 * it, with its own type and no cast at the use. A `CallSlot` holds state of the whole call: a
 * hedge's copies start from the call's, and an attempt's late outcome sees it. An `AttemptSlot`
 * holds the current attempt's: each hedge copy has its own, and a late outcome takes it along.
 *
 * Slots are made once, at module load, and are few (tracing has one of each). Their values live
 * in a small array on the context, made when a layer first sets one, so a call that no layer
 * keeps state for allocates nothing.
 */
import type { CallContext } from './context.js';

let callSlots = 0;
let attemptSlots = 0;

/** One layer's state for a whole call. */
export class CallSlot<T> {
  readonly #index = callSlots++;

  /** `name` says whose state it is, for readers of the code. */
  constructor(readonly name: string) {}

  get(ctx: CallContext): T | undefined {
    return ctx.callState?.[this.#index] as T | undefined;
  }

  set(ctx: CallContext, value: T | undefined): void {
    if (ctx.callState !== undefined) ctx.callState[this.#index] = value;
    else if (value !== undefined) {
      const state: unknown[] = [];
      state[this.#index] = value;
      ctx.callState = state;
    }
  }
}

/** One layer's state for the current attempt of a call. */
export class AttemptSlot<T> {
  readonly #index = attemptSlots++;

  /** `name` says whose state it is, for readers of the code. */
  constructor(readonly name: string) {}

  get(ctx: CallContext): T | undefined {
    return ctx.attemptState?.[this.#index] as T | undefined;
  }

  set(ctx: CallContext, value: T | undefined): void {
    if (ctx.attemptState !== undefined) ctx.attemptState[this.#index] = value;
    else if (value !== undefined) {
      const state: unknown[] = [];
      state[this.#index] = value;
      ctx.attemptState = state;
    }
  }
}
