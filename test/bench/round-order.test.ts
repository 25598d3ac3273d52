/**
 * The order of a round's services in `server-overhead` (scenarios/round-order.ts): over 2n rounds
 * of n services, each goes first equally often and each pair runs in either order equally often.
 */
import { describe, expect, it } from 'vitest';
import { orderOfRound } from './scenarios/round-order.js';

const rounds = (items: readonly string[], count: number, from = 0) =>
  Array.from({ length: count }, (_, r) => orderOfRound(items, from + r).join(' '));

describe('orderOfRound', () => {
  it('rotates three services, then runs the rotations reversed', () => {
    expect(rounds(['bare', 'als', 'weft'], 6)).toEqual([
      'bare als weft',
      'als weft bare',
      'weft bare als',
      'weft als bare',
      'bare weft als',
      'als bare weft',
    ]);
    // Round numbers count across sets: the second set of three goes on where the first stopped.
    expect(rounds(['bare', 'als', 'weft'], 3, 3)).toEqual(rounds(['bare', 'als', 'weft'], 6).slice(3));
    expect(orderOfRound(['bare', 'als', 'weft'], 6)).toEqual(['bare', 'als', 'weft']);
  });

  it('puts each service first equally often and each pair in either order equally often', () => {
    for (const n of [2, 3, 4, 5]) {
      const items = Array.from({ length: n }, (_, i) => i);
      const orders = Array.from({ length: 2 * n }, (_, r) => orderOfRound(items, r));
      for (const item of items) expect(orders.filter((o) => o[0] === item)).toHaveLength(2);
      for (const a of items) {
        for (const b of items) {
          if (a === b) continue;
          const aFirst = orders.filter((o) => o.indexOf(a) < o.indexOf(b)).length;
          expect(aFirst).toBe(n);
        }
      }
      for (const order of orders) expect([...order].sort()).toEqual(items);
    }
  });

  it('alternates two services, each order twice in four rounds', () => {
    expect(rounds(['bare', 'weft'], 4)).toEqual(['bare weft', 'weft bare', 'weft bare', 'bare weft']);
  });

  it('refuses a round that is not a whole number from 0', () => {
    expect(() => orderOfRound(['a'], -1)).toThrow(/round must be a whole number/);
    expect(() => orderOfRound(['a'], 1.5)).toThrow(/round must be a whole number/);
    expect(orderOfRound([], 3)).toEqual([]);
  });
});
