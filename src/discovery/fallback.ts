/**
 * The fallback resolver: choosing a trusted source. A primary discovery source and fallbacks,
 * used in order: the first source that can answer serves, and the resolver publishes the serving
 * source's states. A `failed` source is skipped (the next one is asked); a `negative` one is
 * authoritative and is not (the name does not exist: falling back would send traffic to a name
 * that was deleted), and neither is an empty `bound` one (the name exists, with no members).
 * When a source earlier in the list answers again, it serves again. It subscribes to every source
 * from its first subscriber on, so it sees the primary recover, and closes them all on close().
 *
 * A source that has not answered yet (`pending`) is waited for at start-up, for at most
 * `startupWaitMs` (default 5 000 ms, weft's choice), then skipped until it answers. Finagle's
 * `Alt` waits for a pending branch for as long as it stays pending (Namer.bind: `Activity.flatMap`
 * over a Pending head is Pending), so a primary that hangs without failing holds the name with
 * it; Linkerd 1 bounds a request's wait for a binding instead (`bindingTimeoutMs`, 10 s). weft
 * waits for the primary (a fallback is a worse answer, not an equal one), but less than the first
 * calls may wait themselves: 5 s is a third of weft's 15 s default total timeout, and longer than
 * a first DNS lookup takes with the DNS resolver's defaults (2 s × 2 tries).
 */
import { type Clock, realClock, type TimerHandle } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { ListenerSet, reportHookError } from '../core/events.js';
import { clockOption, optionKeys, rejectUnknownKeys } from '../core/options.js';
import type { EndpointSetListener, EndpointSetState, Resolver } from './resolver.js';
import type { SourceStatus } from './source-status.js';
import { SourceStatusTracker } from './source-status-tracker.js';

/** How long a source that has not answered yet is waited for at start-up (ms). */
export const DEFAULT_STARTUP_WAIT_MS = 5_000;

/** Options of {@link fallbackResolver}. */
export interface FallbackResolverOptions {
  /**
   * How long, from the first subscriber on, a source that has not answered yet is waited for
   * before the next one may serve; default 5 000 ms. `0` never waits (the first source to answer
   * serves until an earlier one answers); `Infinity` waits as Finagle's `Alt` does.
   */
  readonly startupWaitMs?: number;
  /** The resolver's description in errors and telemetry; default `fallback(<each source's>)`. */
  readonly description?: string;
  /** Clock for the start-up wait and the times in {@link Resolver.sources}; default the real clock. */
  readonly clock?: Clock;
}

/** The keys of {@link FallbackResolverOptions}; any other key throws a ConfigError naming `fallback.key`. */
export const FALLBACK_RESOLVER_OPTION_KEYS = optionKeys<FallbackResolverOptions>({
  startupWaitMs: true,
  description: true,
  clock: true,
});

/**
 * The `failed` state's error when no source can answer: every source failed, or has not answered
 * within the start-up wait. Its message names each source and what it last said; `errors` holds
 * the failed sources' errors, in the order of the sources.
 */
export class AllSourcesFailedError extends AggregateError {
  /** The description of every source, in order. */
  readonly sources: readonly string[];

  constructor(sources: readonly string[], errors: readonly Error[], message: string) {
    super(errors, message);
    this.name = 'AllSourcesFailedError';
    this.sources = sources;
  }
}

/**
 * A resolver over `sources`, tried in order (the first is the primary): the first source that is
 * not `failed` serves, and its states are published. Errors name `fallback.sources[i]` or the
 * option. The resolver owns its sources: close() closes them all.
 *
 * ```
 * source's state   at start-up, within startupWaitMs   later
 * bound            serves (even when empty)             serves (even when empty)
 * negative         serves: the name does not exist      serves: the name does not exist
 * failed           skipped                              skipped
 * pending          waited for                           skipped until it answers
 * ```
 *
 * When no source serves, it publishes `failed` with an {@link AllSourcesFailedError} once one of
 * the sources has failed (the client keeps the last set, stale), and stays `pending` otherwise.
 */
