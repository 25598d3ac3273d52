/**
 * Churn through a watched file under load: a real weft HTTP client whose resolver is fileResolver
 * sends a bounded stream of calls to five node:http backends on 127.0.0.1 while the file changes
 * step after step, alternately by atomic save (tmp + rename) and by a ConfigMap-style `..data`
 * symlink swap, with a half-written (unparsable) file and a deleted file in between. No call may
 * fail, endpoints that leave finish what they have in flight, and an endpoint that stays keeps its
 * history (its attempt count does not start over).
 */
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileResolver } from '../../src/discovery/file.js';
import { createHttpClient, type HttpClient } from '../../src/http/client.js';
import { Backends, replyAfter } from '../support/http-servers.js';

/** Bound of each wait; a step normally takes well under a second. */
const WAIT_MS = 15_000;
/** Bound of a whole churn test (its steps each wait at most WAIT_MS). */
const CHURN_TEST_TIMEOUT_MS = 60_000;

const backends = new Backends();
let client: HttpClient | undefined;
let dir: string | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  await backends.closeAll();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** `loops` concurrent call loops (bounded) until `during` settles; every failure is kept. */
async function underLoad(api: HttpClient, loops: number, during: () => Promise<void>) {
  let running = true;
  let ok = 0;
  const failures: unknown[] = [];
  const loop = async () => {
    for (let i = 0; running && i < 20_000; i++) {
      try {
        const res = await api.request({ path: '/' });
        await res.body.text();
        ok++;
      } catch (error) {
        failures.push(error);
      }
    }
  };
  const workers = Array.from({ length: loops }, loop);
  try {
    await during();
  } finally {
    running = false;
    await Promise.all(workers);
  }
  return { ok, failures };
}

