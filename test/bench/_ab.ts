import { Pool } from 'undici';
import { Cancellation } from '../../src/core/cancellation.js';
import { createHttpClient } from '../../src/index.js';
import { startBackendProcess } from './backends.js';
import { median } from './stats.js';

const backend = await startBackendProcess({});
const C = 32,
  N = 4000;
async function loop(send: () => Promise<void>) {
  let started = 0;
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (started < N) {
        started++;
        await send();
      }
    }),
  );
  const c = process.cpuUsage(cpu0);
  return (c.user + c.system) / N;
}
const pool = new Pool(`http://${backend.address}`, { connections: C });
const mk = (o: any) => createHttpClient({ endpoints: [backend.address], connections: C, ...o });
const variants: Record<string, () => Promise<void>> = {
  raw: async () => {
    const r = await pool.request({ path: '/', method: 'GET' });
    await r.body.text();
  },
  rawCancellation: async () => {
    const r = await pool.request({ path: '/', method: 'GET', signal: new Cancellation() as any });
    await r.body.text();
  },
  rawHeader: async () => {
    const r = await pool.request({ path: '/', method: 'GET', headers: { 'weft-timeout-ms': '15000' } });
    await r.body.text();
  },
};
const clients: Record<string, any> = {
  bare: mk({
    timeoutMs: Infinity,
    stack: (s: any) => s.remove('deadline').remove('attempt'),
    endpointStack: (s: any) => s.remove('deadline-header'),
  }),
  noDeadline: mk({ timeoutMs: Infinity }),
  noHeader: mk({ propagateDeadline: false }),
  full: mk({}),
};
for (const [k, c] of Object.entries(clients))
  variants[k] = async () => {
    const r = await c.request({ path: '/' });
    await r.body.text();
  };
const samples: Record<string, number[]> = {};
for (const k of Object.keys(variants)) {
  await loop(variants[k]!);
  samples[k] = [];
}
for (let round = 0; round < 25; round++) {
  const keys = Object.keys(variants);
  if (round % 2) keys.reverse();
  for (const k of keys) samples[k]!.push(await loop(variants[k]!));
}
const base = median(samples.raw!);
for (const [k, v] of Object.entries(samples))
  console.log(k.padEnd(16), median(v).toFixed(2), 'µs', '+' + (median(v) - base).toFixed(2));
for (const c of Object.values(clients)) await c.close();
await pool.close();
await backend.stop();
