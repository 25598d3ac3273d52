/**
 * Benchmark entry: `npm run bench -- <scenario> [--json] [--rounds R] [--requests N] [--rate R]
 * [--duration S] [--concurrency C] [--publish]`, or `npm run bench -- all`, which runs every
 * scenario at its defaults and publishes the results (docs/benchmarks.md, docs/bench/).
 * `--publish` after one scenario replaces just its figures in the published results. Prints tables, or
 * with --json one JSON object. Runs without a TTY. docs/benchmarks.md describes each scenario.
 * Exit status 1 when a figure the project has committed to (a result's `floors`) measured below
 * its floor, after printing and publishing what was measured.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { markdownTable, publish, republish } from './report.js';
import { belowFloors, type ScenarioResult } from './result.js';
import { breakdown } from './scenarios/breakdown.js';
import { churn } from './scenarios/churn.js';
import { churnEtcd } from './scenarios/churn-etcd.js';
import { failingReplica } from './scenarios/failing-replica.js';
import { grpcFailingReplica } from './scenarios/grpc-failing-replica.js';
import { grpcOverhead } from './scenarios/grpc-overhead.js';
import { grpcSlowReplica } from './scenarios/grpc-slow-replica.js';
import { heavyTail } from './scenarios/heavy-tail.js';
import { memory } from './scenarios/memory.js';
import { overhead } from './scenarios/overhead.js';
import { overload } from './scenarios/overload.js';
import { pickCost } from './scenarios/pick-cost.js';
import { serverOverhead } from './scenarios/server-overhead.js';
import { slowReplica } from './scenarios/slow-replica.js';
import { totalOutage } from './scenarios/total-outage.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean', default: false },
    publish: { type: 'boolean', default: false },
    requests: { type: 'string' },
    concurrency: { type: 'string' },
    rounds: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
  },
});

function positive(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${flag}: expected a positive number, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}

const rounds = (fallback: number) => Math.round(positive('rounds', values.rounds, fallback));
const requests = (fallback: number) => Math.round(positive('requests', values.requests, fallback));
const concurrency = (fallback: number) => Math.round(positive('concurrency', values.concurrency, fallback));
const rate = (fallback: number) => positive('rate', values.rate, fallback);
const durationMs = (fallbackS: number) => positive('duration', values.duration, fallbackS) * 1_000;

/** Every scenario at its defaults (flags override). */
const scenarios: Record<string, () => Promise<ScenarioResult>> = {
  overhead: () =>
    overhead({
      requests: requests(5_000),
      concurrency: concurrency(32),
      rounds: rounds(30),
      warmUpMs: 4_000,
    }),
  // 2 000 calls/s × 25 s: every round's p99.9 rests on 50 calls of 50 000.
  'slow-replica': () => slowReplica({ rate: rate(2_000), durationMs: durationMs(25), rounds: rounds(2) }),
  'failing-replica': () => failingReplica({ rate: rate(400), durationMs: durationMs(4), rounds: rounds(2) }),
  'total-outage': () =>
    totalOutage({
      rate: rate(400),
      healthyMs: 2_000,
      outageMs: durationMs(4),
      recoveryMs: 6_000,
      rounds: rounds(2),
    }),
  'heavy-tail': () => heavyTail({ rate: rate(2_000), durationMs: durationMs(25), rounds: rounds(2) }),
  'pick-cost': () =>
    pickCost({ sizes: [10, 100, 1_000, 10_000], picks: requests(200_000), rounds: rounds(5) }),
  churn: () => churn({ rate: rate(1_000), durationMs: durationMs(5) }),
  'churn-etcd': () => churnEtcd({ rate: rate(1_000), durationMs: durationMs(5) }),
  memory: () => memory({ requests: requests(1_000_000), concurrency: concurrency(32) }),
  'grpc-overhead': () =>
    grpcOverhead({
      // Rounds of about a second: grpc-js's heap has a major collection every ~4 000 calls, and a
      // 2 000-call round's ratio swung with whether one landed in it (docs/benchmarks.md).
      requests: requests(10_000),
      concurrency: concurrency(32),
      rounds: rounds(20),
      warmUpMs: 4_000,
    }),
  'grpc-slow-replica': () =>
    grpcSlowReplica({ rate: rate(400), durationMs: durationMs(5), rounds: rounds(2) }),
  'grpc-failing-replica': () =>
    grpcFailingReplica({ rate: rate(400), durationMs: durationMs(4), rounds: rounds(2) }),
  overload: () => overload({ durationS: durationMs(3) / 1_000 }),
  'server-overhead': () =>
    serverOverhead({
      rounds: rounds(6),
      durationS: durationMs(2) / 1_000,
      connections: concurrency(10),
      // A fresh Express server's CPU per request settles after 3 to 4 s of load; every round on a
      // fresh set of processes, as one process's CPU per request can sit a few percent off
      // another's of the same code for its whole life (docs/benchmarks.md).
      warmUpS: 4,
      serviceSets: rounds(6),
    }),
};
/**
 * Scenarios that run with another when it is named alone: `npm run bench -- churn` measures
 * churn through a static resolver and through etcd (issue 17). `all` runs each once.
 */