export function fallbackResolver(
  sources: readonly Resolver[],
  options: FallbackResolverOptions = {},
): Resolver {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new ConfigError('fallback', options, 'expected an object');
  rejectUnknownKeys('fallback', options, FALLBACK_RESOLVER_OPTION_KEYS);
  checkSources(sources);
  const startupWaitMs = options.startupWaitMs ?? DEFAULT_STARTUP_WAIT_MS;
  if (typeof startupWaitMs !== 'number' || Number.isNaN(startupWaitMs) || startupWaitMs < 0) {
    throw new ConfigError('fallback.startupWaitMs', startupWaitMs, 'expected a number >= 0 or Infinity');
  }
  const description = options.description ?? `fallback(${sources.map((s) => s.description).join(', ')})`;
  if (typeof description !== 'string' || description.length === 0)
    throw new ConfigError('fallback.description', description, 'expected a non-empty string');
  const clock = clockOption('fallback.clock', options.clock, realClock);
  return new FallbackResolver([...sources], description, startupWaitMs, clock);
}

function checkSources(sources: readonly Resolver[]): void {
  if (!Array.isArray(sources) || sources.length === 0)
    throw new ConfigError(
      'fallback.sources',
      sources,
      'expected a non-empty array of resolvers, primary first',
    );
  const seen = new Map<string, number>();
  sources.forEach((source: unknown, i) => {
    const option = `fallback.sources[${i}]`;
    const r = source as Partial<Resolver> | null;
    if (
      r === null ||
      typeof r !== 'object' ||
      typeof r.subscribe !== 'function' ||
      typeof r.close !== 'function' ||
      typeof r.description !== 'string' ||
      r.description.length === 0
    ) {
      throw new ConfigError(option, source, 'expected a resolver (description, subscribe, close)');
    }
    const first = seen.get(r.description);
    if (first !== undefined) {
      throw new ConfigError(
        option,
        r.description,
        `the description of sources[${first}] too: give each source its own description (metrics and the admin page tell sources apart by it)`,
      );
    }
    seen.set(r.description, i);
  });
}

const PENDING: EndpointSetState = Object.freeze({ kind: 'pending' });

/** Whether a state lets its source serve: an answer, even an empty or negative one. */
function answers(state: EndpointSetState): boolean {
  return state.kind === 'bound' || state.kind === 'negative';
}

class FallbackResolver implements Resolver {
  readonly description: string;
  readonly #sources: readonly Resolver[];
  readonly #trackers: readonly SourceStatusTracker[];
  /** Each source's last state: `pending` until it answers. */
  readonly #states: EndpointSetState[];
  readonly #unsubscribes: (() => void)[] = [];
  readonly #listeners: ListenerSet<EndpointSetState>;
  readonly #startupWaitMs: number;
  readonly #clock: Clock;
  /** What this resolver published last. */
  #state: EndpointSetState = PENDING;
  /** The index of the source whose set the client uses, -1 before any served. */
  #serving = -1;
  #servingSince: number | undefined;
  /** Whether a source that has not answered is still waited for (the start-up wait). */
  #waiting = true;
  #timer: TimerHandle | undefined;
  #started = false;
  /** True while subscribing to the sources: their first states are taken in before choosing. */
  #subscribing = false;
  #closed = false;

  constructor(sources: readonly Resolver[], description: string, startupWaitMs: number, clock: Clock) {
    this.description = description;
    this.#sources = sources;
    this.#trackers = sources.map((s) => new SourceStatusTracker(s.description));
    this.#states = sources.map(() => PENDING);
    this.#listeners = new ListenerSet(description);
    this.#startupWaitMs = startupWaitMs;
    this.#clock = clock;
  }

