/**
 * The watched file resolver: the endpoints listed in one JSON file (format: ./file-schema.ts),
 * re-read when it changes. It watches the file's DIRECTORY, not the file: a watch on the file goes
 * deaf after an atomic save (write a temporary file, rename it over) and never sees a Kubernetes
 * ConfigMap update, which swaps the `..data` symlink (research next-wave.md §B2, verified on
 * Linux/inotify; fsnotify/fsnotify#17, watchexec/watchexec#179). Events for the file's name or for
 * `..data` (or without a name) trigger a re-read after a debounce; a slow poll (`stat`) catches
 * what the watch misses (network file systems, some bind mounts, a replaced directory).
 *
 * Defaults: debounce 100 ms (the upper end of the 50–100 ms that §B2 suggests: an editor's save or
 * a ConfigMap swap is several file-system operations within milliseconds); poll every 10 s (the
 * interval of Java's polling WatchService at its default sensitivity, `SensitivityWatchEventModifier
 * .MEDIUM`: a safety net, one `stat` per interval); a watch that fails is opened again after the
 * shared ReconnectBackoff (full jitter, 500 ms doubling to 30 s).
 *
 * States: the file's endpoints → `bound` (an empty list → `bound([])`, which the client treats as
 * "keep the last set, stale"); a missing, unreadable, non-JSON or invalid file → `failed` with an
 * {@link EndpointFileError} naming the file and the problem, so the client keeps the last good
 * set, stale. Never `negative`: a file cannot say that a service does not exist, and a missing
 * file is far more often a deploy in progress or a mount not yet there than a decision.
 */
import { type FSWatcher, watch as fsWatch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Clock, TimerHandle } from '../core/clock.js';
import { ConfigError, errorCode } from '../core/errors.js';
import { ListenerSet, reportHookError } from '../core/events.js';
import { clockOption, objectOption, optionKeys, positiveNumber } from '../core/options.js';
import { EndpointFileError, parseEndpointFile } from './file-schema.js';
import { ReconnectBackoff, type ReconnectBackoffOptions } from './reconnect-backoff.js';
import type { EndpointSetListener, EndpointSetState, Resolver } from './resolver.js';

export {
  type EndpointFileContent,
  EndpointFileError,
  type EndpointFileProblem,
  type FileEndpoint,
} from './file-schema.js';

/** Time from the first change event to the re-read (ms). */
export const DEFAULT_FILE_DEBOUNCE_MS = 100;
/** Interval of the safety-net `stat` poll (ms). */
export const DEFAULT_FILE_POLL_INTERVAL_MS = 10_000;

/** The name Kubernetes gives the symlink it swaps when a ConfigMap or Secret volume changes. */
const CONFIGMAP_DATA_LINK = '..data';

/** Options of {@link fileResolver}. */
export interface FileResolverOptions {
  /** The JSON file listing the endpoints; relative paths are resolved against the working directory. */
  readonly path: string;
  /** Time from the first change event to the re-read, gathering the events of one save; default 100 ms. */
  readonly debounceMs?: number;
  /** Interval of the `stat` poll that catches changes the watch missed; default 10 000 ms. */
  readonly pollIntervalMs?: number;
  /** The backoff before a failed directory watch is opened again; default 500 ms doubling to 30 s, full jitter. */
  readonly backoff?: ReconnectBackoffOptions;
  /** Clock for the debounce, poll and backoff timers; default the real clock. */
  readonly clock?: Clock;
}

/** The keys of {@link FileResolverOptions}; any other key throws a ConfigError naming `file.key`. */
export const FILE_RESOLVER_OPTION_KEYS = optionKeys<FileResolverOptions>({
  path: true,
  debounceMs: true,
  pollIntervalMs: true,
  backoff: true,
  clock: true,
});

const BACKOFF_OPTION_KEYS = optionKeys<ReconnectBackoffOptions>({ baseMs: true, maxMs: true, random: true });

/**
 * The file-system calls the resolver makes. For tests only (a watch that never fires, a watch that
 * fails); the default is node:fs. Not part of the package's public API.
 * @internal
 */
export interface FileSystemAccess {
  /** Watch `dir`; `onEvent` gets the changed entry's name (null when the platform gives none). Throws if it cannot. */
  watch(
    dir: string,
    onEvent: (name: string | null) => void,
    onError: (error: Error) => void,
  ): { close(): void };
  readFile(path: string): Promise<string>;
  /** A string that changes when the entry at `path` (symlinks followed) changes. Rejects like fs.stat. */
  identity(path: string): Promise<string>;
  /** Which directory `path` is (device and inode, symlinks followed): changes only when it is replaced. */
  directory(path: string): Promise<string>;
}

