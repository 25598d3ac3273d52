/**
 * Benchmark entry: `npm run bench -- <scenario> [--json] [--requests N] [--concurrency C] [--rounds R]`
 * (`overhead` also takes `--telemetry`: metrics and tracing on).
 * Scenarios: `overhead` (weft vs raw undici throughput) and `breakdown` (CPU per request with
 * layers removed). Prints a human summary, or with --json one JSON object. Runs without a TTY.
 */
import { parseArgs } from 'node:util';
import { breakdown } from './scenarios/breakdown.js';
import { overhead } from './scenarios/overhead.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean', default: false },
    requests: { type: 'string' },
    concurrency: { type: 'string' },
    rounds: { type: 'string' },
    telemetry: { type: 'boolean', default: false },
  },
});

function intArg(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${flag}: expected a positive integer, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}

const scenarios: Record<string, () => Promise<{ text: string[]; json: unknown }>> = {
  async overhead() {
    const r = await overhead({
      requests: intArg('requests', values.requests, 5_000),
      concurrency: intArg('concurrency', values.concurrency, 32),
      rounds: intArg('rounds', values.rounds, 30),
      telemetry: values.telemetry,
    });
    return {
      json: r,
      text: [
        `overhead: ${r.rounds} rounds of ${r.requests} GETs per contender, concurrency ${r.concurrency}${r.telemetry ? ', weft with metrics and tracing (no SDK)' : ''}`,
        `  raw undici Pool.request  ${r.rawRps} req/s  ${r.rawCpuUsPerRequest} µs CPU/req`,
        `  weft client.request      ${r.weftRps} req/s  ${r.weftCpuUsPerRequest} µs CPU/req`,
        `  throughput ratio weft/raw ${r.throughputRatio} (median of per-round ratios; IQR ${r.throughputRatioP25}–${r.throughputRatioP75})`,
        `  CPU per request, raw/weft ${r.cpuRatio}`,
      ],
    };
  },
  async breakdown() {
    const r = await breakdown({
      requests: intArg('requests', values.requests, 4_000),
      concurrency: intArg('concurrency', values.concurrency, 32),
      rounds: intArg('rounds', values.rounds, 25),
    });
    return {
      json: r,
      text: [
        `breakdown: ${r.rounds} rounds of ${r.requests} GETs per variant, concurrency ${r.concurrency}`,
        ...r.variants.map(
          (v) =>
            `  ${v.name.padEnd(34)} ${v.cpuUsPerRequest.toFixed(2)} µs CPU/req  (${v.deltaUs >= 0 ? '+' : ''}${v.deltaUs.toFixed(2)})`,
        ),
      ],
    };
  },
};

async function main(): Promise<void> {
  const name = positionals[0] ?? 'overhead';
  const run = scenarios[name];
  if (run === undefined) {
    console.error(
      `unknown scenario ${JSON.stringify(name)}; scenarios: ${Object.keys(scenarios).join(', ')}`,
    );
    process.exit(2);
  }
  const result = await run();
  if (values.json) process.stdout.write(`${JSON.stringify(result.json)}\n`);
  else for (const line of result.text) console.log(line);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
