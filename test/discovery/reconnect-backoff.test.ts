/**
 * ReconnectBackoff: full-jitter exponential backoff shared by the discovery sources.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { ReconnectBackoff } from '../../src/discovery/reconnect-backoff.js';

describe('ReconnectBackoff', () => {
  it('draws uniformly below a ceiling that doubles per failure up to the cap', () => {
    const backoff = new ReconnectBackoff({ baseMs: 100, maxMs: 1_000, random: () => 0.999_999 });
    const delays = Array.from({ length: 7 }, () => Math.round(backoff.next()));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    expect(backoff.failures).toBe(7);
  });

  it('jitters: a draw of 0.5 gives half the ceiling, and never less than 50 ms', () => {
    const half = new ReconnectBackoff({ baseMs: 1_000, random: () => 0.5 });
    expect(half.next()).toBe(500);
    expect(half.next()).toBe(1_000);
    const zero = new ReconnectBackoff({ baseMs: 1_000, random: () => 0 });
    expect(zero.next()).toBe(50);
    const tiny = new ReconnectBackoff({ baseMs: 10, random: () => 0 });
    expect(tiny.next()).toBe(10);
  });

  it('starts over after reset()', () => {
    const backoff = new ReconnectBackoff({ baseMs: 100, random: () => 0.999_999 });
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.failures).toBe(0);
    expect(Math.round(backoff.next())).toBe(100);
  });

  it('defaults to 500 ms doubling to 30 s', () => {
    const backoff = new ReconnectBackoff({ random: () => 0.999_999 });
    const delays = Array.from({ length: 9 }, () => Math.round(backoff.next()));
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('names the option in a ConfigError', () => {
    expect(() => new ReconnectBackoff({ baseMs: -1 }, 'etcd.reconnect')).toThrow(/etcd\.reconnect\.baseMs/);
    expect(() => new ReconnectBackoff({ baseMs: 1_000, maxMs: 10 }, 'etcd.reconnect')).toThrow(ConfigError);
    expect(() => new ReconnectBackoff({ random: 3 as never })).toThrow(/reconnect\.random/);
  });
});
