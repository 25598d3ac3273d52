/**
 * Every process the benchmark harness starts (backend replicas, workers) is tracked here until it
 * exits, so that none outlives the test that started it: a scenario stops its own processes, but a
 * test that fails or times out leaves them running. The harness's test files call
 * {@link stopChildren} after each test (./harness-checks.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const live = new Set<ChildProcess>();

/** Track `child` until it exits; returns it. */
export function track<T extends ChildProcess>(child: T): T {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/**
 * Stop every tracked process still running: SIGTERM, then SIGKILL after `graceMs`. Resolves once
 * all have exited, with how many there were.
 */
export async function stopChildren(graceMs = 2_000): Promise<number> {
  const running = [...live].filter((child) => child.exitCode === null && child.signalCode === null);
  await Promise.all(
    running.map(async (child) => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }),
  );
  return running.length;
}