describe('fileResolver churn under load', () => {
  it(
    'a file that changes step after step (renames, ..data swaps, a bad write, a delete) fails no call',
    async () => {
      const pool = await Promise.all([0, 1, 2, 3, 4].map(() => backends.start(replyAfter(3))));
      const root = await mkdtemp(join(tmpdir(), 'weft-file-churn-'));
      dir = root;
      const content = (set: readonly number[]) =>
        JSON.stringify({
          endpoints: set.map((i) => ({ host: '127.0.0.1', port: pool[i]!.port, weight: 1 + i })),
        });
      const addressesOf = (set: readonly number[]) => set.map((i) => pool[i]!.address).sort();

      // Two files: one saved atomically, one published the way the kubelet updates a ConfigMap volume.
      const plain = join(root, 'plain', 'endpoints.json');
      await mkdir(join(root, 'plain'));
      let saves = 0;
      const atomicSave = async (text: string) => {
        const tmp = `${plain}.tmp-${saves++}`;
        await writeFile(tmp, text);
        await rename(tmp, plain);
      };
      const configMap = join(root, 'configmap');
      await mkdir(configMap);
      let stamp = 0;
      let previous: string | undefined;
      /** Publish `text` as the new ConfigMap version; `null` publishes a version without the file. */
      const swap = async (text: string | null) => {
        const next = `..2024_01_01_00_00_${String(stamp++).padStart(2, '0')}`;
        await mkdir(join(configMap, next));
        if (text !== null) await writeFile(join(configMap, next, 'endpoints.json'), text);
        await symlink(next, join(configMap, '..data_tmp'));
        await rename(join(configMap, '..data_tmp'), join(configMap, '..data'));
        if (previous !== undefined) await rm(join(configMap, previous), { recursive: true });
        previous = next;
      };
      await swap(content([0, 1]));
      await symlink(join('..data', 'endpoints.json'), join(configMap, 'endpoints.json'));
      await atomicSave(content([0, 1]));

      for (const [label, path, write] of [
        ['atomic saves', plain, atomicSave],
        ['ConfigMap swaps', join(configMap, 'endpoints.json'), swap],
      ] as const) {
        // The poll is an hour: only the directory watch can see the changes.
        client = createHttpClient({
          resolver: fileResolver({ path, debounceMs: 20, pollIntervalMs: 3_600_000 }),
        });
        const api = client;
        const steps: (readonly number[] | 'garbage' | 'delete')[] = [
          [1, 2],
          [2, 3, 4],
          'garbage',
          [0, 4],
          'delete',
          [0, 1, 3],
          [0, 1, 2, 3, 4],
        ];
        const { ok, failures } = await underLoad(api, 6, async () => {
          await waitFor(() => api.endpoints().length === 2, `${label}: the first set`);
          let current: readonly number[] = [0, 1];
          for (const step of steps) {
            if (step === 'garbage' || step === 'delete') {
              // A half-written file, or none at all: the last set stays in use, stale.
              if (step === 'garbage') await write(content(current).slice(0, 20));
              else if (path === plain) await unlink(plain);
              else await swap(null);
              await waitFor(() => api.discovery().stale, `${label}: the stale set after ${step}`);
              const seen = current.map((i) => pool[i]!.seen.length);
              await waitFor(
                () => current.every((i, k) => pool[i]!.seen.length > seen[k]! + 5),
                `${label}: traffic after ${step}`,
              );
              continue;
            }
            const stays = current.filter((i) => step.includes(i)).map((i) => pool[i]!.address);
            const before = new Map(api.endpoints().map((e) => [e.address, e.attempts]));
            await write(content(step));
            await waitFor(
              () => {
                const now = api.discovery();
                return (
                  !now.stale &&
                  now.endpoints
                    .map((e) => e.address)
                    .sort()
                    .join() === addressesOf(step).join()
                );
              },
              `${label}: the set ${step.join(',')}`,
            );
            const after = new Map(api.endpoints().map((e) => [e.address, e.attempts]));
            for (const address of stays) {
              // A new node would start from 0 attempts; a kept one goes on counting.
              expect(after.get(address)).toBeGreaterThanOrEqual(before.get(address) ?? Number.NaN);
              expect(after.get(address)).toBeGreaterThan(0);
            }
            const seen = step.map((i) => pool[i]!.seen.length);
            await waitFor(
              () => step.every((i, k) => pool[i]!.seen.length > seen[k]!),
              `${label}: traffic to the set`,
            );
            current = step;
          }
        });
        expect({ label, failures }).toEqual({ label, failures: [] });
        expect(ok).toBeGreaterThan(100);
        expect(
          api
            .endpoints()
            .map((e) => e.weight)
            .sort((a, b) => a - b),
        ).toEqual([1, 2, 3, 4, 5]);
        await api.close();
        client = undefined;
      }
    },
    CHURN_TEST_TIMEOUT_MS,
  );

  it('a file missing at start-up makes the first calls wait; they go on once it appears, or fail naming the file', async () => {
    const backend = await backends.start(replyAfter(1));
    const root = await mkdtemp(join(tmpdir(), 'weft-file-start-'));
    dir = root;
    const path = join(root, 'endpoints.json');
    client = createHttpClient({
      resolver: fileResolver({ path, debounceMs: 20, pollIntervalMs: 3_600_000 }),
    });
    const api = client;
    const late = await api.request({ path: '/', timeoutMs: 100 }).catch((error: unknown) => error);
    const chain: string[] = [];
    for (
      let e = late as { message?: string; cause?: unknown } | undefined;
      e !== undefined;
      e = e.cause as never
    ) {
      chain.push(String(e.message));
    }
    expect(chain.join(' <- ')).toContain(`discovery (file:${path}) has failed and has no endpoint set yet`);
    expect(chain.join(' <- ')).toContain(`endpoint file ${path}: does not exist (ENOENT)`);
    const waiting = api.request({ path: '/', timeoutMs: 5_000 });
    await sleep(100);
    await writeFile(path, JSON.stringify([backend.address]));
    const res = await waiting;
    expect(await res.body.text()).toBe('ok');
    expect(backend.seen).toHaveLength(1);
  });
});