  subscribe(listener: EndpointSetListener): () => void {
    if (this.#closed) return () => {};
    const remove = this.#listeners.add(listener);
    if (!this.#started) {
      // The first choice is published to every listener, this one included.
      this.#start();
      return remove;
    }
    if (this.#state.kind !== 'pending') {
      try {
        listener(this.#state);
      } catch (error) {
        reportHookError(`a listener of ${this.description}`, error);
      }
    }
    return remove;
  }

  sources(): readonly SourceStatus[] {
    const now = this.#clock.now();
    return this.#trackers.map((tracker, i) =>
      tracker.status(i === this.#serving ? this.#servingSince : undefined, now),
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    let first: { error: unknown } | undefined;
    for (const unsubscribe of this.#unsubscribes.splice(0)) {
      try {
        unsubscribe();
      } catch (error) {
        first ??= { error };
      }
    }
    for (const source of this.#sources) {
      try {
        source.close();
      } catch (error) {
        first ??= { error };
      }
    }
    if (first !== undefined) throw first.error;
  }

  #start(): void {
    this.#started = true;
    if (this.#startupWaitMs === 0) this.#waiting = false;
    else if (Number.isFinite(this.#startupWaitMs)) {
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = undefined;
        this.#waiting = false;
        this.#choose(-1);
      }, this.#startupWaitMs);
    }
    this.#subscribing = true;
    this.#sources.forEach((source, i) => {
      try {
        this.#unsubscribes.push(source.subscribe((state) => this.#receive(i, state)));
      } catch (error) {
        this.#receive(i, {
          kind: 'failed',
          error: error instanceof Error ? error : new Error(String(error)),
        });
      }
    });
    this.#subscribing = false;
    this.#choose(-1);
  }

  /** Source `i` published `state`. A `pending` state says nothing new and is ignored. */
  #receive(i: number, state: EndpointSetState): void {
    if (this.#closed || state.kind === 'pending') return;
    this.#trackers[i]!.record(state, this.#clock.now());
    this.#states[i] = state;
    if (!this.#subscribing) this.#choose(i);
  }

  /**
   * Choose the serving source after source `changed` published a state (-1: the start, or the
   * end of the start-up wait) and publish what changed: the serving source's new state, a switch
   * to another source, or, when none serves, a `failed` state naming every source.
   */
  #choose(changed: number): void {
    const states = this.#states;
    let chosen = -1;
    for (let i = 0; i < states.length; i++) {
      const state = states[i]!;
      if (answers(state) || (state.kind === 'pending' && this.#waiting)) {
        chosen = i;
        break;
      }
    }
    if (chosen >= 0 && answers(states[chosen]!)) {
      if (chosen !== this.#serving) {
        this.#serving = chosen;
        this.#servingSince = this.#clock.now();
        this.#publish(states[chosen]!);
      } else if (changed === chosen) {
        this.#publish(states[chosen]!);
      }
      return;
    }
    // No source serves: the sources before `chosen` (all of them when none) have failed, or
    // have not answered within the start-up wait. `chosen`, if any, is still waited for.
    const skipped = chosen < 0 ? states.length : chosen;
    let anyFailed = false;
    for (let i = 0; i < skipped; i++) if (states[i]!.kind === 'failed') anyFailed = true;
    if (!anyFailed) return;
    if (changed === -1 || changed < skipped || this.#state.kind !== 'failed') {
      this.#publish({ kind: 'failed', error: this.#allFailed(skipped) });
    }
  }

  #allFailed(skipped: number): AllSourcesFailedError {
    const errors: Error[] = [];
    const parts: string[] = [];
    for (let i = 0; i < skipped; i++) {
      const state = this.#states[i]!;
      const name = this.#sources[i]!.description;
      if (state.kind === 'failed') {
        errors.push(state.error);
        parts.push(`${name} failed (${state.error.message || state.error.name})`);
      } else {
        parts.push(`${name} has not answered`);
      }
    }
    const waiting =
      skipped < this.#states.length ? `; waiting for ${this.#sources[skipped]!.description}` : '';
    return new AllSourcesFailedError(
      this.#sources.map((s) => s.description),
      errors,
      `no discovery source can answer: ${parts.join('; ')}${waiting}`,
    );
  }

  #publish(state: EndpointSetState): void {
    this.#state = state;
    this.#listeners.emit(state);
  }
}
