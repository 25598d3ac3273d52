/**
 * One contender's memory run, in a process of its own so that its peak RSS is its own: starts
 * one backend replica, makes N closed-loop calls through the contender, and prints one JSON line
 * with the heap after a forced GC before and after the calls, and the process's peak RSS.
 * Argument: JSON { contender, requests, concurrency }.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startReplicas } from '../backends.js';
import { type ContenderName, DEFAULT_SETTINGS, makeContender } from '../contenders.js';
import { closedLoop } from '../load.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const { contender, requests, concurrency } = JSON.parse(process.argv[2] ?? '{}') as {
  contender: ContenderName;
  requests: number;
  concurrency: number;
};

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const replicas = await startReplicas([{}]);
try {
  const c = makeContender(contender, replicas.addresses, { ...DEFAULT_SETTINGS, connections: concurrency });
  try {
    await closedLoop(c.send, Math.min(2_000, requests), concurrency);
    const rssBefore = process.memoryUsage().rss;
    const heapBefore = heapAfterGc();
    let peakHeap = heapBefore;
    const sampler = setInterval(() => {
      const used = process.memoryUsage().heapUsed;
      if (used > peakHeap) peakHeap = used;
    }, 50);
    const result = await closedLoop(c.send, requests, concurrency);
    clearInterval(sampler);
    const heapAfter = heapAfterGc();
    process.stdout.write(
      `${JSON.stringify({
        contender,
        requests,
        heapBefore,
        heapAfter,
        peakHeap,
        rssBefore,
        peakRss: process.resourceUsage().maxRSS * 1024,
        failed: result.failed,
        rps: result.rps,
      })}\n`,
    );
  } finally {
    await c.close();
  }
} finally {
  await replicas.stop();
}
