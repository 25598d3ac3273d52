// Command-line flags of `npm run demo`, parsed with node:util parseArgs: --duration <seconds>
// (per client), --concurrency <n>, --json, --help. A bad flag or value throws UsageError, which
// main.ts prints with the usage text before exiting with code 2.
import { parseArgs } from 'node:util';
import { DEMO_DEFAULTS } from './demo.js';

export const USAGE = `usage: npm run demo -- [--duration <seconds>] [--concurrency <n>] [--json]
  --duration <seconds>  load time per client, 0.1..3600 (default ${DEMO_DEFAULTS.durationMs / 1_000})
  --concurrency <n>     concurrent request loops, 1..1024 (default ${DEMO_DEFAULTS.concurrency})
  --json                print one JSON summary at the end instead of tables
  --help                show this text`;

/** A bad command line; the message says which flag and why. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface DemoArgs {
  readonly help: boolean;
  readonly durationMs: number;
  readonly concurrency: number;
  readonly json: boolean;
}

/** Parse the demo's flags (`process.argv.slice(2)`). Throws {@link UsageError}. */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  let values: { duration?: string; concurrency?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        duration: { type: 'string' },
        concurrency: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const seconds = numberFlag('--duration', values.duration, DEMO_DEFAULTS.durationMs / 1_000, 0.1, 3600);
  const concurrency = numberFlag('--concurrency', values.concurrency, DEMO_DEFAULTS.concurrency, 1, 1024);
  if (!Number.isInteger(concurrency)) {
    throw new UsageError(`--concurrency must be a whole number, got "${values.concurrency}"`);
  }
  return {
    help: values.help ?? false,
    durationMs: Math.round(seconds * 1_000),
    concurrency,
    json: values.json ?? false,
  };
}

function numberFlag(
  flag: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be a number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}
