/**
 * Pins benchmark processes to one CPU with util-linux's `taskset`, for `server-overhead`: a server
 * and its load generator on the same vCPU wake each other without an inter-processor interrupt,
 * which on a VM whose idle vCPUs halt at once costs the server more the slower it is, and so
 * amplifies any server-side cost (docs/benchmarks.md, "The server-side figures"). The CPU is the
 * last one this process may run on (`Cpus_allowed_list` of /proc/self/status). When that cannot be
 * read, or taskset is missing or refused, processes run unpinned, and the {@link Pinning} says why.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** One CPU every pinned process runs on, or why there is none. */
export type Pinning = { readonly cpu: number } | { readonly cpu: undefined; readonly unpinned: string };

/** The highest CPU in a Linux CPU list such as `0-1` or `0-3,6,8-9`. */
export function lastCpuOf(list: string): number {
  const cpus = list
    .trim()
    .split(',')
    .map((part) => Number(part.split('-').pop()));
  if (list.trim() === '' || cpus.some((cpu) => !Number.isInteger(cpu) || cpu < 0)) {
    throw new Error(`not a CPU list: ${JSON.stringify(list)}`);
  }
  return Math.max(...cpus);
}

/** Run `taskset args`: whether it worked, and if not, why. */
function taskset(args: readonly string[]): { ok: true } | { ok: false; why: string } {
  const result = spawnSync('taskset', args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.error !== undefined) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
    return { ok: false, why: missing ? 'taskset (util-linux) is not installed' : result.error.message };
  }
  if (result.status !== 0) {
    return {
      ok: false,
      why: `taskset ${args.join(' ')} failed: ${result.stderr.trim() || `exit ${result.status}`}`,
    };
  }
  return { ok: true };
}

/** The last CPU this process may run on, if taskset can pin a process to it. */
export function choosePinning(): Pinning {
  let cpu: number;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1];
    if (list === undefined) return { cpu: undefined, unpinned: 'no Cpus_allowed_list in /proc/self/status' };
    cpu = lastCpuOf(list);
  } catch (error) {
    return { cpu: undefined, unpinned: `cannot read this process's CPUs: ${(error as Error).message}` };
  }
  const probe = taskset(['-c', String(cpu), 'true']);
  return probe.ok ? { cpu } : { cpu: undefined, unpinned: probe.why };
}

/** Pin every thread of the running process `pid` (and so the threads it starts later) to the pinning's CPU. */
export function pinProcess(pinning: Pinning, pid: number): void {
  if (pinning.cpu === undefined) return;
  const result = taskset(['-a', '-p', '-c', String(pinning.cpu), String(pid)]);
  // choosePinning ran taskset on this CPU already: failing now is not a machine without taskset.
  if (!result.ok) throw new Error(result.why);
}

/** `command` with `args` as spawn's arguments: run under `taskset -c <cpu>` when pinned. */
export function pinnedCommand(
  pinning: Pinning,
  command: string,
  args: readonly string[],
): [string, string[]] {
  return pinning.cpu === undefined
    ? [command, [...args]]
    : ['taskset', ['-c', String(pinning.cpu), command, ...args]];
}