const companions: Record<string, readonly string[]> = { churn: ['churn-etcd'] };

/** Not part of `all`: a developer's tool (what each layer of weft costs). */
const tools: Record<string, () => Promise<ScenarioResult>> = {
  breakdown: () => breakdown({ requests: requests(4_000), concurrency: concurrency(32), rounds: rounds(25) }),
};

function print(result: ScenarioResult): void {
  console.log(`\n${result.scenario}: ${result.summary}\n`);
  for (const table of result.tables) console.log(`${markdownTable(table)}\n`);
  console.log(`headline: ${JSON.stringify(result.headline)}`);
  const below = belowFloors(result);
  for (const floor of result.floors ?? []) {
    const failed = below.some((b) => b.name === floor.name);
    console.log(
      `floor: ${floor.meaning} = ${result.headline[floor.name]} (at least ${floor.floor}): ${failed ? 'BELOW' : 'ok'}`,
    );
  }
}

/** Say which committed figures fell below their floors; true when any did. */
function reportFloors(results: readonly ScenarioResult[]): boolean {
  let failed = false;
  for (const result of results) {
    for (const b of belowFloors(result)) {
      console.error(`${result.scenario}: ${b.meaning} measured ${b.measured}, below its floor of ${b.floor}`);
      failed = true;
    }
  }
  return failed;
}

/** Runs what the command line asks for; resolves true when a committed figure fell below its floor. */
async function main(): Promise<boolean> {
  const name = positionals[0] ?? 'overhead';
  if (name === 'all') {
    const results: ScenarioResult[] = [];
    for (const [scenario, run] of Object.entries(scenarios)) {
      const started = performance.now();
      console.error(`running ${scenario} ...`);
      const result = await run();
      console.error(`  ${scenario} took ${Math.round((performance.now() - started) / 1_000)} s`);
      results.push(result);
      if (!values.json) print(result);
    }
    const docs = fileURLToPath(new URL('../../docs', import.meta.url));
    const written = await publish(results, docs);
    if (values.json) process.stdout.write(`${JSON.stringify(results)}\n`);
    else console.log(`\nwrote ${written.length} files: ${written.join(', ')}`);
    return reportFloors(results);
  }
  const run = scenarios[name] ?? tools[name];
  if (run === undefined) {
    console.error(
      `unknown scenario ${JSON.stringify(name)}; scenarios: ${[...Object.keys(scenarios), ...Object.keys(tools), 'all'].join(', ')}`,
    );
    process.exit(2);
  }
  const names = [name, ...(companions[name] ?? [])];
  const results: ScenarioResult[] = [];
  for (const each of names) {
    const result = await (scenarios[each] ?? tools[each])!();
    results.push(result);
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else print(result);
    if (values.publish) {
      // Replace this scenario's figures in the published run and regenerate the page from it.
      if (!(each in scenarios)) throw new Error(`--publish: ${each} is not part of the published results`);
      const docs = fileURLToPath(new URL('../../docs', import.meta.url));
      const written = await republish(result, docs);
      if (!values.json) console.log(`\nwrote ${written.length} files`);
    }
  }
  return reportFloors(results);
}

main().then(
  // Undici keeps no handle open after close, but a child's pipe may linger: end deterministically.
  // A committed figure below its floor fails the run.
  (belowFloor) => process.exit(belowFloor ? 1 : 0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
