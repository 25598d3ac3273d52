// The live per-endpoint table printed about once a second. Per backend: what it received from this
// run so far (attempts, their share, retries among them, 503s it answered; counted at the server),
// and what the client thinks of it now (`client.endpoints()`: cost, pending, status, and failure
// accrual's state: alive, ejected or probing; `off` when the client has no failure accrual).
// Cost is ms × (pending + 1) under Peak EWMA, the pending count under round robin. The heading
// gives the caller's view (calls, rate, share answered 200) and the retry budget's balance.
// Plain lines only; colour (util.styleText) only when the caller says the output is a TTY.
import { styleText } from 'node:util';
import type { AccrualState, HttpClient } from '../../src/index.js';
import type { Backend } from './backends.js';
import type { LoadProgress } from './load.js';

const COLUMNS = ['endpoint', 'attempts', 'share', 'retries', '503s', 'cost', 'in-flight', 'status', 'state'];
const WIDTHS = [11, 8, 7, 7, 6, 8, 9, 6, 7] as const;

/** Failure accrual's state in one word: alive, ejected (dead), probing; `off` without accrual. */
export function accrualLabel(accrual: AccrualState | undefined): 'alive' | 'ejected' | 'probing' | 'off' {
  if (accrual === undefined) return 'off';
  if (accrual.state === 'alive') return 'alive';
  return accrual.state === 'dead' ? 'ejected' : 'probing';
}

/** Does the client retry? (Its call stack has the `retry` role.) */
export function retries(client: HttpClient): boolean {
  return client.roles.includes('retry');
}

/** One block of text: a heading line and a row per backend. */
export function renderTable(
  client: HttpClient,
  title: string,
  backends: readonly Backend[],
  progress: LoadProgress,
  color: boolean,
  note = '',
): string {
  const paint = (format: Parameters<typeof styleText>[0], text: string): string =>
    color ? styleText(format, text, { validateStream: false }) : text;
  const stats = new Map(client.endpoints().map((e) => [e.address, e]));
  const counts = backends.map((b) => b.counts(title));
  const attempts = counts.reduce((n, c) => n + c.attempts, 0);
  const seconds = progress.elapsedMs / 1_000;
  const rate = seconds > 0 ? Math.round(progress.completed / seconds) : 0;
  const okShare = progress.completed > 0 ? progress.ok / progress.completed : 0;
  const budget = retries(client) ? `  budget ${Math.round(client.retryBudget.balance())}` : '';
  const lines = [
    paint(
      'bold',
      `${title} (${client.strategy})  t=${seconds.toFixed(1)}s  ${progress.completed} calls  ${rate}/s  ` +
        `ok ${percent(okShare)}${budget}${note && `  ${note}`}`,
    ),
    formatRow(COLUMNS),
  ];
  backends.forEach((backend, i) => {
    const c = counts[i]!;
    const live = stats.get(backend.address);
    const state = live === undefined ? '-' : accrualLabel(live.accrual);
    const cells = formatRow([
      backend.label,
      String(c.attempts),
      percent(attempts > 0 ? c.attempts / attempts : 0),
      String(c.retries),
      String(c.failures),
      live === undefined ? '-' : live.cost.toFixed(1),
      live === undefined ? '-' : String(live.pending),
      live?.status ?? 'gone',
      state,
    ]);
    lines.push(state === 'ejected' || state === 'probing' ? paint('yellow', cells) : cells);
  });
  const failed = progress.completed - progress.ok;
  if (failed > 0) {
    const reasons = [
      ...[...progress.statuses].map(([status, n]) => `${status}=${n}`),
      ...[...progress.failures].map(([code, n]) => `${code}=${n}`),
    ].join(' ');
    lines.push(paint('red', `  calls not answered 200: ${failed} (${reasons})`));
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
