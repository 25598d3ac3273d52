/**
 * weft's server half end to end (issue 15, point 5): three services on loopback, real frameworks,
 * weft on both sides of every hop (test/support/service-chain.ts):
 *
 *   caller ──► Express front (weftMiddleware + weft client, round robin)
 *                ──► Fastify middle, replicas a and b (weftPlugin, a fixed limit, + weft client)
 *                      ──► node:http back (runWithIncomingDeadline)
 *
 * 1. The caller's deadline shrinks hop by hop: each handler starts with less time than the one
 *    before it.
 * 2. A middle replica driven over its limit by the front's concurrent calls nacks, and the front's
 *    client requeues each nack on the other replica: no call fails, no request runs twice in any
 *    hop, and the nacks did happen (the replicas' telemetry counts them, and the front's client
 *    made exactly one extra attempt per nack).
 * 3. The caller going away cancels the work down the chain: the middle's call to the back is
 *    aborted, the back sees its connection close before it answered, and nothing is sent again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DEADLINE_HEADER } from '../../src/core/deadline-header.js';
import { fixedLimit } from '../../src/policies/concurrency-limit/fixed.js';
import {
  type HandlerRun,
  REQUEST_ID_HEADER,
  type ServiceChain,
  type ServiceChainOptions,
  startServiceChain,
} from '../support/service-chain.js';
import { type RawResponse, send } from './raw-http.js';

const chains: ServiceChain[] = [];
afterEach(async () => {
  for (const chain of chains.splice(0)) await chain.close();
});

async function chain(options: Parameters<typeof startServiceChain>[0]): Promise<ServiceChain> {
  const started = await startServiceChain(options);
  chains.push(started);
  return started;
}

/** A promise the test resolves when it chooses. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** The caller's request to the front. */
function order(id: string, deadlineMs: number) {
  return {
    method: 'POST' as const,
    path: '/orders',
    headers: { [REQUEST_ID_HEADER]: id, [DEADLINE_HEADER]: String(deadlineMs) },
    body: { id },
  };
}

/** How many times each id's handler ran, in one hop (all replicas together). */
function runsPerId(...runs: HandlerRun[][]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const run of runs.flat()) counts[run.id] = (counts[run.id] ?? 0) + 1;
  return counts;
}

/**
 * Drive the middle over its limit in waves of four concurrent calls: replica a takes one request
 * at a time, b three. The back holds every request until the whole wave is in, so four calls fill
 * both replicas and round robin hands a two of them: a nacks at least one in every wave, and b
 * has room for it. `frontClient` adds options to the front's client.
 */
async function overloadInWaves(frontClient: ServiceChainOptions['frontClient']) {
  let release = gate();
  const services = await chain({
    middleLimits: [fixedLimit(1), fixedLimit(3)],
    backAnswer: (id, _req, res) => {
      void release.wait.then(() => res.end(JSON.stringify({ id })));
    },
    frontClient,
  });
  const waves = 5;
  const perWave = 4;
  const responses: Array<RawResponse | undefined> = [];
  const ids: string[] = [];
  for (let wave = 0; wave < waves; wave++) {
    const arrivedBefore = services.back.arrived;
    let settled = 0;
    const calls = Array.from({ length: perWave }, (_, i) => {
      const id = `w${wave}-${i}`;
      ids.push(id);
      return send(services.frontPort, order(id, 10_000))
        .catch(() => undefined) // a call that failed shows as a missing response
        .finally(() => settled++);
    });
    // Every call of the wave holds its middle replica's permit, in the back, or has failed.
    await expect
      .poll(() => services.back.arrived - arrivedBefore + settled, { timeout: 5_000 })
      .toBe(perWave);
    release.open();
    responses.push(...(await Promise.all(calls)));
    release = gate();
  }
  return { services, responses, ids };
}