/**
 * A resolver for the endpoints listed in the JSON file `options.path`. The first subscriber starts
 * the directory watch, the first read and the poll; `close()` stops them all.
 *
 * - the file read and valid → `bound` (re-published only when the text changes);
 * - missing, unreadable, not JSON, not a valid list → `failed` with an {@link EndpointFileError}:
 *   the client keeps the last good set, stale, and recovers at the next valid read;
 * - never `negative`.
 *
 * Options are validated up front; errors name them, e.g. `file.path`.
 */
export function fileResolver(options: FileResolverOptions): Resolver {
  return createFileResolver(options);
}

/**
 * {@link fileResolver} with the file-system access replaced. For tests only; not exported from
 * the package entries.
 * @internal
 */
export function createFileResolver(
  options: FileResolverOptions,
  fs: FileSystemAccess = nodeFileSystem,
): Resolver {
  return new WatchedFileResolver(validateFileOptions(options), fs);
}

interface FileConfig {
  readonly path: string;
  readonly dir: string;
  readonly name: string;
  readonly debounceMs: number;
  readonly pollIntervalMs: number;
  readonly backoff: ReconnectBackoff;
  readonly clock: Clock;
}

class WatchedFileResolver implements Resolver {
  readonly description: string;
  readonly #config: FileConfig;
  readonly #fs: FileSystemAccess;
  readonly #listeners: ListenerSet<EndpointSetState>;
  #state: EndpointSetState = { kind: 'pending' };
  #started = false;
  #closed = false;
  #watcher: { close(): void } | undefined;
  /** The watched directory's identity, learnt just after the watch opened. */
  #watchedDir: string | undefined;
  #reopenTimer: TimerHandle | undefined;
  #debounceTimer: TimerHandle | undefined;
  #pollTimer: TimerHandle | undefined;
  #reading = false;
  #readAgain = false;
  /** The file's identity at the last read (or the error code), for the poll to compare. */
  #lastIdentity: string | undefined;
  /** The text behind the current `bound` state, so an unchanged file is not re-published. */
  #lastText: string | undefined;

  constructor(config: FileConfig, fs: FileSystemAccess) {
    this.#config = config;
    this.#fs = fs;
    this.description = `file:${config.path}`;
    this.#listeners = new ListenerSet(this.description);
  }

