/**
 * Benchmark entry: `npm run bench -- <scenario> [--json] [--requests N] [--concurrency C] [--rounds R]`.
 * Prints a human table, or with --json one JSON object with the figures. Runs without a TTY.
 */
import { parseArgs } from 'node:util';
import { overhead } from './scenarios/overhead.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean', default: false },
    requests: { type: 'string' },
    concurrency: { type: 'string' },
    rounds: { type: 'string' },
  },
});

const scenarios = ['overhead'] as const;
const name = positionals[0] ?? 'overhead';

function intArg(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${flag}: expected a positive integer, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  if (!(scenarios as readonly string[]).includes(name)) {
    console.error(`unknown scenario ${JSON.stringify(name)}; scenarios: ${scenarios.join(', ')}`);
    process.exit(2);
  }
  const result = await overhead({
    requests: intArg('requests', values.requests, 5_000),
    concurrency: intArg('concurrency', values.concurrency, 32),
    rounds: intArg('rounds', values.rounds, 30),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  console.log(
    `overhead: ${result.rounds} rounds of ${result.requests} GETs per contender, concurrency ${result.concurrency}`,
  );
  console.log(`  raw undici Pool.request  ${result.rawRps} req/s  ${result.rawCpuUsPerRequest} µs CPU/req`);
  console.log(`  weft client.request      ${result.weftRps} req/s  ${result.weftCpuUsPerRequest} µs CPU/req`);
  console.log(
    `  throughput ratio weft/raw ${result.throughputRatio} (median of per-round ratios; IQR ${result.throughputRatioP25}–${result.throughputRatioP75})`,
  );
  console.log(`  CPU per request, raw/weft ${result.cpuRatio}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