describe('a chain of weft services: Express → Fastify × 2 → node:http', () => {
  it('shrinks the caller’s deadline hop by hop', async () => {
    const services = await chain({
      middleLimits: [fixedLimit(4), fixedLimit(4)],
      backAnswer: (id, _req, res) => res.end(JSON.stringify({ id })),
    });
    const res = await send(services.frontPort, order('deadline-1', 5_000));
    expect(res.status).toBe(200);

    const front = services.front.runs;
    const middle = services.middle.flatMap((m) => m.runs);
    const back = services.back.runs;
    expect([front.length, middle.length, back.length]).toEqual([1, 1, 1]);
    const [f, m, b] = [front[0]!.timeLeftMs, middle[0]!.timeLeftMs, back[0]!.timeLeftMs];
    expect(f).toBeLessThanOrEqual(5_000);
    // Each hop worked HOP_WORK_MS before calling the next, and sent what it had left.
    expect(f).toBeGreaterThan(m);
    expect(m).toBeGreaterThan(b);
    expect(b).toBeGreaterThan(0);
    expect(Number.isFinite(b)).toBe(true);
  });

  it('requeues the nacks of a replica over its limit on the other: no call fails, none runs twice', async () => {
    // Failure accrual off, so that attempts follow round robin alone (the next test turns it on).
    const { services, responses, ids } = await overloadInWaves({ failureAccrual: false });
    const once = Object.fromEntries(ids.map((id) => [id, 1]));

    // Zero failed calls.
    expect(responses.map((r) => r?.status)).toEqual(ids.map(() => 200));
    expect(services.front.toMiddleOutcomes.map((o) => o.outcome)).toEqual(ids.map(() => 200));
    // Zero requests processed twice, in any hop.
    expect(runsPerId(services.front.runs)).toEqual(once);
    expect(runsPerId(...services.middle.map((m) => m.runs))).toEqual(once);
    expect(runsPerId(services.back.runs)).toEqual(once);
    // Nacks did happen, all for overload, and each cost the front's client exactly one more attempt.
    const rejections = services.middle.flatMap((m) => m.telemetry.rejected);
    expect(rejections.length).toBeGreaterThanOrEqual(1);
    expect(new Set(rejections.map((r) => r.reason))).toEqual(new Set(['overload']));
    const attempts = services.front.toMiddle.endpoints().reduce((sum, e) => sum + e.attempts, 0);
    expect(attempts).toBe(ids.length + rejections.length);
    // The replica with room served more than the one at its limit.
    const [a, b] = services.middle;
    expect(a.runs.length + b.runs.length).toBe(ids.length);
    expect(b.runs.length).toBeGreaterThan(a.runs.length);
  });

  it('with failure accrual on (the default), a replica that nacks is not ejected: no call fails', async () => {
    const { responses, ids } = await overloadInWaves({});
    expect(responses.map((r) => r?.status)).toEqual(ids.map(() => 200));
  });

  it('cancels the work down the chain when the caller goes away, and sends nothing again', async () => {
    const services = await chain({
      middleLimits: [fixedLimit(4), fixedLimit(4)],
      backAnswer: () => {}, // never answers: the work is in flight until cancelled
    });
    const pending = send(services.frontPort, order('abort-1', 5_000), (req) => {
      // The caller goes away once its request has reached the back.
      void expect
        .poll(() => services.back.arrived, { timeout: 5_000 })
        .toBe(1)
        .then(() => req.destroy());
    });
    await expect(pending).rejects.toThrow();

    // The back saw its connection close before it had answered.
    await expect.poll(() => services.back.abandoned, { timeout: 5_000 }).toEqual(['abort-1']);
    // The middle's call to the back was cancelled, and its request ended as "caller gone" (status 0).
    const middle = services.middle.find((m) => m.runs.length > 0)!;
    await expect
      .poll(() => middle.toBack, { timeout: 5_000 })
      .toEqual([{ id: 'abort-1', outcome: 'AbortError' }]);
    await expect.poll(() => middle.telemetry.finished.map((f) => f.status), { timeout: 5_000 }).toEqual([0]);
    // So was the front's call to the middle.
    await expect
      .poll(() => services.front.toMiddleOutcomes, { timeout: 5_000 })
      .toEqual([{ id: 'abort-1', outcome: 'AbortError' }]);
    await expect
      .poll(() => services.front.telemetry.finished.map((f) => f.status), { timeout: 5_000 })
      .toEqual([0]);
    for (const m of services.middle) expect(m.app.weft.server.inflight).toBe(0);

    // Nothing is sent again: wait past the longest retry backoff (250 ms), then count.
    await sleep(400);
    expect(services.back.arrived).toBe(1);
    expect(services.middle.flatMap((m) => m.runs).map((r) => r.id)).toEqual(['abort-1']);
    expect(services.front.runs.map((r) => r.id)).toEqual(['abort-1']);
    expect(services.middle.flatMap((m) => m.telemetry.rejected)).toEqual([]);
  });
});
