/**
 * The load generator of `server-overhead`, in a process of its own: autocannon (its programmatic
 * API), a load generator the project did not write, so the figures do not rest on a client of
 * ours. Kept warm between runs; each {@link AutocannonRun} it is sent runs autocannon once against
 * one URL and is answered with an {@link AutocannonSample}; `{ close: true }` ends the process, as
 * does the parent going away. It first sends `{ ready: true }` (../scenarios/common.ts `startWorker`).
 */
import autocannon from 'autocannon';

/** One autocannon run: closed loop over `connections` keep-alive connections for `durationS` seconds. */
export interface AutocannonRun {
  url: string;
  connections: number;
  durationS: number;
  headers: Record<string, string>;
}

export interface AutocannonSample {
  /** 2xx answers per second over the run. */
  rps: number;
  /** 2xx answers in all. */
  answered: number;
  /** Answers that were not 2xx, plus connection errors and timeouts. */
  failed: number;
  /** Latency percentiles, ms, as autocannon measured them. */
  p50Ms: number;
  p99Ms: number;
}

export type AutocannonMessage = AutocannonRun | { close: true };

const reply = (message: AutocannonSample | { ready: true }) => {
  if (process.connected) process.send?.(message, undefined, {}, () => {});
};
process.on('disconnect', () => process.exit(0));
process.on('message', (message: AutocannonMessage) => {
  if ('close' in message) {
    process.disconnect();
    return;
  }
  autocannon({
    url: message.url,
    connections: message.connections,
    duration: message.durationS,
    headers: message.headers,
  }).then(
    (result) =>
      reply({
        rps: result['2xx'] / result.duration,
        answered: result['2xx'],
        failed: result.non2xx + result.errors + result.timeouts,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
      }),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
reply({ ready: true });
