/**
 * Peak EWMA on the virtual clock: the initial estimate, a peak taken at once, lower samples
 * averaged in by elapsed time, decay toward zero when read, cost = estimate × (pending + 1), and
 * failures that count only when slow.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DECAY_MS,
  DEFAULT_RTT_MS,
  PeakEwma,
  UNMEASURED_PENALTY,
} from '../../src/balance/peak-ewma.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';

const TAU = 10_000;

describe('PeakEwma', () => {
  it('uses linkerd2-proxy defaults: 30 ms initial RTT, τ = 10 s', () => {
    expect(DEFAULT_RTT_MS).toBe(30);
    expect(DEFAULT_DECAY_MS).toBe(10_000);
    const clock = new VirtualClock();
    const ewma = new PeakEwma(clock.now());
    expect(ewma.estimate(clock.now())).toBe(30);
  });

  it('takes an RTT above the estimate at once (the peak)', () => {
    const clock = new VirtualClock();
    const ewma = new PeakEwma(clock.now(), TAU, 10);
    clock.advance(1);
    ewma.start(clock.now());
    ewma.end(clock.now(), 250, true);
    expect(ewma.estimate(clock.now())).toBe(250);
  });

  it('replaces the initial guess with the first success, not with a failure', () => {
    const guessed = new PeakEwma(0, TAU, 30);
    expect(guessed.measured).toBe(false);
    guessed.start(1);
    guessed.end(1, 2, false); // a fast failure: still a guess
    expect(guessed.measured).toBe(false);
    expect(guessed.estimate(1)).toBeCloseTo(30 * Math.exp(-1 / TAU), 9);
    guessed.start(2);
    guessed.end(2, 1, true);
    expect(guessed.measured).toBe(true);
    expect(guessed.estimate(2)).toBe(1);
  });

  it('averages a lower RTT in with weight exp(-Δt/τ)', () => {
    const clock = new VirtualClock();
    const ewma = new PeakEwma(clock.now(), TAU, 100);
    ewma.start(clock.now());
    ewma.end(clock.now(), 100, true); // the first sample replaces the guess
    clock.advance(5_000);
    ewma.start(clock.now());
    ewma.end(clock.now(), 20, true);
    const w = Math.exp(-5_000 / TAU);
    expect(ewma.estimate(clock.now())).toBeCloseTo(100 * w + 20 * (1 - w), 9);
  });

  it('decays toward zero when read, so an idle slow endpoint is tried again', () => {
    const clock = new VirtualClock();
    const ewma = new PeakEwma(clock.now(), TAU, 80);
    clock.advance(TAU);
    expect(ewma.estimate(clock.now())).toBeCloseTo(80 * Math.exp(-1), 9);
    clock.advance(TAU);
    expect(ewma.estimate(clock.now())).toBeCloseTo(80 * Math.exp(-2), 9);
    // Reading often decays exactly as much as reading once: the product of the weights.
    const often = new PeakEwma(0, TAU, 80);
    for (let t = 100; t <= 2 * TAU; t += 100) often.estimate(t);
    expect(often.estimate(2 * TAU)).toBeCloseTo(80 * Math.exp(-2), 9);
  });

  it('peek reads the same value without recording the read', () => {
    const a = new PeakEwma(0, TAU, 80);
    const b = new PeakEwma(0, TAU, 80);
    for (const m of [a, b]) {
      m.start(0);
      m.end(0, 80, true);
    }
    expect(a.peek(5_000)).toBeCloseTo(b.cost(5_000), 9);
    // a was only peeked, so a later sample is weighted by the full 6 s since its last observation
    a.start(6_000);
    a.end(6_000, 10, true);
    const w = Math.exp(-6_000 / TAU);
    expect(a.estimate(6_000)).toBeCloseTo(80 * w + 10 * (1 - w), 9);
  });

  it('does not decay when no time has passed', () => {
    const ewma = new PeakEwma(0, TAU, 50);
    ewma.start(0);
    ewma.end(0, 50, true);
    expect(ewma.estimate(0)).toBe(50);
    ewma.start(0);
    ewma.end(0, 1, true);
    expect(ewma.estimate(0)).toBe(50);
  });

  it('multiplies the estimate by pending + 1', () => {
    const ewma = new PeakEwma(0, TAU, 40);
    ewma.revive(0, 40);
    expect(ewma.cost(0)).toBe(40);
    ewma.start(0);
    ewma.start(0);
    expect(ewma.pending).toBe(2);
    expect(ewma.cost(0)).toBe(120);
    ewma.end(0, 40, true);
    expect(ewma.cost(0)).toBe(80);
  });

  it('without a sample, costs nothing while idle and a penalty while a request is out (Finagle)', () => {
    const ewma = new PeakEwma(0, TAU, 30);
    expect(ewma.cost(0)).toBe(0);
    expect(ewma.peek(0)).toBe(0);
    ewma.start(0);
    // One request out: dearer than any measured endpoint, so no second request until it answers.
    expect(ewma.cost(0)).toBe(UNMEASURED_PENALTY + 1);
    expect(ewma.peek(0)).toBe(UNMEASURED_PENALTY + 1);
    ewma.end(1, 2, false); // a fast failure says nothing of the RTT: still free while idle
    expect(ewma.cost(1)).toBe(0);
    ewma.start(2);
    ewma.end(3, 5, true); // the first success is the cost from now on
    expect(ewma.cost(3)).toBe(5);
    ewma.start(3);
    expect(ewma.cost(3)).toBe(10);
  });

  it('takes a failure slower than the guess as its first sample (a timeout is evidence of slowness)', () => {
    const ewma = new PeakEwma(0, TAU, 30);
    ewma.start(0);
    ewma.end(1_000, 1_000, false);
    expect(ewma.measured).toBe(true);
    expect(ewma.cost(1_000)).toBe(1_000);
  });

  it('counts a failure only when it is slower than the estimate', () => {
    const clock = new VirtualClock();
    const ewma = new PeakEwma(clock.now(), TAU, 50);
    clock.advance(5_000);
    ewma.start(clock.now());
    ewma.end(clock.now(), 1, false); // a fast failure (connection refused) must not look cheap
    expect(ewma.estimate(clock.now())).toBeCloseTo(50 * Math.exp(-0.5), 9);
    ewma.start(clock.now());
    ewma.end(clock.now(), 900, false); // a slow failure (timeout) is a peak
    expect(ewma.estimate(clock.now())).toBe(900);
    expect(ewma.pending).toBe(0);
  });
});
