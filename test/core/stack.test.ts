/** Stack: immutable edits by role, order preserved, typed errors for unknown or duplicate roles. */
import { describe, expect, it } from 'vitest';
import { ConfigError, UnknownRoleError } from '../../src/core/errors.js';
import { Stack } from '../../src/core/stack.js';

const entry = (role: string, layer = role) => ({ role, description: `${role} layer`, layer });

describe('Stack', () => {
  const base = Stack.of([entry('a'), entry('b'), entry('c')]);

  it('inserts before and after a role, prepends and appends, without changing the original', () => {
    expect(base.insertBefore('b', entry('x')).roles()).toEqual(['a', 'x', 'b', 'c']);
    expect(base.insertAfter('b', entry('x')).roles()).toEqual(['a', 'b', 'x', 'c']);
    expect(base.insertAfter('c', entry('x')).roles()).toEqual(['a', 'b', 'c', 'x']);
    expect(base.prepend(entry('x')).roles()).toEqual(['x', 'a', 'b', 'c']);
    expect(base.append(entry('x')).roles()).toEqual(['a', 'b', 'c', 'x']);
    expect(base.roles()).toEqual(['a', 'b', 'c']);
  });

  it('replaces a layer in place, keeping its description unless given', () => {
    const replaced = base.replace('b', 'B');
    expect(replaced.layers()).toEqual(['a', 'B', 'c']);
    expect(replaced.entries[1]!.description).toBe('b layer');
    expect(base.replace('b', 'B', 'new').entries[1]!.description).toBe('new');
  });

  it('removes a role', () => {
    expect(base.remove('a').roles()).toEqual(['b', 'c']);
    expect(base.get('c')).toBe('c');
    expect(base.has('z')).toBe(false);
  });

  it('names the unknown role and the roles it has', () => {
    for (const edit of [
      () => base.insertBefore('zz', entry('x')),
      () => base.insertAfter('zz', entry('x')),
      () => base.replace('zz', 'x'),
      () => base.remove('zz'),
      () => base.get('zz'),
    ]) {
      let error: unknown;
      try {
        edit();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UnknownRoleError);
      expect((error as UnknownRoleError).code).toBe('WEFT_UNKNOWN_ROLE');
      expect((error as UnknownRoleError).role).toBe('zz');
      expect((error as Error).message).toContain('a, b, c');
    }
  });

  it('rejects duplicate roles and malformed entries', () => {
    expect(() => base.append(entry('a'))).toThrow(ConfigError);
    expect(() => Stack.of([entry('a'), entry('a')])).toThrow(ConfigError);
    expect(() => base.append({ role: '', description: '', layer: 'x' })).toThrow(ConfigError);
    expect(() => base.append({ role: 'y', description: '', layer: undefined as unknown as string })).toThrow(
      ConfigError,
    );
  });
});
