import { Registry } from 'prom-client';
import { it, expect } from 'vitest';
import { createHttpClient } from '../src/index.js';
import { prometheusMetrics } from '../src/prometheus.js';
it('leak', async () => {
  const registry = new Registry();
  const plugin = prometheusMetrics({ registry });
  expect(() => createHttpClient({ name: 'bad2', endpoints: ['127.0.0.1:1'], telemetry: plugin, stack: () => 5 as never })).toThrow();
  let err: unknown;
  try { console.log((await registry.metrics()).slice(0, 300)); } catch (e) { err = e; }
  console.log('scrape error:', err);
});
