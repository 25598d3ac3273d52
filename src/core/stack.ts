/**
 * Stack: an ordered list of named layers (roles), outermost first, that users edit in code:
 * insert before or after a role, replace a role's layer, remove a role (Finagle's `Stack`,
 * tower's `ServiceBuilder`). A stack is immutable: every edit returns a new stack, so a default
 * stack can be shared and edited per client without surprises.
 */
import { ConfigError, UnknownRoleError } from './errors.js';

/** One layer of a stack, with the role that names it and why it sits where it does. */
export interface StackEntry<Layer> {
  /** A unique name, e.g. `deadline`, `retry`, `balance`. */
  readonly role: string;
  /** One line: what the layer does and why it sits here. */
  readonly description: string;
  readonly layer: Layer;
}

/** An immutable, ordered list of named layers; index 0 is the outermost. */
export class Stack<Layer> {
  readonly entries: readonly StackEntry<Layer>[];

  private constructor(entries: readonly StackEntry<Layer>[]) {
    this.entries = entries;
  }

  /** A stack of the given entries, outermost first. Roles must be unique. */
  static of<Layer>(entries: readonly StackEntry<Layer>[]): Stack<Layer> {
    const seen = new Set<string>();
    for (const entry of entries) {
      checkEntry(entry);
      if (seen.has(entry.role)) throw new ConfigError('stack', entry.role, 'roles must be unique');
      seen.add(entry.role);
    }
    return new Stack([...entries]);
  }

  /** Role names, outermost first. */
  roles(): string[] {
    return this.entries.map((e) => e.role);
  }

  has(role: string): boolean {
    return this.entries.some((e) => e.role === role);
  }

  /** The layer of `role`; throws {@link UnknownRoleError} if there is none. */
  get(role: string): Layer {
    return this.entries[this.#indexOf(role)]!.layer;
  }

  /** A new stack with `entry` just above (outside) `role`. */
  insertBefore(role: string, entry: StackEntry<Layer>): Stack<Layer> {
    return this.#insertAt(this.#indexOf(role), entry);
  }

  /** A new stack with `entry` just below (inside) `role`. */
  insertAfter(role: string, entry: StackEntry<Layer>): Stack<Layer> {
    return this.#insertAt(this.#indexOf(role) + 1, entry);
  }

  /** A new stack with `entry` outermost. */
  prepend(entry: StackEntry<Layer>): Stack<Layer> {
    return this.#insertAt(0, entry);
  }

  /** A new stack with `entry` innermost. */
  append(entry: StackEntry<Layer>): Stack<Layer> {
    return this.#insertAt(this.entries.length, entry);
  }

  /** A new stack with `role`'s layer replaced; its position and description stay. */
  replace(role: string, layer: Layer, description?: string): Stack<Layer> {
    const index = this.#indexOf(role);
    const old = this.entries[index]!;
    const copy = [...this.entries];
    copy[index] = { role, description: description ?? old.description, layer };
    return new Stack(copy);
  }

  /** A new stack without `role`. */
  remove(role: string): Stack<Layer> {
    const index = this.#indexOf(role);
    return new Stack(this.entries.filter((_, i) => i !== index));
  }

  /** The layers, outermost first. */
  layers(): Layer[] {
    return this.entries.map((e) => e.layer);
  }

  #indexOf(role: string): number {
    const index = this.entries.findIndex((e) => e.role === role);
    if (index < 0) throw new UnknownRoleError(role, this.roles());
    return index;
  }

  #insertAt(index: number, entry: StackEntry<Layer>): Stack<Layer> {
    checkEntry(entry);
    if (this.has(entry.role)) throw new ConfigError('stack', entry.role, 'role is already in the stack');
    const copy = [...this.entries];
    copy.splice(index, 0, entry);
    return new Stack(copy);
  }
}

function checkEntry(entry: StackEntry<unknown>): void {
  if (entry === null || typeof entry !== 'object') {
    throw new ConfigError('stack entry', entry, 'expected { role, description, layer }');
  }
  if (typeof entry.role !== 'string' || entry.role.length === 0) {
    throw new ConfigError('stack entry.role', entry.role, 'expected a non-empty string');
  }
  if (entry.layer === undefined || entry.layer === null) {
    throw new ConfigError(`stack entry.layer (${entry.role})`, entry.layer, 'expected a layer');
  }
}
