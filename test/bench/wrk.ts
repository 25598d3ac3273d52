/**
 * Runs Debian's wrk 4 once against one URL, for `server-overhead`: a C load generator we did not
 * write, one thread (`-t1`), closed loop over `connections` keep-alive connections with one
 * request in flight each, for whole seconds (wrk's `-d` takes no fractions), with `--latency`.
 * Under `taskset -c <cpu>` when the run is pinned (./cpu-pinning.ts). Resolves with the figures of
 * its report (./wrk-report.ts); rejects when wrk is missing (saying how to install it), exits
 * non-zero (with what it printed), or prints no report.
 */
import { spawn } from 'node:child_process';
import { onPath } from '../../scripts/system-packages.mjs';
import { track } from './child-processes.js';
import { type Pinning, pinnedCommand } from './cpu-pinning.js';
import { type LoadSample, parseWrkReport } from './wrk-report.js';

/** One wrk run. */
export interface WrkRun {
  readonly url: string;
  /** Keep-alive connections, each with one request in flight (`-c`). */
  readonly connections: number;
  /** Seconds of load (`-d`), a whole number. */
  readonly durationS: number;
  /** Sent with every request (one `-H 'name: value'` each). */
  readonly headers: Readonly<Record<string, string>>;
  readonly pinning: Pinning;
}

/** What to do when wrk is not on PATH. */
export const WRK_MISSING =
  "wrk is not installed, and server-overhead runs it as its load generator: install Debian's wrk: apt-get install wrk (npm test's pretest and npm run bench's prebench install it when run as root)";

/** wrk's arguments for `run`. */
export function wrkArguments(run: WrkRun): string[] {
  if (!Number.isInteger(run.durationS) || run.durationS < 1) {
    throw new Error(`wrk: durationS must be a whole number of seconds, at least 1 (got ${run.durationS})`);
  }
  if (!Number.isInteger(run.connections) || run.connections < 1) {
    throw new Error(`wrk: connections must be a whole number, at least 1 (got ${run.connections})`);
  }
  const headers = Object.entries(run.headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
  return ['-t1', `-c${run.connections}`, `-d${run.durationS}s`, ...headers, '--latency', run.url];
}

/** Run wrk once as `run` says; resolves with the figures of its report. */
export function runWrk(run: WrkRun): Promise<LoadSample> {
  if (!onPath('wrk')) return Promise.reject(new Error(WRK_MISSING));
  const [command, args] = pinnedCommand(run.pinning, 'wrk', wrkArguments(run));
  return new Promise((resolve, reject) => {
    const child = track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code !== 0) {
        reject(
          new Error(
            `${command} ${args.join(' ')} exited with ${code ?? signal}: ${err.trim() || out.trim()}`,
          ),
        );
        return;
      }
      try {
        resolve(parseWrkReport(out));
      } catch (error) {
        reject(error);
      }
    });
  });
}
