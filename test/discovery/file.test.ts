/**
 * fileResolver on the real file system (temp directories, fs.watch on Linux/inotify): the file's
 * formats, an atomic save (tmp + rename) and a Kubernetes ConfigMap-style `..data` symlink swap
 * seen by the directory watch (the poll set to an hour, so only the watch can see them), a parse
 * error keeping the last set stale and the recovery, a file deleted and recreated, a missing
 * directory watched once it appears, the poll catching what a deaf watch misses, and close()
 * leaving no watcher behind. The debounce runs on the VirtualClock with an in-memory file system.
 */
import type { FSWatcher } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import { DiscoveredEndpoints, type EndpointSetSnapshot } from '../../src/discovery/endpoint-set.js';
import {
  createFileResolver,
  EndpointFileError,
  type FileResolverOptions,
  type FileSystemAccess,
  fileResolver,
  nodeFileSystem,
} from '../../src/discovery/file.js';
import { parseEndpointFile } from '../../src/discovery/file-schema.js';
import type { EndpointSetState } from '../../src/discovery/resolver.js';

const POLL_TIMEOUT_MS = 10_000;
const AN_HOUR = 3_600_000;

/** Poll `read` every 10 ms until `done` holds; fail after POLL_TIMEOUT_MS (no speed assertion). */
async function eventually<T>(read: () => T, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + POLL_TIMEOUT_MS;
  for (;;) {
    const value = read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const addresses = (state: EndpointSetSnapshot | EndpointSetState | undefined): string =>
  state !== undefined && 'endpoints' in state
    ? state.endpoints
        .map((e) => e.address)
        .sort()
        .join()
    : '';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-file-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

let tmpCount = 0;
/** An atomic save: write a temporary file beside the target, then rename it over. */
async function atomicWrite(path: string, content: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${tmpCount++}`;
  await writeFile(tmp, typeof content === 'string' ? content : JSON.stringify(content));
  await rename(tmp, path);
}

/** A resolver and its DiscoveredEndpoints, both closed after the test. */
function watched(options: FileResolverOptions, fs?: FileSystemAccess): DiscoveredEndpoints {
  const resolver = fs === undefined ? fileResolver(options) : createFileResolver(options, fs);
  const set = new DiscoveredEndpoints(resolver);
  cleanup.push(() => set.close());
  return set;
}

const until = (set: DiscoveredEndpoints, expected: string, what: string) =>
  eventually(
    () => set.current,
    (s) => s.kind === 'bound' && !s.stale && addresses(s) === expected,
    what,
  );

describe('fileResolver on the file system', () => {
  it('reads a list of "host:port" strings and objects with weight, zone and metadata', async () => {
    const dir = await tempDir();
    const path = join(dir, 'endpoints.json');
    await writeFile(
      path,
      JSON.stringify([
        '10.0.0.1:8080',
        '[fd00::1]:8080',
        { host: 'api-3.internal', port: 8081, weight: 2.5, zone: 'eu-1a', metadata: { canary: true } },
      ]),
    );
    const set = watched({ path, pollIntervalMs: AN_HOUR });
    expect(set.description).toBe(`file:${path}`);
    const ready = await set.ready();
    expect(ready.kind).toBe('bound');
    expect(ready.endpoints).toEqual([
      { address: '10.0.0.1:8080', host: '10.0.0.1', port: 8080, weight: 1 },
      { address: '[fd00::1]:8080', host: 'fd00::1', port: 8080, weight: 1 },
      {
        address: 'api-3.internal:8081',
        host: 'api-3.internal',
        port: 8081,
        weight: 2.5,
        zone: 'eu-1a',
        metadata: { canary: true },
      },
    ]);
  });

  it('reads the object form { "endpoints": [...] }', async () => {
    const dir = await tempDir();
    const path = join(dir, 'endpoints.json');
    await writeFile(path, JSON.stringify({ endpoints: ['10.0.0.1:80', { host: '10.0.0.2', port: 81 }] }));
    const set = watched({ path, pollIntervalMs: AN_HOUR });
    expect(addresses(await set.ready())).toBe('10.0.0.1:80,10.0.0.2:81');
  });

  it('sees atomic saves (tmp + rename), again and again, and in-place writes', async () => {
    const dir = await tempDir();
    const path = join(dir, 'endpoints.json');
    await writeFile(path, JSON.stringify(['10.0.0.1:80']));
    const set = watched({ path, debounceMs: 20, pollIntervalMs: AN_HOUR });
    expect(addresses(await set.ready())).toBe('10.0.0.1:80');
    await atomicWrite(path, ['10.0.0.2:80']);
    await until(set, '10.0.0.2:80', 'the first atomic save');
    // A watch on the file itself would be deaf from here on; the directory watch is not.
    await atomicWrite(path, ['10.0.0.3:80']);
    await until(set, '10.0.0.3:80', 'the second atomic save');
    await writeFile(path, JSON.stringify(['10.0.0.4:80']));
    await until(set, '10.0.0.4:80', 'an in-place write after the renames');
  });

  it('sees a Kubernetes ConfigMap-style update: the ..data symlink swapped to a new directory', async () => {
    const dir = await tempDir();
    // The kubelet's layout: <dir>/<key> → ..data/<key>, ..data → ..<timestamp>/ (atomic_writer.go).
    const publish = async (stamp: string, content: unknown, previous?: string) => {
      await mkdir(join(dir, stamp));
      await writeFile(join(dir, stamp, 'endpoints.json'), JSON.stringify(content));
      await symlink(stamp, join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      if (previous !== undefined) await rm(join(dir, previous), { recursive: true });
    };
    await publish('..2024_01_01_00_00_00.1', ['10.0.0.1:80']);
    await symlink(join('..data', 'endpoints.json'), join(dir, 'endpoints.json'));
    const set = watched({ path: join(dir, 'endpoints.json'), debounceMs: 20, pollIntervalMs: AN_HOUR });
    expect(addresses(await set.ready())).toBe('10.0.0.1:80');
    await publish('..2024_01_01_00_01_00.2', ['10.0.0.2:80', '10.0.0.3:80'], '..2024_01_01_00_00_00.1');
    await until(set, '10.0.0.2:80,10.0.0.3:80', 'the first ConfigMap swap');
    await publish('..2024_01_01_00_02_00.3', ['10.0.0.4:80'], '..2024_01_01_00_01_00.2');
    await until(set, '10.0.0.4:80', 'the second ConfigMap swap');
  });

  it('keeps the last set, stale, on a parse error naming the file and the JSON problem; recovers after the fix', async () => {
    const dir = await tempDir();
    const path = join(dir, 'endpoints.json');
    await writeFile(path, JSON.stringify(['10.0.0.1:80', '10.0.0.2:80']));
    const set = watched({ path, debounceMs: 20, pollIntervalMs: AN_HOUR });
    const good = await set.ready();
    await atomicWrite(path, '["10.0.0.3:80",');
    const stale = await eventually(
      () => set.current,
      (s) => s.stale,
      'the stale set after the parse error',
    );
    expect(stale.kind).toBe('bound');
    expect(stale.endpoints).toBe(good.endpoints);
    expect(stale.error).toBeInstanceOf(EndpointFileError);
    expect((stale.error as EndpointFileError).problem).toBe('json');
    expect(stale.error?.message).toContain(`endpoint file ${path}: invalid JSON:`);
    // Valid JSON that is not a list of endpoints is kept out the same way.
    await atomicWrite(path, [{ host: '10.0.0.3', port: '80' }]);
    const schema = await eventually(
      () => set.current,
      (s) => (s.error as EndpointFileError | undefined)?.problem === 'schema',
      'the schema error',
    );
    expect(schema.endpoints).toBe(good.endpoints);
    expect(schema.error?.message).toMatch(/endpoints\[0\]\.port: expected an integer port/);
    await atomicWrite(path, ['10.0.0.3:80']);
    await until(set, '10.0.0.3:80', 'the fixed file');
  });

  it('keeps the last set while the file is deleted, and reads it again when it is recreated', async () => {
    const dir = await tempDir();
    const path = join(dir, 'endpoints.json');
    await writeFile(path, JSON.stringify(['10.0.0.1:80']));
    const set = watched({ path, debounceMs: 20, pollIntervalMs: AN_HOUR });
    const good = await set.ready();
    await unlink(path);
    const stale = await eventually(
      () => set.current,
      (s) => s.stale,
      'the stale set after the delete',
    );
    expect(stale.endpoints).toBe(good.endpoints);
    expect(stale.error).toMatchObject({ name: 'EndpointFileError', problem: 'missing', code: 'ENOENT' });
    await writeFile(path, JSON.stringify(['10.0.0.2:80']));
    await until(set, '10.0.0.2:80', 'the recreated file');
  });

  it('reports a missing file as failed, and a missing directory is watched once it appears', async () => {
    const dir = await tempDir();
    const path = join(dir, 'later', 'endpoints.json');
    const set = watched({
      path,
      debounceMs: 20,
      pollIntervalMs: AN_HOUR,
      backoff: { baseMs: 20, maxMs: 50 },
    });
    const first = await set.ready();
    expect(first.kind).toBe('failed');
    expect(first.error?.message).toBe(`endpoint file ${path}: does not exist (ENOENT)`);
    await mkdir(join(dir, 'later'));
    // The watch is opened again after the backoff, and reads the file; writes after that are seen.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await atomicWrite(path, ['10.0.0.1:80']);
    await until(set, '10.0.0.1:80', 'the file in the new directory');
  });

  it('the poll catches a change the watch missed', async () => {
    const dir = await tempDir();
    const path = join(dir, 'endpoints.json');
    await writeFile(path, JSON.stringify(['10.0.0.1:80']));
    let watches = 0;
    const deaf: FileSystemAccess = {
      ...nodeFileSystem,
      watch: () => {
        watches++;
        return { close() {} };
      },
    };
    const set = watched({ path, debounceMs: 20, pollIntervalMs: 50 }, deaf);
    expect(addresses(await set.ready())).toBe('10.0.0.1:80');
    await atomicWrite(path, ['10.0.0.2:80']);
    await until(set, '10.0.0.2:80', 'the change found by the poll');
    expect(watches).toBe(1);
  });

  it('opens the watch again after it fails, and reads what changed meanwhile', async () => {
    const dir = await tempDir();
    const path = join(dir, 'endpoints.json');
    await writeFile(path, JSON.stringify(['10.0.0.1:80']));
    const real = nodeFileSystem;
    const fail: ((error: Error) => void)[] = [];
    let opened = 0;
    const fs: FileSystemAccess = {
      ...real,
      watch(d, onEvent, onError) {
        opened++;
        fail.push(onError);
        return real.watch(d, onEvent, onError);
      },
    };
    const set = watched(
      { path, debounceMs: 20, pollIntervalMs: AN_HOUR, backoff: { baseMs: 50, maxMs: 50 } },
      fs,
    );
    await set.ready();
    fail[0]?.(new Error('inotify went away'));
    await atomicWrite(path, ['10.0.0.2:80']);
    await until(set, '10.0.0.2:80', 'the change read after the watch reopened');
    await eventually(
      () => opened,
      (n) => n === 2,
      'the watch opened again',
    );
    await atomicWrite(path, ['10.0.0.3:80']);
    await until(set, '10.0.0.3:80', 'a change seen by the reopened watch');
  });

  it('close() closes the directory watch: no fs.watch handle is left', async () => {
    const dir = await tempDir();
    const path = join(dir, 'endpoints.json');
    await writeFile(path, JSON.stringify(['10.0.0.1:80']));
    // The resolver's watch is unref'd (it never keeps the process alive), so Node does not list it
    // as an active resource; the test refs it, which makes it visible until it is closed.
    const watchers: FSWatcher[] = [];
    const closed: boolean[] = [];
    const fs: FileSystemAccess = {
      ...nodeFileSystem,
      watch(d, onEvent, onError) {
        const watcher = nodeFileSystem.watch(d, onEvent, onError) as FSWatcher;
        watcher.ref();
        watcher.on('close', () => closed.push(true));
        watchers.push(watcher);
        return watcher;
      },
    };
    const watchHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
    const before = watchHandles();
    const resolver = createFileResolver({ path, debounceMs: 20, pollIntervalMs: AN_HOUR }, fs);
    const states: EndpointSetState[] = [];
    resolver.subscribe((state) => states.push(state));
    expect(watchers).toHaveLength(1);
    expect(watchHandles()).toBe(before + 1);
    await eventually(
      () => states.length,
      (n) => n === 1,
      'the first read',
    );
    resolver.close();
    await eventually(watchHandles, (n) => n === before, 'the watch handle to close');
    expect(closed).toEqual([true]);
    await atomicWrite(path, ['10.0.0.2:80']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(states).toHaveLength(1);
  });
});

/** An in-memory file system whose watch events the test fires, counting reads. */
class MemoryFileSystem implements FileSystemAccess {
  readonly files = new Map<string, string>();
  reads = 0;
  #version = 0;
  #onEvent: ((name: string | null) => void) | undefined;
  watchesOpen = 0;

  write(path: string, content: unknown): void {
    this.files.set(path, typeof content === 'string' ? content : JSON.stringify(content));
    this.#version++;
  }

  /** The watch reports `name` changed. */
  event(name: string | null): void {
    this.#onEvent?.(name);
  }

  watch(_dir: string, onEvent: (name: string | null) => void): { close(): void } {
    this.#onEvent = onEvent;
    this.watchesOpen++;
    return {
      close: () => {
        this.watchesOpen--;
        this.#onEvent = undefined;
      },
    };
  }

  readFile(path: string): Promise<string> {
    this.reads++;
    const text = this.files.get(path);
    return text === undefined
      ? Promise.reject(Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' }))
      : Promise.resolve(text);
  }

  directory(): Promise<string> {
    return Promise.resolve('dir');
  }

  identity(path: string): Promise<string> {
    return this.files.has(path) ? Promise.resolve(`${path}@${this.#version}`) : Promise.resolve(`dir@0`);
  }
}

describe('fileResolver timing (virtual clock, in-memory file system)', () => {
  const path = '/srv/weft/endpoints.json';

  function start(fs: MemoryFileSystem, options: Partial<FileResolverOptions> = {}) {
    const clock = new VirtualClock();
    const resolver = createFileResolver({ path, clock, ...options }, fs);
    const states: EndpointSetState[] = [];
    resolver.subscribe((state) => states.push(state));
    cleanup.push(() => resolver.close());
    return { clock, resolver, states };
  }

  it('gathers the events of one save into one read, 100 ms after the first event by default', async () => {
    const fs = new MemoryFileSystem();
    fs.write(path, ['10.0.0.1:80']);
    const { clock, states } = start(fs, { pollIntervalMs: AN_HOUR });
    await clock.advanceAsync(0);
    expect(fs.reads).toBe(1);
    fs.write(path, ['10.0.0.2:80']);
    for (const name of ['endpoints.json.tmp', 'endpoints.json', null, '..data', 'endpoints.json'])
      fs.event(name);
    await clock.advanceAsync(99);
    expect(fs.reads).toBe(1);
    await clock.advanceAsync(1);
    expect(fs.reads).toBe(2);
    expect(states.map(addresses)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
    // Events for other files in the directory are ignored.
    fs.event('other.json');
    fs.event('endpoints.json.tmp');
    await clock.advanceAsync(1_000);
    expect(fs.reads).toBe(2);
  });

  it('does not re-publish a file whose text did not change', async () => {
    const fs = new MemoryFileSystem();
    fs.write(path, ['10.0.0.1:80']);
    const { clock, states } = start(fs, { pollIntervalMs: AN_HOUR });
    await clock.advanceAsync(0);
    fs.write(path, ['10.0.0.1:80']); // touched, same text
    fs.event('endpoints.json');
    await clock.advanceAsync(100);
    expect(fs.reads).toBe(2);
    expect(states).toHaveLength(1);
  });

  it('polls every 10 s by default, reading only when the file changed', async () => {
    const fs = new MemoryFileSystem();
    fs.write(path, ['10.0.0.1:80']);
    const { clock, states } = start(fs);
    await clock.advanceAsync(0);
    await clock.advanceAsync(10_000);
    expect(fs.reads).toBe(1); // unchanged: no read
    fs.write(path, ['10.0.0.2:80']); // no watch event: only the poll can see it
    await clock.advanceAsync(9_999);
    expect(fs.reads).toBe(1);
    await clock.advanceAsync(1);
    await clock.advanceAsync(100); // the poll's re-read goes through the debounce
    expect(fs.reads).toBe(2);
    expect(states.map(addresses)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
  });

  it('close() clears every timer and closes the watch; later reads are dropped', async () => {
    const fs = new MemoryFileSystem();
    fs.write(path, ['10.0.0.1:80']);
    const { clock, resolver, states } = start(fs);
    await clock.advanceAsync(0);
    expect(fs.watchesOpen).toBe(1);
    fs.write(path, ['10.0.0.2:80']);
    fs.event('endpoints.json');
    resolver.close();
    resolver.close();
    expect(fs.watchesOpen).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    await clock.advanceAsync(60_000);
    expect(states).toHaveLength(1);
    expect(fs.reads).toBe(1);
  });
});

describe('the endpoint file format', () => {
  it.each<[string, RegExp]>([
    ['{"endpoints": [', /invalid JSON/],
    ['"10.0.0.1:80"', /the file: expected a list of endpoints, or an object/],
    ['{"endpoint": []}', /key "endpoint": expected a list of endpoints/],
    ['{"endpoints": {}}', /endpoints: expected a list/],
    ['["10.0.0.1"]', /endpoints\[0\]: expected "host:port"/],
    ['["::1:80"]', /endpoints\[0\]: expected "host:port" \(an IPv6 address needs brackets/],
    ['["10.0.0.1:0"]', /endpoints\[0\]: expected a port from 1 to 65535/],
    ['["10.0.0.1:80", 42]', /endpoints\[1\]: expected "host:port", "\[ipv6\]:port" or \{/],
    ['[{"host": "bad host", "port": 80}]', /endpoints\[0\]\.host: expected an IP address or a DNS host name/],
    [
      '[{"host": "10.0.0.1", "port": 80, "weight": 0}]',
      /endpoints\[0\]\.weight: expected a finite number > 0/,
    ],
    ['[{"host": "10.0.0.1", "port": 80, "zone": ""}]', /endpoints\[0\]\.zone: expected a non-empty string/],
    [
      '[{"host": "10.0.0.1", "port": 80, "metadata": {"a": [1]}}]',
      /endpoints\[0\]\.metadata\.a: expected a string/,
    ],
    ['[{"host": "10.0.0.1", "port": 80, "wieght": 2}]', /endpoints\[0\]\.wieght: unknown key/],
  ])('refuses %s', (text, message) => {
    let thrown: unknown;
    try {
      parseEndpointFile(text, '/etc/weft/api.json');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EndpointFileError);
    expect((thrown as Error).message).toMatch(/^endpoint file \/etc\/weft\/api\.json: /);
    expect((thrown as Error).message).toMatch(message);
  });

  it('accepts an empty list (the client then keeps its last set, stale)', () => {
    expect(parseEndpointFile('[]', '/x.json')).toEqual([]);
    expect(parseEndpointFile('{"endpoints": []}', '/x.json')).toEqual([]);
  });
});

describe('fileResolver options', () => {
  it.each<[Record<string, unknown>, string]>([
    [{ path: '' }, 'file.path'],
    [{ path: 42 }, 'file.path'],
    [{ path: '/etc/weft/' }, 'file.path'],
    [{ path: undefined }, 'file.path'],
    [{ path: '/x.json', debounceMs: 0 }, 'file.debounceMs'],
    [{ path: '/x.json', pollIntervalMs: -1 }, 'file.pollIntervalMs'],
    [{ path: '/x.json', backoff: { baseMs: 0 } }, 'file.backoff.baseMs'],
    [{ path: '/x.json', backoff: { base: 1 } }, 'file.backoff.base'],
    [{ path: '/x.json', clock: {} }, 'file.clock'],
    [{ path: '/x.json', file: '/y.json' }, 'file.file'],
  ])('rejects %j naming %s', (options, option) => {
    let thrown: unknown;
    try {
      fileResolver(options as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).option).toBe(option);
  });

  it('resolves a relative path against the working directory', () => {
    const resolver = fileResolver({ path: 'endpoints.json' });
    expect(resolver.description).toBe(`file:${join(process.cwd(), 'endpoints.json')}`);
    resolver.close();
  });
});
