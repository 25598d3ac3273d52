/**
 * Reads the report Debian's wrk 4 (4.1.0) prints after a run with `--latency` into a
 * {@link LoadSample}, the figures `server-overhead` keeps of a load generator's run. The lines it
 * reads, as wrk's src/wrk.c prints them: `N requests in T, B read` (every complete response),
 * `Non-2xx or 3xx responses: N` and `Socket errors: connect C, read R, write W, timeout T` (each
 * only when not zero), `Requests/sec: X` (complete responses ÷ exact run time), and the `50%` and
 * `99%` rows of `Latency Distribution`. wrk writes times in us, ms, s, m or h (src/units.c).
 */

/** What a closed-loop load generator measured in one run against one URL. */
export interface LoadSample {
  /** 2xx (and 3xx) answers per second over the run. */
  readonly rps: number;
  /** 2xx (and 3xx) answers in all. A late answer (past wrk's `--timeout`) counts here and as a timeout. */
  readonly answered: number;
  /** Answers that were neither 2xx nor 3xx, plus socket errors: connect, read, write and timeouts. */
  readonly failed: number;
  /** Latency percentiles, ms, as the load generator measured them. */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Milliseconds per unit wrk writes a time in. */
const MS_PER_UNIT: Readonly<Record<string, number>> = {
  us: 0.001,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/** `55.00us`, `3.10ms`, `1.20s` → ms. */
function timeMs(value: string, unit: string, line: string): number {
  const perUnit = MS_PER_UNIT[unit];
  if (perUnit === undefined)
    throw new Error(`wrk report: unknown time unit ${JSON.stringify(unit)} in ${JSON.stringify(line)}`);
  return Number(value) * perUnit;
}

/** The first match of `pattern` in `report`, or an error quoting the report. */
function find(report: string, pattern: RegExp, what: string): RegExpExecArray {
  const match = pattern.exec(report);
  if (match === null) throw new Error(`wrk report: no ${what} line (was it run with --latency?):\n${report}`);
  return match;
}

/** The latency at percentile `p` (a row of `Latency Distribution`), ms. */
function percentileMs(report: string, p: 50 | 99): number {
  const match = find(report, new RegExp(`^\\s*${p}%\\s+([\\d.]+)([a-z]+)\\s*$`, 'm'), `${p}% latency`);
  return timeMs(match[1]!, match[2]!, match[0].trim());
}

/** The figures of wrk's report `report` (its standard output). */
export function parseWrkReport(report: string): LoadSample {
  const requests = Number(find(report, /^\s*(\d+) requests in /m, '"requests in"')[1]);
  const perSecond = Number(find(report, /^Requests\/sec:\s+([\d.]+)\s*$/m, 'Requests/sec')[1]);
  const non2xx = Number(/^\s*Non-2xx or 3xx responses:\s+(\d+)\s*$/m.exec(report)?.[1] ?? 0);
  const socket = /^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$/m.exec(report);
  const socketErrors = socket === null ? 0 : socket.slice(1, 5).reduce((sum, n) => sum + Number(n), 0);
  const answered = requests - non2xx;
  return {
    // Requests/sec is every complete response over the exact run time (the "in 1.00s" is rounded).
    rps: requests === 0 ? 0 : (perSecond * answered) / requests,
    answered,
    failed: non2xx + socketErrors,
    p50Ms: percentileMs(report, 50),
    p99Ms: percentileMs(report, 99),
  };
}
