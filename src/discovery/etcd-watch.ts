/**
 * The list+watch loop of the etcd resolver, the Kubernetes reflector's pattern: list the prefix
 * (a full snapshot at revision R), watch from R + 1 and fold each event into the set, and on
 * anything that breaks the chain of revisions start over with a list. Each cycle:
 *
 * ```
 *   list ──ok──▶ publish bound ──▶ watch from R+1 ──events──▶ publish bound (loop)
 *    │                               │ compacted ─────────────▶ new cycle at once (re-list)
 *    │                               │ cycle timeout ─────────▶ new cycle at once (re-list)
 *    └──error──┬─────────────────────┘ error / stream ended / canceled
 *              ▼
 *        publish failed ──▶ next etcd endpoint ──▶ wait ReconnectBackoff ──▶ new cycle
 * ```
 *
 * Why a reconnect lists again rather than resuming the watch from the last revision seen: a
 * resume is only correct while etcd still has that history, and on etcd 3.4 a resume from
 * exactly the compaction revision can silently drop a DELETE (etcd-io/etcd#18089); a list costs
 * one range request of one service's keys and gives a snapshot that is right by construction
 * (linkerd2-proxy likewise turns the first update after a reconnect into a reset).
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { type Event, ListenerSet, reportHookError } from '../core/events.js';
import type { Endpoint } from './endpoint.js';
import { type EtcdGateway, type EtcdKeyValue, EtcdRequestError } from './etcd-gateway.js';
import { decodeInstanceValue } from './etcd-values.js';
import type { ReconnectBackoff } from './reconnect-backoff.js';
import type { EndpointSetListener, EndpointSetState, Resolver } from './resolver.js';

/** A key under the prefix whose value is not an endpoint, and why; the key is left out of the set. */
export interface EtcdSkippedKey {
  readonly key: string;
  readonly reason: string;
}

/** The resolver `etcdResolver` returns: a {@link Resolver} that also reports the keys it skips. */
export interface EtcdResolver extends Resolver {
  /** The keys under the prefix currently left out of the set because their value is not an endpoint, with why. */
  readonly skippedKeys: ReadonlyMap<string, string>;
  /** Called when a key is skipped: at a list, or when a watch event gives it a value that is not an endpoint. */
  readonly onSkippedKey: Event<EtcdSkippedKey>;
}

/** What the loop needs, validated (./etcd.ts). */
export interface EtcdWatchConfig {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly watchTimeoutMs: number;
  readonly backoff: ReconnectBackoff;
  readonly clock: Clock;
}

/** The reason a cycle's signal carries when the cycle ended on time (not a failure). */
const CYCLE_ENDED = 'the list+watch cycle reached watchTimeoutMs';

export class EtcdWatchResolver implements EtcdResolver {
  readonly description: string;
  readonly #config: EtcdWatchConfig;
  readonly #gateway: EtcdGateway;
  readonly #listeners: ListenerSet<EndpointSetState>;
  readonly #skippedListeners: ListenerSet<EtcdSkippedKey>;
  /** The endpoint of each instance key whose value decoded. */
  readonly #instances = new Map<string, Endpoint>();
  readonly #skipped = new Map<string, string>();
  #state: EndpointSetState = { kind: 'pending' };
  #endpointIndex = 0;
  #started = false;
  #closed = false;
  /** Aborts the running cycle's requests (close, cycle timeout). */
  #cycle: AbortController | undefined;
  /** Wakes the backoff wait early (close). */
  #wake: (() => void) | undefined;

  constructor(config: EtcdWatchConfig, gateway: EtcdGateway) {
    this.#config = config;
    this.#gateway = gateway;
    this.description = `etcd:${config.prefix}`;
    this.#listeners = new ListenerSet(this.description);
    this.#skippedListeners = new ListenerSet(`${this.description} onSkippedKey`);
  }

  get skippedKeys(): ReadonlyMap<string, string> {
    return this.#skipped;
  }

