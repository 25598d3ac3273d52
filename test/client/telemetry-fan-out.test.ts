/**
 * fanOut (src/client/telemetry.ts): several telemetry plugins as one. Every hook reaches each part
 * that has it, in order, as a method call on that part; a part without a hook is passed over.
 */
import { describe, expect, it } from 'vitest';
import { type ClientTelemetry, fanOut } from '../../src/client/telemetry.js';
import { CallContext } from '../../src/core/context.js';
import { createEndpoint } from '../../src/discovery/endpoint.js';

class Recorder implements ClientTelemetry {
  constructor(
    private readonly name: string,
    private readonly heard: string[],
  ) {}
  callStarted(): void {
    this.heard.push(`${this.name}.callStarted`);
  }
  callFinished(_ctx: unknown, failed: boolean, outcome: unknown): void {
    this.heard.push(`${this.name}.callFinished(${failed},${String(outcome)})`);
  }
  attemptFinished(
    _ctx: unknown,
    endpoint: { address: string },
    failed: boolean,
    _o: unknown,
    ms: number,
  ): void {
    this.heard.push(`${this.name}.attemptFinished(${endpoint.address},${failed},${ms})`);
  }
}

describe('fanOut', () => {
  it('gives one part back as it is', () => {
    const only = new Recorder('a', []);
    expect(fanOut([only])).toBe(only);
  });

  it('forwards each hook to the parts that have it, in order, with `this` the part', () => {
    const heard: string[] = [];
    const started: unknown[] = [];
    const attemptsOnly: ClientTelemetry = {
      attemptStarted(req, _ctx, endpoint, cost) {
        started.push(this, req, endpoint.address, cost);
      },
    };
    const a = new Recorder('a', heard);
    const b = new Recorder('b', heard);
    const all = fanOut([a, attemptsOnly, b]);
    const ctx = new CallContext('orders');
    const endpoint = createEndpoint('127.0.0.1', 8080);

    all.callStarted?.('req', ctx);
    all.attemptStarted?.('req', ctx, endpoint, 2.5);
    all.attemptFinished?.(ctx, endpoint, true, 'boom', 7);
    all.callFinished?.(ctx, false, 'ok');
    all.ejected?.('127.0.0.1:8080');

    expect(heard).toEqual([
      'a.callStarted',
      'b.callStarted',
      'a.attemptFinished(127.0.0.1:8080,true,7)',
      'b.attemptFinished(127.0.0.1:8080,true,7)',
      'a.callFinished(false,ok)',
      'b.callFinished(false,ok)',
    ]);
    expect(started).toEqual([attemptsOnly, 'req', '127.0.0.1:8080', 2.5]);
  });
});
