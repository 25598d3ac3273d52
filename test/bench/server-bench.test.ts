/**
 * The server-side benchmarks do what they say: the service process serves bare or behind weft's
 * server half or @fastify/under-pressure, its pool holds at most its slots at once and queues the
 * rest, weft's limit nacks over it, and it counts work done for callers who had gone; the
 * autocannon worker measures a server; then `overload` and `server-overhead` run at a tiny size
 * and return publishable tables. No speed is asserted here.
 */
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { renderChart } from './charts.js';
import { expectPublishable, leaveNoChildProcesses } from './harness-checks.js';
import type { ScenarioResult } from './result.js';
import { type LiveWorker, pause, startWorker } from './scenarios/common.js';
import { overload } from './scenarios/overload.js';
import { serverOverhead } from './scenarios/server-overhead.js';
import type { AutocannonMessage, AutocannonSample } from './workers/autocannon-worker.js';
import type { ServiceArgs, ServiceMessage, ServiceReady, ServiceStats } from './workers/service-process.js';

leaveNoChildProcesses();

type Service = LiveWorker<ServiceMessage, ServiceReady | ServiceStats>;
const serviceScript = new URL('./workers/service-process.ts', import.meta.url);
const startService = (args: ServiceArgs) =>
  startWorker<ServiceMessage, ServiceReady | ServiceStats>(serviceScript, args);
const url = (service: Service) => `http://127.0.0.1:${(service.ready as ServiceReady).port}/`;
const stats = async (service: Service) => (await service.ask({ stats: true })) as ServiceStats;

/** GET / with `headers`: status, the nack header, and when it ended (ms since `t0`). */
async function get(service: Service, t0: number, headers: Record<string, string> = {}) {
  const res = await request(url(service), { headers, headersTimeout: 5_000, bodyTimeout: 5_000 });
  const body = await res.body.text();
  return { status: res.statusCode, body, nack: res.headers['weft-nack'], endedMs: performance.now() - t0 };
}

describe('the service process', () => {
  it('serves with every framework and protection it offers', async () => {
    const variants: ServiceArgs[] = [
      { framework: 'express', protection: 'none' },
      { framework: 'express', protection: 'weft' },
      { framework: 'fastify', protection: 'none' },
      { framework: 'fastify', protection: 'weft' },
      { framework: 'fastify', protection: 'under-pressure', underPressure: { maxEventLoopDelay: 100 } },
    ];
    const services = await Promise.all(variants.map(startService));
    try {
      for (const service of services) {
        expect(await get(service, 0, { 'weft-timeout-ms': '1000' })).toMatchObject({
          status: 200,
          body: 'ok',
        });
        expect((await stats(service)).handled).toBe(1);
      }
      // weft's server half reports its limit (the default Gradient2 starts at 20); the others have none.
      expect((await Promise.all(services.map(stats))).map((s) => s.limit)).toEqual([
        undefined,
        20,
        undefined,
        20,
        undefined,
      ]);
    } finally {
      await Promise.all(services.map((s) => s.close({ close: true })));
    }
  }, 40_000);

  it('holds at most its slots at once and queues the rest in order', async () => {
    const service = await startService({
      framework: 'fastify',
      protection: 'none',
      pool: { slots: 1, workMs: 150 },
    });
    try {
      const t0 = performance.now();
      const ended = await Promise.all([get(service, t0), get(service, t0), get(service, t0)]);
      expect(ended.map((e) => e.status)).toEqual([200, 200, 200]);
      // One slot: the three run one after the other, 150 ms each.
      const last = Math.max(...ended.map((e) => e.endedMs));
      expect(last).toBeGreaterThanOrEqual(440);
    } finally {
      await service.close({ close: true });
    }
  });

  it('under weft, nacks what is over the limit without running it', async () => {
    const service = await startService({
      framework: 'fastify',
      protection: 'weft',
      pool: { slots: 1, workMs: 200 },
      gradient2: { minLimit: 1, initialLimit: 1, maxLimit: 1 },
    });
    try {
      const t0 = performance.now();
      const [first, second] = await Promise.all([
        get(service, t0),
        (async () => {
          await pause(50);
          return get(service, t0);
        })(),
      ]);
      expect(first.status).toBe(200);
      expect(second.status).toBe(503);
      expect(second.nack).toBeDefined();
      expect((await stats(service)).handled).toBe(1);
    } finally {
      await service.close({ close: true });
    }
  });

  it('counts work finished for a caller who had gone', async () => {
    const service = await startService({
      framework: 'express',
      protection: 'none',
      pool: { slots: 1, workMs: 200 },
    });
    try {
      await expect(request(url(service), { signal: AbortSignal.timeout(50) })).rejects.toThrow();
      await pause(300);
      expect(await stats(service)).toMatchObject({ handled: 1, handledForNobody: 1 });
      await get(service, 0);
      expect(await stats(service)).toMatchObject({ handled: 2, handledForNobody: 1 });
    } finally {
      await service.close({ close: true });
    }
  });
});

