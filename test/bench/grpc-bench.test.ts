/**
 * The gRPC half of the benchmark harness does what it says: gRPC replicas behave as configured
 * (latency, a failing share with its status code, hang, refuse and back on the same port) and
 * count what they see by status; every gRPC contender answers through its own stack, and the
 * retryPolicy contender really retries; the round_robin target and service config are what grpc-js
 * documents. Then the three gRPC scenarios run at a tiny size from a clean state and return
 * tables, charts and headline figures. No speed is asserted here.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { EchoClient } from '../support/grpc-servers.js';
import { startBackendProcess } from './backends.js';
import {
  GRPC_CONTENDERS,
  GRPC_DEFAULT_SETTINGS,
  ipv4Target,
  makeGrpcContender,
  roundRobinServiceConfig,
} from './grpc-contenders.js';
import { expectPublishable, leaveNoChildProcesses } from './harness-checks.js';
import type { ScenarioResult } from './result.js';
import { grpcFailingReplica } from './scenarios/grpc-failing-replica.js';
import { grpcOverhead } from './scenarios/grpc-overhead.js';
import { grpcSlowReplica } from './scenarios/grpc-slow-replica.js';

leaveNoChildProcesses();

/** One unary call to `address` on a fresh client: its status code (0 when OK). */
async function call(address: string, deadlineMs = 2_000): Promise<grpc.status> {
  const client = new EchoClient(address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  try {
    return await new Promise<grpc.status>((resolve) =>
      (client as unknown as Record<string, Function>).unary!(
        { message: 'm', count: 0 },
        { deadline: Date.now() + deadlineMs },
        (error: grpc.ServiceError | null) => resolve(error ? error.code : grpc.status.OK),
      ),
    );
  } finally {
    client.close();
  }
}

describe('gRPC benchmark backends', () => {
  it('serve, fail, slow down, hang, refuse and come back on the same port, counting by status', async () => {
    const b = await startBackendProcess({}, 'grpc');
    try {
      expect(await call(b.address)).toBe(grpc.status.OK);

      await b.configure({ errorRate: 1 });
      expect(await call(b.address)).toBe(grpc.status.UNAVAILABLE);
      await b.configure({ errorRate: 1, grpcStatus: grpc.status.RESOURCE_EXHAUSTED });
      expect(await call(b.address)).toBe(grpc.status.RESOURCE_EXHAUSTED);

      await b.configure({ latencyMs: 80 });
      const t0 = performance.now();
      expect(await call(b.address)).toBe(grpc.status.OK);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(75);

      await b.configure({ mode: 'hang' });
      expect(await call(b.address, 200)).toBe(grpc.status.DEADLINE_EXCEEDED);
      // A call held when the mode changes is answered then.
      const held = call(b.address);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await b.configure({});
      expect(await held).toBe(grpc.status.UNAVAILABLE);

      await b.configure({ mode: 'refuse' });
      expect(await call(b.address)).toBe(grpc.status.UNAVAILABLE);
      await expect(b.configure({ mode: 'reset' })).rejects.toThrow(/no 'reset' mode/);

      await b.configure({});
      expect(await call(b.address)).toBe(grpc.status.OK);
      const stats = await b.stats(true);
      // ok, unavailable, exhausted, slow, hung (deadline), held, ok again (the refused one never arrived)
      expect(stats.seen).toBe(7);
      expect(stats.statuses).toEqual({ OK: 3, UNAVAILABLE: 1, RESOURCE_EXHAUSTED: 1 });
      expect((await b.stats()).seen).toBe(0);
    } finally {
      await b.stop();
    }
  });
});

describe('gRPC contenders', () => {
  it('each one answers a unary call through its own stack', async () => {
    const b = await startBackendProcess({}, 'grpc');
    try {
      for (const name of GRPC_CONTENDERS) {
        const c = makeGrpcContender(name, [b.address]);
        try {
          expect(await c.send()).toBe(grpc.status.OK);
        } finally {
          await c.close();
        }
      }
      expect((await b.stats()).seen).toBe(GRPC_CONTENDERS.length);
    } finally {
      await b.stop();
    }
  });

  it('round_robin spreads calls over every replica; only the retryPolicy one retries UNAVAILABLE', async () => {
    const failing = await startBackendProcess({ errorRate: 1 }, 'grpc');
    const healthy = await startBackendProcess({}, 'grpc');
    const addresses = [failing.address, healthy.address];
    try {
      const outcomes: Record<string, { ok: number; failingSaw: number; healthySaw: number }> = {};
      for (const name of ['grpc-js-round-robin', 'grpc-js-retry'] as const) {
        const c = makeGrpcContender(name, addresses);
        let ok = 0;
        try {
          // Wait until both subchannels are READY, so round_robin alternates from the first call.
          for (let i = 0; i < 20 && ok === 0; i++)
            await c.send().then(
              () => ok++,
              () => {},
            );
          await Promise.all([failing.stats(true), healthy.stats(true)]);
          ok = 0;
          for (let i = 0; i < 10; i++)
            await c.send().then(
              () => ok++,
              () => {},
            );
        } finally {
          await c.close();
        }
        outcomes[name] = {
          ok,
          failingSaw: (await failing.stats(true)).seen,
          healthySaw: (await healthy.stats(true)).seen,
        };
      }
      // Without retries, every call round_robin sends to the failing replica fails.
      const plain = outcomes['grpc-js-round-robin']!;
      expect(plain.failingSaw).toBeGreaterThan(0);
      expect(plain.ok).toBe(10 - plain.failingSaw);
      // With the retryPolicy, a call that met UNAVAILABLE is sent again, to the other replica.
      const retried = outcomes['grpc-js-retry']!;
      expect(retried.ok).toBe(10);
      expect(retried.failingSaw).toBeGreaterThan(0);
    } finally {
      await Promise.all([failing.stop(), healthy.stop()]);
    }
  });

  it('name every replica in one ipv4 target, and configure round_robin and the retryPolicy as A6 spells them', () => {
    expect(ipv4Target(['127.0.0.1:5001', '127.0.0.1:5002'])).toBe('ipv4:127.0.0.1:5001,127.0.0.1:5002');
    expect(() => ipv4Target([])).toThrow(/no addresses/);
    expect(() => ipv4Target(['localhost:5001'])).toThrow(/not an IPv4/);
    expect(JSON.parse(roundRobinServiceConfig(GRPC_DEFAULT_SETTINGS, false))).toEqual({
      loadBalancingConfig: [{ round_robin: {} }],
    });
    expect(JSON.parse(roundRobinServiceConfig(GRPC_DEFAULT_SETTINGS, true))).toEqual({
      loadBalancingConfig: [{ round_robin: {} }],
      methodConfig: [
        {
          name: [{ service: 'weft.test.Echo' }],
          retryPolicy: {
            maxAttempts: 3,
            initialBackoff: '0.025s',
            maxBackoff: '0.25s',
            backoffMultiplier: 2,
            retryableStatusCodes: ['UNAVAILABLE'],
          },
        },
      ],
    });
  });
});

/** Publishable (./harness-checks.ts), and with charts: every gRPC scenario draws some. */
function expectPublishableWithCharts(r: ScenarioResult, scenario: string): void {
  expectPublishable(r, scenario);
  expect(r.charts.length).toBeGreaterThan(0);
}

describe('gRPC scenarios at a tiny size', () => {
  it('grpc-overhead: weft and the control against raw grpc-js, with the floor', async () => {
    const r = await grpcOverhead({ requests: 100, concurrency: 4, rounds: 1, warmUpMs: 50 });
    expectPublishableWithCharts(r, 'grpc-overhead');
    expect(r.tables[0]!.rows.map((row) => row[0])).toEqual(['grpc-js', 'grpc-js again (control)', 'weft']);
    expect(r.headline.weftThroughputRatio).toBeGreaterThan(0);
    expect(r.headline.controlThroughputRatio).toBeGreaterThan(0);
    expect(r.headline.failedCalls).toBe(0);
    expect(r.floors).toEqual([
      { name: 'weftThroughputRatio', floor: 0.9, meaning: expect.stringContaining('grpc-js') },
    ]);
  }, 60_000);

  it('grpc-slow-replica', async () => {
    const r = await grpcSlowReplica({ rate: 100, durationMs: 300, rounds: 1, warmUpMs: 100 });
    expectPublishableWithCharts(r, 'grpc-slow-replica');
    expect(r.tables[0]!.rows.map((row) => row[0])).toEqual(['weft', 'grpc-js round_robin']);
    expect(r.headline.weftSlowP999Ms).toBeGreaterThan(0);
    expect(r.headline.roundRobinSlowP999Ms).toBeGreaterThan(0);
  }, 60_000);

  it('grpc-failing-replica: every contender meets both failures, and the extra load is measured', async () => {
    const r = await grpcFailingReplica({ rate: 100, durationMs: 300, warmUpMs: 100, rounds: 1 });
    expectPublishableWithCharts(r, 'grpc-failing-replica');
    expect(r.tables).toHaveLength(2);
    // 1 round × 2 failures × 3 contenders, one row per contender and failure.
    const { runs, rows } = r.details as { runs: unknown[]; rows: Array<{ calls: number }> };
    expect(runs).toHaveLength(6);
    for (const row of rows) expect(row.calls).toBe(30);
    // round_robin without retries sends a share of calls to the replica answering UNAVAILABLE.
    expect(r.headline.roundRobinSuccessPercentUnavailable).toBeLessThan(100);
    expect(r.headline.weftExtraLoadUnavailable).toBeGreaterThan(0);
  }, 60_000);
});
