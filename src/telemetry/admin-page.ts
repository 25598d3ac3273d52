/**
 * The admin page: one self-contained HTML document (inline CSS and JS, no external request, no
 * build step) that fetches `state.json` next to itself every second and draws the servers of the
 * server half, when it was given any, as one table (state, in-flight, limit and algorithm, a load
 * bar of in-flight over the limit, rejections by reason), then, per client, a
 * heading (name, protocol unless HTTP, a gRPC channel's connectivity, strategy), a line of facts, a
 * line per discovery source (serving or not and since when, state, stale, updates, errors, last
 * error), and a table of endpoints with a cost bar (relative to the client's costliest), the
 * EWMA, and a success-rate bar (the last 30 s; red below 90%).
 * All data goes in through `textContent`; a Content-Security-Policy with the hashes of the inline
 * style and script (and `connect-src 'self'`) keeps the page from loading anything else.
 */
import { createHash } from 'node:crypto';

/** How often the page fetches the JSON, in ms. */
export const ADMIN_PAGE_REFRESH_MS = 1_000;

const STYLE = `
:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --bar: #3b82f6; --bad: #b91c1c;
  --bad-bg: #fee2e2; --warn: #92400e; --warn-bg: #fef3c7; --ok: #15803d; }
@media (prefers-color-scheme: dark) { :root { --muted: #9ca3af; --line: #374151; --bar: #60a5fa;
  --bad: #fca5a5; --bad-bg: #450a0a; --warn: #fcd34d; --warn-bg: #451a03; --ok: #86efac; } }
body { font: 14px/1.4 system-ui, sans-serif; margin: 1rem 1.5rem; }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .25rem; }
.muted { color: var(--muted); font-weight: normal; }
h2 .connectivity { color: var(--ok); font-weight: normal; }
h2 .connectivity.warn { color: var(--warn); }
#status.error { color: var(--bad); font-weight: bold; }
.facts { margin: 0 0 .5rem; display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; }
.facts .bad { color: var(--bad); font-weight: bold; }
.facts .warn { color: var(--warn); font-weight: bold; }
ul.sources { margin: 0 0 .5rem; padding-left: 1.25rem; }
li.source.serving { color: var(--ok); }
li.source .bad { color: var(--bad); font-weight: bold; }
li.source .warn { color: var(--warn); font-weight: bold; }
table { border-collapse: collapse; min-width: 48rem; }
th, td { text-align: left; padding: .25rem .75rem .25rem 0; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-weight: 600; color: var(--muted); }
td.num, th.num { text-align: right; }
td.address { font-family: ui-monospace, monospace; }
tr.ejected td { background: var(--bad-bg); color: var(--bad); }
tr.draining td { background: var(--warn-bg); color: var(--warn); }
tr.probing td { background: var(--warn-bg); color: var(--warn); }
.state { font-weight: bold; }
.state.alive { color: var(--ok); }
.bar { display: flex; align-items: center; gap: .5rem; }
.track { width: 10rem; height: .7rem; border: 1px solid var(--line); border-radius: 2px; }
.fill { height: 100%; background: var(--bar); }
.success .fill { background: var(--ok); }
.success .fill.low, .load .fill.low { background: var(--bad); }
.bar span { min-width: 4.5rem; text-align: right; font-variant-numeric: tabular-nums; }
td.num { font-variant-numeric: tabular-nums; }
`;