describe('the autocannon worker', () => {
  it('measures a server: 2xx answers per second, none failed', async () => {
    const [cannon, service] = await Promise.all([
      startWorker<AutocannonMessage, AutocannonSample | { ready: true }>(
        new URL('./workers/autocannon-worker.ts', import.meta.url),
        {},
      ),
      startService({ framework: 'fastify', protection: 'none' }),
    ]);
    try {
      const sample = (await cannon.ask({
        url: url(service),
        connections: 2,
        durationS: 0.5,
        headers: { 'weft-timeout-ms': '1000' },
      })) as AutocannonSample;
      const served = (await stats(service)).handled;
      expect(sample.failed).toBe(0);
      expect(sample.rps).toBeGreaterThan(0);
      // What autocannon counted is what the server handled, give or take the calls in flight when it stopped.
      expect(sample.answered).toBeGreaterThan(0);
      expect(served).toBeGreaterThanOrEqual(sample.answered);
      expect(served).toBeLessThanOrEqual(sample.answered + 2);
    } finally {
      await Promise.all([cannon.close({ close: true }), service.close({ close: true })]);
    }
  }, 30_000);
});

/** Publishable, and every chart renders as SVG (as `npm run bench -- all` writes them). */
function expectPublishableWithCharts(r: ScenarioResult, scenario: string): void {
  expectPublishable(r, scenario);
  expect(r.charts.length).toBeGreaterThan(0);
  for (const chart of r.charts) expect(renderChart(chart)).toContain('<svg');
}

describe('server scenarios at a tiny size', () => {
  it('overload: every protection ramps through every step, goodput never above the offered load', async () => {
    const r = await overload({ durationS: 0.4, steps: [0.25, 1], slots: 2, workMs: 10, warmUpS: 0.2 });
    expectPublishableWithCharts(r, 'overload');
    expect(r.tables[0]!.rows.map((row) => row[0])).toEqual([
      'weft plugin + weft client',
      'weft plugin + weft client, failureAccrual: false',
      'under-pressure + undici',
      'no protection + undici',
    ]);
    const { capacityPerS, measured } = r.details as {
      capacityPerS: number;
      measured: Array<{
        steps: Array<{ load: number; offeredPerS: number; goodputPerS: number; limits: number[] }>;
      }>;
    };
    expect(capacityPerS).toBe(400);
    for (const m of measured) {
      expect(m.steps.map((s) => s.offeredPerS)).toEqual([100, 400]);
      for (const s of m.steps) expect(s.goodputPerS).toBeLessThanOrEqual(s.offeredPerS);
      // Below capacity, every call gets through.
      expect(m.steps[0]!.goodputPerS).toBeGreaterThan(0);
    }
    // weft's server half reports a limit per replica; the others none.
    expect(measured.map((m) => m.steps[1]!.limits.length)).toEqual([2, 2, 0, 0]);
    expect(r.headline.weftGoodputShare).toBeGreaterThan(0);
    expect(r.summary).toContain('goodput ≥ 90% of capacity');
  }, 90_000);

  it('server-overhead: weft against bare, for Express and Fastify, with a floor each', async () => {
    const r = await serverOverhead({ rounds: 1, durationS: 0.3, connections: 2, warmUpS: 0.2 });
    expectPublishableWithCharts(r, 'server-overhead');
    expect(r.tables[0]!.rows.map((row) => row[0])).toEqual([
      'Express (bare)',
      'Express + weftMiddleware',
      'Fastify (bare)',
      'Fastify + weftPlugin',
    ]);
    expect(r.headline.expressThroughputRatio).toBeGreaterThan(0);
    expect(r.headline.fastifyThroughputRatio).toBeGreaterThan(0);
    expect(r.headline.failedRequests).toBe(0);
    expect(r.floors?.map((f) => [f.name, f.floor])).toEqual([
      ['expressThroughputRatio', 0.9],
      ['fastifyThroughputRatio', 0.9],
    ]);
  }, 60_000);
});