  subscribe(listener: EndpointSetListener): () => void {
    if (this.#closed) return () => {};
    const remove = this.#listeners.add(listener);
    if (this.#state.kind !== 'pending') {
      try {
        listener(this.#state);
      } catch (error) {
        reportHookError(`a listener of ${this.description}`, error);
      }
    }
    if (!this.#started) {
      this.#started = true;
      this.#openWatch();
      void this.#read();
      this.#schedulePoll();
    }
    return remove;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const { clock } = this.#config;
    for (const timer of [this.#reopenTimer, this.#debounceTimer, this.#pollTimer]) {
      if (timer !== undefined) clock.clearTimeout(timer);
    }
    this.#reopenTimer = this.#debounceTimer = this.#pollTimer = undefined;
    this.#closeWatch();
    this.#listeners.clear();
  }

  /** Watch the directory; on failure, try again after the backoff. */
  #openWatch(): void {
    this.#reopenTimer = undefined;
    if (this.#closed) return;
    const { dir, name, backoff, clock } = this.#config;
    try {
      const watcher = this.#fs.watch(
        dir,
        (entry) => {
          if (entry === null || entry === name || entry === CONFIGMAP_DATA_LINK) this.#trigger();
        },
        () => this.#watchFailed(),
      );
      this.#watcher = watcher;
      this.#watchedDir = undefined;
      this.#fs.directory(dir).then(
        (identity) => {
          if (this.#watcher === watcher) this.#watchedDir ??= identity;
        },
        () => {},
      );
    } catch {
      this.#watcher = undefined;
      const timer = clock.setTimeout(() => this.#reopenAndRead(), backoff.next());
      timer.unref?.();
      this.#reopenTimer = timer;
    }
  }

  /** Open the watch again; if it opened, read now: changes made while it was down were not seen. */
  #reopenAndRead(): void {
    this.#openWatch();
    if (this.#watcher !== undefined) {
      this.#config.backoff.reset();
      this.#trigger();
    }
  }

  #watchFailed(): void {
    if (this.#closed) return;
    this.#closeWatch();
    if (this.#reopenTimer !== undefined) return;
    const timer = this.#config.clock.setTimeout(() => this.#reopenAndRead(), this.#config.backoff.next());
    timer.unref?.();
    this.#reopenTimer = timer;
    this.#trigger();
  }

  #closeWatch(): void {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    this.#watchedDir = undefined;
    try {
      watcher?.close();
    } catch {
      // already closed
    }
  }

  /** Re-read after the debounce; events during the debounce join this read. */
  #trigger(): void {
    if (this.#closed || this.#debounceTimer !== undefined) return;
    const timer = this.#config.clock.setTimeout(() => {
      this.#debounceTimer = undefined;
      void this.#read();
    }, this.#config.debounceMs);
    timer.unref?.();
    this.#debounceTimer = timer;
  }

  async #read(): Promise<void> {
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = true;
    const { path } = this.#config;
    let identity: string;
    let state: EndpointSetState | undefined;
    try {
      identity = await this.#fs.identity(path);
      const text = await this.#fs.readFile(path);
      if (text === this.#lastText && this.#state.kind === 'bound') {
        state = undefined; // unchanged: nothing to publish
      } else {
        state = { kind: 'bound', endpoints: parseEndpointFile(text, path) };
        this.#lastText = text;
      }
    } catch (error) {
      identity = `error:${errorCode(error) ?? 'unknown'}`;
      state = { kind: 'failed', error: fileError(path, error) };
    }
    this.#reading = false;
    if (this.#closed) return;
    this.#lastIdentity = identity;
    if (state !== undefined) {
      if (state.kind !== 'bound') this.#lastText = undefined;
      this.#state = state;
      this.#listeners.emit(state);
    }
    if (this.#readAgain) {
      this.#readAgain = false;
      this.#trigger();
    }
  }

  #schedulePoll(): void {
    if (this.#closed) return;
    const timer = this.#config.clock.setTimeout(() => void this.#poll(), this.#config.pollIntervalMs);
    timer.unref?.();
    this.#pollTimer = timer;
  }

  /** The safety net: re-read if the file's identity changed; re-watch a replaced directory. */
  async #poll(): Promise<void> {
    this.#pollTimer = undefined;
    const { path, dir } = this.#config;
    const [file, directory] = await Promise.all([
      this.#fs.identity(path).catch((error: unknown) => `error:${errorCode(error) ?? 'unknown'}`),
      this.#fs.directory(dir).catch(() => undefined),
    ]);
    if (this.#closed) return;
    if (this.#watcher !== undefined && directory !== undefined) {
      if (this.#watchedDir === undefined) this.#watchedDir = directory;
      else if (this.#watchedDir !== directory) {
        // The directory was replaced: the watch is on the old one and hears nothing.
        this.#closeWatch();
        this.#openWatch();
      }
    } else if (this.#watcher === undefined && this.#reopenTimer === undefined) {
      this.#openWatch();
    }
    if (file !== this.#lastIdentity) this.#trigger();
    this.#schedulePoll();
  }
}

function fileError(path: string, error: unknown): Error {
  if (error instanceof EndpointFileError) return error;
  const code = errorCode(error);
  if (code === 'ENOENT')
    return new EndpointFileError(path, 'missing', 'does not exist (ENOENT)', code, error);
  const reason = error instanceof Error ? error.message : String(error);
  return new EndpointFileError(path, 'unreadable', `cannot be read: ${reason}`, code, error);
}

/**
 * The default {@link FileSystemAccess}: node:fs. Exported for tests that wrap it.
 * @internal
 */
export const nodeFileSystem: FileSystemAccess = {
  watch(dir, onEvent, onError) {
    // persistent: false, as weft's timers are unref'd: the watch never keeps the process alive.
    const watcher: FSWatcher = fsWatch(dir, { persistent: false }, (_event, entry) => onEvent(entry));
    watcher.on('error', onError);
    return watcher;
  },
  readFile: (path) => readFile(path, 'utf8'),
  async identity(path) {
    const s = await stat(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  },
  async directory(path) {
    const s = await stat(path);
    return `${s.dev}:${s.ino}`;
  },
};

function validateFileOptions(options: FileResolverOptions): FileConfig {
  const raw = objectOption<FileResolverOptions>('file', options, FILE_RESOLVER_OPTION_KEYS);
  const given = raw.path;
  if (typeof given !== 'string' || given.length === 0 || given.includes('\0')) {
    throw new ConfigError('file.path', given, 'expected a non-empty path to a JSON file');
  }
  const path = resolve(given);
  const name = basename(path);
  if (given.endsWith('/') || name.length === 0) {
    throw new ConfigError('file.path', given, 'expected the path of a file, not of a directory');
  }
  const debounceMs = positiveNumber('file.debounceMs', raw.debounceMs, DEFAULT_FILE_DEBOUNCE_MS);
  const pollIntervalMs = positiveNumber(
    'file.pollIntervalMs',
    raw.pollIntervalMs,
    DEFAULT_FILE_POLL_INTERVAL_MS,
  );
  const backoffOptions = objectOption<ReconnectBackoffOptions>(
    'file.backoff',
    raw.backoff,
    BACKOFF_OPTION_KEYS,
  );
  const backoff = new ReconnectBackoff(backoffOptions, 'file.backoff');
  const clock = clockOption('file.clock', raw.clock);
  return { path, dir: dirname(path), name, debounceMs, pollIntervalMs, backoff, clock };
}
