/**
 * memory: N calls (1 million by default) through weft and through raw undici Pool, each in a
 * fresh process of its own (./workers/memory-worker.ts) against its own backend replica, closed
 * loop. Reported per contender: the heap after a forced GC before and after the calls (what the
 * calls left behind), the highest heap seen while they ran (sampled every 50 ms), and the
 * process's peak RSS.
 */
import { type ContenderName, LABELS } from '../contenders.js';
import type { ScenarioResult } from '../result.js';
import { round } from '../stats.js';
import { runWorker } from './common.js';

export interface MemoryOptions {
  requests: number;
  concurrency: number;
}

interface WorkerResult {
  contender: ContenderName;
  requests: number;
  heapBefore: number;
  heapAfter: number;
  peakHeap: number;
  rssBefore: number;
  peakRss: number;
  failed: number;
  rps: number;
}

const worker = new URL('../workers/memory-worker.ts', import.meta.url);
const NAMES: readonly ContenderName[] = ['undici-pool', 'weft'];
const MB = 1024 * 1024;

export async function memory(options: MemoryOptions): Promise<ScenarioResult> {
  const results: WorkerResult[] = [];
  for (const name of NAMES)
    results.push(await runWorker<WorkerResult>(worker, { contender: name, ...options }));
  const mb = (bytes: number) => round(bytes / MB, 1);
  const rows = results.map((r) => ({
    name: r.contender,
    label: LABELS[r.contender],
    heapBeforeMb: mb(r.heapBefore),
    heapAfterMb: mb(r.heapAfter),
    retainedMb: mb(r.heapAfter - r.heapBefore),
    peakHeapMb: mb(r.peakHeap),
    peakRssMb: mb(r.peakRss),
    failed: r.failed,
  }));
  const weft = rows.find((r) => r.name === 'weft')!;
  return {
    scenario: 'memory',
    summary: `${options.requests.toLocaleString('en')} closed-loop GETs per contender, ${options.concurrency} in flight, each contender in a process of its own`,
    tables: [
      {
        columns: [
          'contender',
          'heap before (MB)',
          'heap after (MB)',
          'left behind (MB)',
          'peak heap (MB)',
          'peak RSS (MB)',
          'failed',
        ],
        rows: rows.map((r) => [
          r.label,
          r.heapBeforeMb,
          r.heapAfterMb,
          r.retainedMb,
          r.peakHeapMb,
          r.peakRssMb,
          r.failed,
        ]),
      },
    ],
    charts: [
      {
        kind: 'bars',
        title: `Memory over ${options.requests.toLocaleString('en')} calls`,
        unit: 'MB',
        groups: ['heap before', 'heap after', 'peak heap', 'peak RSS'],
        series: rows.map((r) => ({
          name: r.label,
          values: [r.heapBeforeMb, r.heapAfterMb, r.peakHeapMb, r.peakRssMb],
        })),
      },
    ],
    headline: {
      weftHeapLeftBehindMb: weft.retainedMb,
      weftPeakRssMb: weft.peakRssMb,
      undiciPeakRssMb: rows.find((r) => r.name === 'undici-pool')!.peakRssMb,
    },
    details: { options, results },
  };
}