  readonly onSkippedKey: Event<EtcdSkippedKey> = (listener) =>
    this.#closed ? () => {} : this.#skippedListeners.add(listener);

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
      void this.#run();
    }
    return remove;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#skippedListeners.clear();
    this.#cycle?.abort(new Error(`${this.description} closed`));
    this.#wake?.();
  }

  async #run(): Promise<void> {
    const { endpoints, backoff } = this.#config;
    while (!this.#closed) {
      const endpoint = endpoints[this.#endpointIndex] ?? endpoints[0]!;
      try {
        await this.#cycleOnce(endpoint);
      } catch (error) {
        if (this.#closed) return;
        this.#publish({ kind: 'failed', error: error instanceof Error ? error : new Error(String(error)) });
        this.#endpointIndex = (this.#endpointIndex + 1) % endpoints.length;
        await this.#sleep(backoff.next());
      }
    }
  }

  /**
   * One cycle against `endpoint`: list, then watch until the watch is compacted or the cycle
   * times out (both return, for a new cycle at once). Throws on any failure.
   */
  async #cycleOnce(endpoint: string): Promise<void> {
    const { prefix, clock, watchTimeoutMs, backoff } = this.#config;
    const cycle = new AbortController();
    this.#cycle = cycle;
    let timer: TimerHandle | undefined;
    try {
      const list = await this.#gateway.range(endpoint, prefix, cycle.signal);
      if (this.#closed) return;
      this.#replaceAll(list.kvs);
      timer = clock.setTimeout(() => cycle.abort(CYCLE_ENDED), watchTimeoutMs);
      for await (const message of this.#gateway.watch(endpoint, prefix, list.revision + 1, cycle.signal)) {
        if (this.#closed) return;
        switch (message.kind) {
          case 'created':
            // The chain list → watch is complete: this endpoint works.
            backoff.reset();
            break;
          case 'events':
            for (const event of message.events) {
              if (event.type === 'put') this.#put(event.kv);
              else this.#delete(event.kv.key);
            }
            this.#publishSet();
            break;
          case 'progress':
            break;
          case 'compacted':
            return;
          case 'canceled':
            throw new EtcdRequestError(
              endpoint,
              'watch',
              `the server canceled the watch: ${message.reason || 'no reason given'}`,
            );
        }
      }
    } catch (error) {
      if (cycle.signal.aborted && cycle.signal.reason === CYCLE_ENDED) return;
      throw error;
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
      if (this.#cycle === cycle) this.#cycle = undefined;
    }
  }

  #replaceAll(kvs: readonly EtcdKeyValue[]): void {
    this.#instances.clear();
    const before = new Map(this.#skipped);
    this.#skipped.clear();
    for (const kv of kvs) this.#put(kv, before);
    this.#publishSet();
  }

  /** Decode one key's value into the set, or skip it; `before` holds the skips already reported. */
  #put(kv: EtcdKeyValue, before: ReadonlyMap<string, string> = this.#skipped): void {
    const decoded = decodeInstanceValue(kv.value);
    if (decoded.ok) {
      this.#instances.set(kv.key, decoded.endpoint);
      this.#skipped.delete(kv.key);
      return;
    }
    this.#instances.delete(kv.key);
    const reported = before.get(kv.key) === decoded.reason;
    this.#skipped.set(kv.key, decoded.reason);
    if (!reported) this.#skippedListeners.emit({ key: kv.key, reason: decoded.reason });
  }

  #delete(key: string): void {
    this.#instances.delete(key);
    this.#skipped.delete(key);
  }

  #publishSet(): void {
    this.#publish({ kind: 'bound', endpoints: Object.freeze([...this.#instances.values()]) });
  }

  #publish(state: EndpointSetState): void {
    if (this.#closed) return;
    this.#state = state;
    this.#listeners.emit(state);
  }

  /** Wait `ms` on the clock, or until close(). */
  #sleep(ms: number): Promise<void> {
    const { clock } = this.#config;
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clock.clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}
