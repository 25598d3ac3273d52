/**
 * The figures of wrk's report (./wrk-report.ts), read from reports Debian's wrk 4.1.0 printed
 * (test/fixtures/wrk, captured with `wrk -t1 -c2 -d1s --latency` against small Node servers on
 * 127.0.0.1): one that answered every request, one that answered every third with 503, one that
 * destroyed every twentieth socket, one that answered after 1.2 s, and that one again under
 * `--timeout 1s`. Latencies in us, ms and s.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseWrkReport } from './wrk-report.js';

const report = (name: string) =>
  readFileSync(new URL(`../fixtures/wrk/${name}.txt`, import.meta.url), 'utf8');

describe('parseWrkReport', () => {
  it('reads answers per second, answers and latency percentiles of a clean run', () => {
    const s = parseWrkReport(report('ok'));
    expect(s).toEqual({ rps: 22_890.22, answered: 22_898, failed: 0, p50Ms: 0.062, p99Ms: 3.09 });
  });

  it('counts Non-2xx or 3xx responses as failed, and only the others as answered', () => {
    const s = parseWrkReport(report('non-2xx'));
    expect(s.answered).toBe(25_422 - 8_474);
    expect(s.failed).toBe(8_474);
    // Requests/sec is every response over the exact run time; a 2xx share of it, not ÷ the rounded 1.10 s.
    expect(s.rps).toBeCloseTo((23_119.88 * (25_422 - 8_474)) / 25_422, 6);
    expect([s.p50Ms, s.p99Ms]).toEqual([0.055, 2.39]);
  });

  it('counts every socket error as failed', () => {
    expect(parseWrkReport(report('socket-errors'))).toMatchObject({
      answered: 19_432,
      failed: 1_022,
      p99Ms: 3.1,
    });
    // Answers past --timeout: wrk counts them as requests and as timeouts, and records no latency.
    expect(parseWrkReport(report('timeouts'))).toMatchObject({ answered: 4, failed: 4, p50Ms: 0, p99Ms: 0 });
  });

  it('reads latencies written in seconds', () => {
    expect(parseWrkReport(report('seconds'))).toMatchObject({ answered: 4, p50Ms: 1_200, p99Ms: 1_210 });
  });

  it('refuses a report without the figures it reads, or with a unit it does not know', () => {
    expect(() => parseWrkReport('unable to connect to 127.0.0.1:1 Connection refused')).toThrow(
      /wrk report: no "requests in" line/,
    );
    // The same report without --latency: no Latency Distribution rows.
    const withoutDistribution = report('ok')
      .split('\n')
      .filter((line) => !/^\s+\d+%\s/.test(line))
      .join('\n');
    expect(() => parseWrkReport(withoutDistribution)).toThrow(/no 50% latency line/);
    expect(() => parseWrkReport(report('ok').replace('3.09ms', '3.09ks'))).toThrow(/unknown time unit "ks"/);
  });
});
