/**
 * AIMD (Netflix `AIMDLimit`, 78a74b9) against values worked out by hand: floor(limit × 0.9) on a
 * drop or an RTT above 5 000 ms, +1 while inflight × 2 ≥ limit, clamped to [20, 200] by default;
 * then through the limiter on the virtual clock, backing off by the ratio when requests drop.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { type AimdOptions, aimd } from '../../../src/policies/concurrency-limit/aimd.js';
import { SaturatedServer, sample } from './samples.js';

describe('aimd: the rule', () => {
  it('backs off to floor(limit × 0.9) on a drop or an RTT over 5 s, and adds 1 while busy', () => {
    const a = aimd({ initialLimit: 100, minLimit: 1 });
    expect(a.name).toBe('aimd');
    expect(a.limit).toBe(100);
    a.update(sample(10, 1, true)); // dropped: 100 × 0.9
    expect(a.limit).toBe(90);
    a.update(sample(5_001, 90)); // slower than 5 000 ms: floor(81)
    expect(a.limit).toBe(81);
    a.update(sample(5_000, 41)); // not slower than the timeout; 82 ≥ 81 → +1
    expect(a.limit).toBe(82);
    a.update(sample(10, 40)); // 80 < 82: app-limited
    expect(a.limit).toBe(82);
    a.update(sample(10, 41)); // 82 ≥ 82 → +1
    expect(a.limit).toBe(83);
    a.update(sample(10, 83, true)); // floor(83 × 0.9) = floor(74.7)
    expect(a.limit).toBe(74);
  });

  it('stays within [minLimit 20, maxLimit 200] by default', () => {
    const a = aimd({ initialLimit: 21 });
    a.update(sample(10, 1, true)); // floor(18.9) = 18 → 20
    expect(a.limit).toBe(20);
    const b = aimd({ initialLimit: 200 });
    b.update(sample(10, 200)); // 201 → 200
    expect(b.limit).toBe(200);
  });

  it('takes backoffRatio and timeoutMs', () => {
    const a = aimd({ initialLimit: 100, minLimit: 1, backoffRatio: 0.5, timeoutMs: 100 });
    a.update(sample(101, 100));
    expect(a.limit).toBe(50);
    a.update(sample(100, 50));
    expect(a.limit).toBe(51);
  });
});

describe('aimd: through the limiter', () => {
  it('per sample by default: each dropped request backs off by the ratio, down to minLimit', () => {
    const server = new SaturatedServer(aimd({ initialLimit: 100, minLimit: 10 }), 1);
    server.dropping = true;
    const limits: number[] = [];
    for (let i = 0; i < 4; i++) limits.push(server.run(10)); // one request per round
    expect(limits).toEqual([90, 81, 72, 64]);
    for (let i = 0; i < 30; i++) server.run(10);
    expect(server.limiter.limit).toBe(10);
  });

  it('grows by one per busy request while none drops', () => {
    const server = new SaturatedServer(aimd());
    // round 1 admits 20; each of those with inflight × 2 ≥ limit adds 1: inflight 10…20 at
    // limits 20…30, i.e. the requests admitted 10th to 20th: 20 + 11
    expect(server.run(10)).toBe(31);
  });
});

describe('aimd: options', () => {
  it('rejects bad options with a ConfigError naming limit.<option>', () => {
    const cases: Array<[unknown, string]> = [
      [{ backoffRatio: 1 }, 'limit.backoffRatio'],
      [{ backoffRatio: 0.49 }, 'limit.backoffRatio'],
      [{ backoffRatio: '0.9' }, 'limit.backoffRatio'],
      [{ timeoutMs: 0 }, 'limit.timeoutMs'],
      [{ minLimit: 1.5 }, 'limit.minLimit'],
      [{ timeout: 5_000 }, 'limit.timeout'],
    ];
    for (const [options, option] of cases) {
      let error: unknown;
      try {
        aimd(options as AimdOptions);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
    }
    expect(aimd({ backoffRatio: 0.5 }).limit).toBe(20);
  });
});
