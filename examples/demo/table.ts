// The live per-endpoint table printed about once a second: what each backend got from the client
// so far and what the balancer thinks of it now (`client.endpoints()`: cost, pending, status;
// cost is ms × (pending + 1) under Peak EWMA, the pending count under round robin).
// Plain lines only; colour (util.styleText) only when the caller says the output is a TTY.
import { styleText } from 'node:util';
import type { HttpClient } from '../../src/index.js';
import type { Backend } from './backends.js';
import type { LoadProgress } from './load.js';

const COLUMNS = ['endpoint', 'sent', 'share', 'cost', 'in-flight', 'status', 'errors'] as const;
const WIDTHS = [11, 8, 7, 9, 10, 7, 7] as const;

/** One block of text: a heading line and a row per backend. */
export function renderTable(
  client: HttpClient,
  backends: readonly Backend[],
  progress: LoadProgress,
  color: boolean,
  note = '',
): string {
  const paint = (format: Parameters<typeof styleText>[0], text: string): string =>
    color ? styleText(format, text, { validateStream: false }) : text;
  const stats = new Map(client.endpoints().map((e) => [e.address, e]));
  let responses = 0;
  for (const tally of progress.tallies.values()) responses += tally.requests;
  const seconds = progress.elapsedMs / 1_000;
  const rate = seconds > 0 ? Math.round(progress.completed / seconds) : 0;
  const lines = [
    paint(
      'bold',
      `${client.strategy}  t=${seconds.toFixed(1)}s  ${progress.completed} calls  ${rate}/s${note && `  ${note}`}`,
    ),
    formatRow(COLUMNS),
  ];
  for (const backend of backends) {
    const tally = progress.tallies.get(backend.label) ?? { requests: 0, errors: 0 };
    const live = stats.get(backend.address);
    const cells = formatRow([
      backend.label,
      String(tally.requests),
      percent(responses > 0 ? tally.requests / responses : 0),
      live === undefined ? '-' : live.cost.toFixed(1),
      live === undefined ? '-' : String(live.pending),
      live?.status ?? 'gone',
      String(tally.errors),
    ]);
    lines.push(tally.errors > 0 ? paint('red', cells) : cells);
  }
  let failed = 0;
  for (const count of progress.failures.values()) failed += count;
  if (failed > 0) {
    const codes = [...progress.failures].map(([code, n]) => `${code}=${n}`).join(' ');
    lines.push(paint('red', `  no response: ${failed} (${codes})`));
  }
  return lines.join('\n');
}

/** A share in [0, 1] as `12.3%`. */
export function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function formatRow(cells: readonly string[]): string {
  return `  ${cells.map((cell, i) => (i === 0 ? cell.padEnd(WIDTHS[i] ?? 8) : cell.padStart(WIDTHS[i] ?? 8))).join(' ')}`;
}
