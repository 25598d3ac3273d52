/**
 * Pinning benchmark processes to one CPU (./cpu-pinning.ts): the CPU is the last this process may
 * run on, a running process is pinned with all its threads, and a command runs under taskset
 * only when pinned. Needs util-linux's taskset and Linux's /proc, as `server-overhead` does.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { choosePinning, lastCpuOf, pinnedCommand, pinProcess } from './cpu-pinning.js';

/** `Cpus_allowed_list` of a /proc status file. */
const allowedIn = (statusFile: string) =>
  /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync(statusFile, 'utf8'))![1];

describe('lastCpuOf', () => {
  it('takes the highest CPU of a Linux CPU list', () => {
    expect(lastCpuOf('0-1')).toBe(1);
    expect(lastCpuOf('0')).toBe(0);
    expect(lastCpuOf('0-3,6,8-9\n')).toBe(9);
    expect(lastCpuOf('4,2')).toBe(4);
  });

  it('refuses what is not a CPU list', () => {
    expect(() => lastCpuOf('')).toThrow(/not a CPU list/);
    expect(() => lastCpuOf('0-x')).toThrow(/not a CPU list/);
  });
});

describe('pinning', () => {
  it('picks the last CPU this process may run on', () => {
    expect(choosePinning()).toEqual({ cpu: lastCpuOf(allowedIn('/proc/self/status')!) });
  });

  it('pins every thread of a running process', async () => {
    const pinning = choosePinning();
    // A Node.js process has threads of its own (V8's platform workers) beside the main one.
    const child = spawn(process.execPath, ['-e', "console.log('up'); setInterval(() => {}, 1000)"], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await once(child.stdout, 'data');
      pinProcess(pinning, child.pid!);
      const threads = readdirSync(`/proc/${child.pid}/task`);
      expect(threads.length).toBeGreaterThan(1);
      for (const tid of threads)
        expect(allowedIn(`/proc/${child.pid}/task/${tid}/status`)).toBe(String(pinning.cpu));
    } finally {
      child.kill();
      await once(child, 'exit');
    }
  });

  it('runs unpinned, saying why, when taskset cannot be found', () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      expect(choosePinning()).toEqual({ cpu: undefined, unpinned: 'taskset (util-linux) is not installed' });
    } finally {
      process.env.PATH = path;
    }
  });

  it('runs a command under taskset only when pinned', () => {
    expect(pinnedCommand({ cpu: 1 }, 'wrk', ['-t1'])).toEqual(['taskset', ['-c', '1', 'wrk', '-t1']]);
    expect(pinnedCommand({ cpu: undefined, unpinned: 'no taskset' }, 'wrk', ['-t1'])).toEqual([
      'wrk',
      ['-t1'],
    ]);
  });
});
