/**
 * metrics-update: what the call metrics cost per call on the hot path, weft's own counters
 * against prom-client's metric objects, for the reason given in
 * src/telemetry/prometheus/histogram.ts. A developer's tool, not a scenario of `npm run bench`:
 *
 *   npx tsx test/bench/micro/metrics-update.ts [--calls N] [--rounds R]
 *
 * Each variant counts what weft counts for one call with one attempt: the call by class (a
 * counter and a latency histogram, labels `client`, `class`) and the attempt by endpoint (a
 * counter with `client`, `endpoint`, `class`, a histogram with `client`, `endpoint`), over 8
 * endpoints and the four classes in turn:
 *
 *   weft ClientMetrics         callFinished + attemptFinished of src/telemetry/prometheus/client-metrics.ts
 *   prom-client, labels        Counter.inc(labels) and Histogram.observe(labels, v), as documented
 *   prom-client, children      the same through `labels(...)` children made once and kept
 *
 * Rounds interleave the variants after a warm-up; the figure is the median ns per call. No clock
 * is read inside the timed loop but around a whole round.
 */
import { parseArgs } from 'node:util';
import { Counter, Histogram, Registry } from 'prom-client';
import type { ObservedClient } from '../../../src/client/telemetry.js';
import { failure, type ResponseClass, retryable, SUCCESS } from '../../../src/core/classification.js';
import { CallContext } from '../../../src/core/context.js';
import { createEndpoint } from '../../../src/discovery/endpoint.js';
import { ClientMetrics } from '../../../src/telemetry/prometheus/client-metrics.js';
import { DEFAULT_BUCKETS } from '../../../src/telemetry/prometheus/options.js';
import { median, round } from '../stats.js';

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '9' } },
});
const CALLS = Number(values.calls);
const ROUNDS = Number(values.rounds);

const ENDPOINTS = Array.from({ length: 8 }, (_, i) => createEndpoint('10.0.0.1', 8000 + i));
const CLASSES: readonly ResponseClass[] = [SUCCESS, failure('status 500'), retryable('status 503'), SUCCESS];

/** One call's inputs, made before timing so that every variant counts the same calls. */
interface Call {
  readonly ctx: CallContext;
  readonly endpoint: (typeof ENDPOINTS)[number];
  readonly className: string;
  readonly durationMs: number;
}

const calls: Call[] = Array.from({ length: 1024 }, (_, i) => {
  const ctx = new CallContext('orders');
  ctx.classification = CLASSES[i % CLASSES.length];
  ctx.callStart = 0;
  ctx.attemptEnd = 1 + (i % 50);
  return {
    ctx,
    endpoint: ENDPOINTS[i % ENDPOINTS.length]!,
    className: ctx.classification!.kind,
    durationMs: ctx.attemptEnd,
  };
});

function weftVariant(): (call: Call) => void {
  const client: ObservedClient = {
    name: 'orders',
    strategy: 'p2c-peak-ewma',
    endpoints: () => ENDPOINTS.map((e) => ({ address: e.address, status: 'open', pending: 0, cost: 0 })),
    discovery: () => ({ kind: 'bound', endpoints: ENDPOINTS, stale: false, updatedAt: 0 }),
    retryBudget: { balance: () => 0 },
  };
  const metrics = new ClientMetrics(client, true, DEFAULT_BUCKETS, new Set());
  return (call) => {
    metrics.callStarted();
    metrics.attemptFinished(call.ctx, call.endpoint, false, undefined, call.durationMs);
    metrics.callFinished(call.ctx, false, undefined);
  };
}

function promClientMetrics() {
  const registers = [new Registry()];
  const requests = new Counter({ name: 'r', help: 'r', labelNames: ['client', 'class'], registers });
  const requestLatency = new Histogram({
    name: 'rl',
    help: 'rl',
    labelNames: ['client', 'class'],
    buckets: DEFAULT_BUCKETS,
    registers,
  });
  const attempts = new Counter({
    name: 'a',
    help: 'a',
    labelNames: ['client', 'endpoint', 'class'],
    registers,
  });
  const attemptLatency = new Histogram({
    name: 'al',
    help: 'al',
    labelNames: ['client', 'endpoint'],
    buckets: DEFAULT_BUCKETS,
    registers,
  });
  return { requests, requestLatency, attempts, attemptLatency };
}

function promClientLabelsVariant(): (call: Call) => void {
  const m = promClientMetrics();
  return (call) => {
    const seconds = call.durationMs / 1000;
    m.attempts.inc({ client: 'orders', endpoint: call.endpoint.address, class: call.className });
    m.attemptLatency.observe({ client: 'orders', endpoint: call.endpoint.address }, seconds);
    m.requests.inc({ client: 'orders', class: call.className });
    m.requestLatency.observe({ client: 'orders', class: call.className }, seconds);
  };
}

function promClientChildrenVariant(): (call: Call) => void {
  const m = promClientMetrics();
  const key = (...parts: string[]) => parts.join('\u0000');
  const children = new Map<string, { inc(): void } | { observe(v: number): void }>();
  const child = <T>(k: string, make: () => T): T => {
    let c = children.get(k) as T | undefined;
    if (c === undefined) {
      c = make();
      children.set(k, c as never);
    }
    return c;
  };
  // Made once, as an application that caches its children would.
  for (const e of ENDPOINTS) {
    child(key('al', e.address), () => m.attemptLatency.labels('orders', e.address));
    for (const cls of ['success', 'failure', 'retryable'])
      child(key('a', e.address, cls), () => m.attempts.labels('orders', e.address, cls));
  }
  for (const cls of ['success', 'failure', 'retryable']) {
    child(key('r', cls), () => m.requests.labels('orders', cls));
    child(key('rl', cls), () => m.requestLatency.labels('orders', cls));
  }
  const byCall = calls.map((call) => ({
    attempt: children.get(key('a', call.endpoint.address, call.className)) as { inc(): void },
    attemptLatency: children.get(key('al', call.endpoint.address)) as { observe(v: number): void },
    request: children.get(key('r', call.className)) as { inc(): void },
    requestLatency: children.get(key('rl', call.className)) as { observe(v: number): void },
  }));
  let i = 0;
  return (call) => {
    const c = byCall[i++ & (calls.length - 1)]!;
    const seconds = call.durationMs / 1000;
    c.attempt.inc();
    c.attemptLatency.observe(seconds);
    c.request.inc();
    c.requestLatency.observe(seconds);
  };
}

const variants: Array<[string, (call: Call) => void]> = [
  ['weft ClientMetrics', weftVariant()],
  ['prom-client, labels', promClientLabelsVariant()],
  ['prom-client, children', promClientChildrenVariant()],
];

function round1(count: (call: Call) => void, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) count(calls[i & (calls.length - 1)]!);
  return Number(process.hrtime.bigint() - start) / n;
}

for (const [, count] of variants) round1(count, Math.min(CALLS, 50_000)); // warm-up
const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, count] of variants) samples.get(name)!.push(round1(count, CALLS));
}
console.log(`metrics-update: ns per call (one call, one attempt), median of ${ROUNDS} rounds of ${CALLS}`);
for (const [name, ns] of samples) console.log(`  ${name.padEnd(24)} ${round(median(ns), 1)}`);