// The browser side. It lives in a template literal: no backticks, backslashes or other
// interpolations inside; only the refresh interval is interpolated.
const SCRIPT = `
'use strict';
(() => {
  const REFRESH_MS = ${ADMIN_PAGE_REFRESH_MS};
  const token = new URLSearchParams(location.search).get('token');
  const here = location.pathname;
  const stateUrl = (here.endsWith('/') ? here : here + '/') + 'state.json';
  const root = document.getElementById('clients');
  const serversRoot = document.getElementById('servers');
  const statusLine = document.getElementById('status');
  let lastGood = null;

  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };
  const seconds = (ms) => (ms < 10000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000))) + ' s';
  const label = (accrual) => {
    if (!accrual) return 'off';
    if (accrual.state === 'alive') return 'alive';
    return accrual.state === 'dead' ? 'ejected' : 'probing';
  };

  const facts = (client) => {
    const line = el('p', 'facts');
    const add = (text, className) => line.append(el('span', className, text));
    const d = client.discovery;
    add('discovery ' + d.kind + ', ' + d.endpoints + ' endpoint' + (d.endpoints === 1 ? '' : 's') +
      ', updated ' + seconds(d.updatedAgoMs) + ' ago', d.kind === 'bound' ? '' : 'bad');
    if (d.stale) add('STALE' + (d.boundAgoMs === null ? '' : ': last confirmed ' + seconds(d.boundAgoMs) + ' ago'), 'warn');
    if (d.error) add('source error: ' + d.error, 'bad');
    if (d.reason) add(d.reason, d.kind === 'negative' ? 'bad' : 'warn');
    add(client.retryBudget === null ? 'retry budget off' : 'retry budget ' + client.retryBudget.toFixed(1));
    add(client.breaker === null ? 'breaker off' : 'breaker ' + client.breaker, client.breaker === 'open' ? 'bad' : client.breaker === 'half-open' ? 'warn' : '');
    if (client.hedge) add('hedges ' + client.hedge.won + '/' + client.hedge.sent + ' won, delay ' +
      (client.hedge.delayMs === null ? 'not yet known' : client.hedge.delayMs + ' ms'));
    if (client.throttle) add('throttle p(reject) ' + client.throttle.rejectionProbability.toFixed(3),
      client.throttle.rejectionProbability > 0 ? 'warn' : '');
    const ejected = client.endpoints.filter((e) => label(e.accrual) === 'ejected').length;
    add(ejected + ' of ' + client.endpoints.length + ' ejected', ejected > 0 ? 'bad' : '');
    return line;
  };

  // One line per discovery source: which one serves and since when, its state, counts, last error.
  const sources = (client) => {
    const list = el('ul', 'sources');
    for (const s of client.discovery.sources || []) {
      const item = el('li', s.serving ? 'source serving' : 'source');
      item.dataset.source = s.description;
      item.dataset.serving = String(s.serving);
      const add = (text, className) => item.append(el('span', className, text));
      add(s.description + ': ' + (s.serving ? 'serving for ' + seconds(s.servingForMs) : 'not serving') + ', ');
      add(s.kind, s.kind === 'failed' || s.kind === 'negative' ? 'bad' : '');
      if (s.stale) add(', STALE' + (s.staleForMs === null ? '' : ' for ' + seconds(s.staleForMs)), 'warn');
      add(', ' + s.updates + ' update' + (s.updates === 1 ? '' : 's') + ', ' + s.errors + ' error' + (s.errors === 1 ? '' : 's') +
        (s.updatedAgoMs === null ? ', no answer yet' : ', last ' + seconds(s.updatedAgoMs) + ' ago'));
      if (s.lastError) add(', last error: ' + s.lastError, s.kind === 'failed' ? 'bad' : '');
      list.append(item);
    }
    return list;
  };

  const HEAD = [['address'], ['status'], ['state'], ['in-flight', 'num'], ['cost'], ['EWMA', 'num'],
    ['success (30 s)'], ['weight', 'num'], ['ejections', 'num'], ['failures in a row', 'num']];

  // A bar in a track, and the figure beside it.
  const bar = (className, percent, fillClass, label) => {
    const box = el('div', 'bar ' + className);
    const track = el('div', 'track');
    const fill = el('div', fillClass);
    fill.style.width = percent.toFixed(1) + '%';
    track.append(fill);
    box.append(track, el('span', '', label));
    const cell = el('td');
    cell.append(box);
    return cell;
  };

  const table = (client) => {
    const unit = client.strategy.includes('ewma') ? ' ms' : '';
    const costs = client.endpoints.map((e) => (typeof e.cost === 'number' ? e.cost : 0));
    const maxCost = Math.max(0, ...costs);
    const t = el('table');
    const headRow = el('tr');
    for (const [name, className] of HEAD) headRow.append(el('th', className, name));
    const head = el('thead');
    head.append(headRow);
    t.append(head);
    const body = el('tbody');
    t.append(body);
    if (client.endpoints.length === 0) {
      const row = el('tr');
      const cell = el('td', 'muted', 'no endpoints');
      cell.colSpan = HEAD.length;
      body.append(row);
      row.append(cell);
    }
    for (const e of client.endpoints) {
      const state = label(e.accrual);
      const row = el('tr', state === 'ejected' || state === 'probing' ? state : '');
      row.dataset.address = e.address;
      row.dataset.state = state;
      row.append(el('td', 'address', e.address), el('td', 'status', e.status));
      let stateText = state;
      if (state === 'ejected' && e.accrual.ejectedForMs !== null) stateText += ' (' + seconds(e.accrual.ejectedForMs) + ' left)';
      row.append(el('td', 'state ' + state, stateText), el('td', 'num', e.pending));
      const value = typeof e.cost === 'number' ? e.cost : null;
      row.append(bar('cost', value !== null && maxCost > 0 ? (100 * value) / maxCost : 0, 'fill',
        value === null ? 'n/a' : value.toFixed(1) + unit));
      row.append(el('td', 'num ewma', typeof e.ewmaMs === 'number' ? e.ewmaMs.toFixed(1) + ' ms' : '-'));
      const rate = typeof e.successRate === 'number' ? e.successRate : null;
      row.append(bar('success', rate === null ? 0 : 100 * rate, rate !== null && rate < 0.9 ? 'fill low' : 'fill',
        rate === null ? 'no calls' : (100 * rate).toFixed(1) + '% of ' + e.attempts));
      row.append(el('td', 'num', e.weight));
      row.append(el('td', 'num', e.accrual ? e.accrual.ejections : '-'));
      row.append(el('td', 'num', e.accrual ? e.accrual.consecutiveFailures : '-'));
      body.append(row);
    }
    return t;
  };

  const SERVER_HEAD = [['server'], ['state'], ['in-flight', 'num'], ['limit', 'num'], ['algorithm'], ['load'],
    ['rejected: overload', 'num'], ['draining', 'num'], ['expired', 'num']];

  // The servers of the server half, one row each; nothing at all when there are none.
  const servers = (list) => {
    if (!list || list.length === 0) return [];
    const t = el('table', 'servers');
    const headRow = el('tr');
    for (const [name, className] of SERVER_HEAD) headRow.append(el('th', className, name));
    const head = el('thead');
    head.append(headRow);
    const body = el('tbody');
    t.append(head, body);
    for (const s of list) {
      const row = el('tr', s.draining ? 'draining' : '');
      row.dataset.server = s.name;
      row.append(el('td', 'name', s.name), el('td', 'state', s.draining ? 'draining' : 'serving'),
        el('td', 'num inflight', s.inflight), el('td', 'num limit', s.limit === null ? '-' : s.limit),
        el('td', 'algorithm', s.algorithm === null ? 'no limiter' : s.algorithm));
      if (s.limit === null || s.limit <= 0) row.append(el('td', 'muted load', '-'));
      else {
        const used = s.inflight / s.limit;
        row.append(bar('load', Math.min(100, 100 * used), used >= 1 ? 'fill low' : 'fill', (100 * used).toFixed(0) + '%'));
      }
      for (const reason of ['overload', 'draining', 'expired']) {
        row.append(el('td', 'num rejected ' + reason, s.rejected === null ? '-' : s.rejected[reason]));
      }
      body.append(row);
    }
    const section = el('section', 'servers');
    section.append(el('h2', '', 'servers'), t);
    return [section];
  };

  const render = (state) => {
    lastGood = state;
    serversRoot.replaceChildren(...servers(state.servers));
    const sections = state.clients.map((client) => {
      const section = el('section', 'client');
      section.dataset.client = client.name;
      const title = el('h2', '', client.name + ' ');
      // HTTP is the default: only another protocol is named.
      if (client.protocol !== null && client.protocol !== 'http') title.append(el('span', 'muted protocol', client.protocol + ' '));
      if (client.connectivity !== null) {
        title.append(el('span', client.connectivity === 'READY' ? 'connectivity' : 'connectivity warn', client.connectivity + ' '));
      }
      title.append(el('span', 'muted', client.strategy));
      section.append(title, facts(client), sources(client), table(client));
      return section;
    });
    if (sections.length === 0) sections.push(el('p', 'muted', 'no clients'));
    root.replaceChildren(...sections);
    statusLine.className = '';
    statusLine.textContent = 'updated ' + new Date(state.generatedAt).toLocaleTimeString() +
      ', refreshing every ' + REFRESH_MS / 1000 + ' s';
  };

  const showError = (error) => {
    statusLine.className = 'error';
    statusLine.textContent = String(error && error.message ? error.message : error) +
      (lastGood ? ' (showing ' + new Date(lastGood.generatedAt).toLocaleTimeString() + ')' : '') + '; retrying';
  };

  const refresh = () => {
    const headers = token ? { authorization: 'Bearer ' + token } : {};
    fetch(stateUrl, { headers, cache: 'no-store' })
      .then((res) => {
        if (res.status === 401) throw new Error('unauthorized (401): open this page with ?token=<token>');
        if (!res.ok) throw new Error('state.json answered HTTP ' + res.status);
        return res.json();
      })
      .then(render, (error) => showError(error instanceof TypeError ? new Error('admin endpoint unreachable') : error))
      .catch(showError)
      .finally(() => setTimeout(refresh, REFRESH_MS));
  };
  refresh();
})();
`;

const csp = (source: string): string => `'sha256-${createHash('sha256').update(source).digest('base64')}'`;

/** The page's Content-Security-Policy: only its own inline style and script, and fetches to itself. */
export const ADMIN_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${csp(SCRIPT)}`,
  `style-src ${csp(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The admin page's HTML. Served as is: it reads its token from its own `?token=`. */
export const ADMIN_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>weft admin</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>weft admin</h1>
<p id="status" role="status">loading...</p>
</header>
<main>
<div id="servers"></div>
<div id="clients"></div>
</main>
<noscript>This page needs JavaScript. The same data is served as JSON at state.json.</noscript>
<script>${SCRIPT}</script>
</body>
</html>
`;
