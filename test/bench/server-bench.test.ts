/**
 * The server-side benchmarks do what they say: the service process serves bare, behind weft's
 * server half or @fastify/under-pressure, or with `AsyncLocalStorage.run` only (its handlers then
 * see the store), its pool holds at most its slots at once and queues the rest, weft's limit nacks
 * over it, and it counts work done for callers who had gone; wrk measures a server, pinned to one
 * CPU beside it, and says how to install it when it is missing; then `overload` and
 * `server-overhead` run at a tiny size and return publishable tables. No speed is asserted here.
 */
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { renderChart } from './charts.js';
import { choosePinning, pinProcess } from './cpu-pinning.js';
import { expectPublishable, leaveNoChildProcesses } from './harness-checks.js';
import type { ScenarioResult } from './result.js';
import { type LiveWorker, pause, startWorker } from './scenarios/common.js';
import { overload } from './scenarios/overload.js';
import { serverOverhead } from './scenarios/server-overhead.js';
import type { ServiceArgs, ServiceMessage, ServiceReady, ServiceStats } from './workers/service-process.js';
import { runWrk, WRK_MISSING } from './wrk.js';

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
      { framework: 'express', protection: 'async-local-storage-only' },
      { framework: 'fastify', protection: 'none' },
      { framework: 'fastify', protection: 'weft' },
      { framework: 'fastify', protection: 'async-local-storage-only' },
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
        undefined,
        20,
        undefined,
        undefined,
      ]);
      // Only the AsyncLocalStorage.run reference runs its handlers inside its store.
      const seen = await Promise.all(
        services.map(async (service) => (await request(`${url(service)}store`)).body.text()),
      );
      expect(seen).toEqual([
        'no store',
        'no store',
        'in a store',
        'no store',
        'no store',
        'in a store',
        'no store',
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

describe('wrk', () => {
  it('measures a server pinned beside it: 2xx answers per second, none failed', async () => {
    const service = await startService({ framework: 'fastify', protection: 'none' });
    try {
      const pinning = choosePinning();
      expect(pinning.cpu).toBeDefined();
      pinProcess(pinning, service.pid);
      const sample = await runWrk({
        url: url(service),
        connections: 2,
        durationS: 1,
        headers: { 'weft-timeout-ms': '1000' },
        pinning,
      });
      const served = (await stats(service)).handled;
      expect(sample.failed).toBe(0);
      expect(sample.rps).toBeGreaterThan(0);
      expect(sample.p99Ms).toBeGreaterThanOrEqual(sample.p50Ms);
      // What wrk counted is what the server handled, give or take the requests in flight when it stopped.
      expect(sample.answered).toBeGreaterThan(0);
      expect(served).toBeGreaterThanOrEqual(sample.answered);
      expect(served).toBeLessThanOrEqual(sample.answered + 2);
    } finally {
      await service.close({ close: true });
    }
  }, 30_000);

  it('says how to install it when it is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const run = { url: 'http://127.0.0.1:1/', connections: 1, durationS: 1, headers: {} };
      await expect(runWrk({ ...run, pinning: { cpu: undefined, unpinned: 'test' } })).rejects.toThrow(
        WRK_MISSING,
      );
    } finally {
      process.env.PATH = path;
    }
    expect(WRK_MISSING).toContain("install Debian's wrk: apt-get install wrk");
  });
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

  it('server-overhead: weft and AsyncLocalStorage.run only against bare, for Express and Fastify, pinned to one CPU, a floor on weft', async () => {
    // No warm-up: six servers in two sets, 1 s each, keep the test near 15 s.
    const r = await serverOverhead({ rounds: 2, durationS: 1, connections: 2, warmUpS: 0, serviceSets: 2 });
    expectPublishableWithCharts(r, 'server-overhead');
    expect(r.tables[0]!.rows.map((row) => row[0])).toEqual([
      'Express (bare)',
      'Express + AsyncLocalStorage.run only',
      'Express + weftMiddleware',
      'Fastify (bare)',
      'Fastify + AsyncLocalStorage.run only',
      'Fastify + weftPlugin',
    ]);
    for (const name of [
      'expressCapacityRatio',
      'fastifyCapacityRatio',
      'expressAlsCapacityRatio',
      'fastifyAlsCapacityRatio',
      'expressThroughputRatio',
      'fastifyThroughputRatio',
    ]) {
      expect(Number.isFinite(r.headline[name])).toBe(true);
      expect(r.headline[name]).toBeGreaterThan(0);
    }
    expect(r.headline.failedRequests).toBe(0);
    // The floors are on weft's capacity ratios only; the reference and requests/s ÷ bare have none.
    expect(r.floors?.map((f) => [f.name, f.floor])).toEqual([
      ['expressCapacityRatio', 0.9],
      ['fastifyCapacityRatio', 0.9],
    ]);
    expect(r.summary).toContain('goal ≥ 0.95');
    expect(r.summary).toMatch(/every server and wrk pinned to vCPU \d+ \(taskset\)/);
    // The capacity ratio is bare CPU per request ÷ the server's own, in the table as in the headline.
    const rows = r.tables[0]!.rows;
    expect(rows[1]![4]).toBe(r.headline.expressAlsCapacityRatio);
    expect(rows[2]![4]).toBe(r.headline.expressCapacityRatio);
    expect(rows[4]![4]).toBe(r.headline.fastifyAlsCapacityRatio);
    expect(rows[5]![4]).toBe(r.headline.fastifyCapacityRatio);
    const [chart] = r.charts;
    expect(chart?.kind === 'bars' ? chart.series.map((s) => s.name) : chart?.kind).toEqual([
      'Express + AsyncLocalStorage.run only',
      'Express + weftMiddleware',
      'Fastify + AsyncLocalStorage.run only',
      'Fastify + weftPlugin',
    ]);
    const { frameworks } = r.details as {
      frameworks: Array<{
        perRoundCapacityRatios: number[];
        perRoundAlsCapacityRatios: number[];
        rounds: Array<{ set: number; order: string; bareCpuUs: number; alsCpuUs: number; weftCpuUs: number }>;
      }>;
    };
    for (const framework of frameworks) {
      // One round on each of two fresh sets of service processes, the order rotating on.
      expect(framework.rounds.map((x) => [x.set, x.order])).toEqual([
        [0, 'bare als weft'],
        [1, 'als weft bare'],
      ]);
      const [first] = framework.rounds;
      expect(framework.perRoundCapacityRatios[0]).toBeCloseTo(first!.bareCpuUs / first!.weftCpuUs, 2);
      expect(framework.perRoundAlsCapacityRatios[0]).toBeCloseTo(first!.bareCpuUs / first!.alsCpuUs, 2);
    }
  }, 60_000);
});
