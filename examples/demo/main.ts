// Entry point of `npm run demo`: parse the flags, run the demo (weft's P2C Peak EWMA, then round
// robin, ~10 s each) and let the process end on its own once every client and server is closed.
// Exit codes: 0 done, 1 the demo failed, 2 bad flags. Never calls process.exit.
import { parseDemoArgs, USAGE, UsageError } from './args.js';
import { runDemo } from './demo.js';

async function main(argv: readonly string[]): Promise<number> {
  let args: ReturnType<typeof parseDemoArgs>;
  try {
    args = parseDemoArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`demo: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  await runDemo({
    durationMs: args.durationMs,
    concurrency: args.concurrency,
    json: args.json,
    color: process.stdout.isTTY === true && !args.json,
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error('demo failed:', error);
    process.exitCode = 1;
  },
);
