/**
 * What the harness's test files (./bench.test.ts, ./grpc-bench.test.ts) check alike: no test
 * leaves a child process running, and a scenario's result is publishable. Imported by test files
 * only (it uses vitest).
 */
import { afterAll, afterEach, expect } from 'vitest';
import { stopChildren } from './child-processes.js';
import type { ScenarioResult } from './result.js';

/**
 * No process outlives its test. A scenario stops its own, so one left over after a test that
 * passed is a leak, and fails it; after a failure or a timeout they are stopped all the same.
 * Call once at the top of a test file.
 */
export function leaveNoChildProcesses(): void {
  afterEach(async (context) => {
    const left = await stopChildren();
    if (left > 0 && context.task.result?.state === 'pass') {
      throw new Error(`the test left ${left} child process${left === 1 ? '' : 'es'} running`);
    }
  });
  afterAll(() => stopChildren());
}

/** `r` is `scenario`'s, and publishable: tables with rows as wide as their columns, no NaN headline figure. */
export function expectPublishable(r: ScenarioResult, scenario: string): void {
  expect(r.scenario).toBe(scenario);
  expect(r.tables.length).toBeGreaterThan(0);
  for (const t of r.tables) {
    expect(t.rows.length).toBeGreaterThan(0);
    for (const row of t.rows) expect(row).toHaveLength(t.columns.length);
  }
  for (const value of Object.values(r.headline)) expect(Number.isNaN(value)).toBe(false);
}
