/**
 * The DNS SRV resolver (RFC 2782): the SRV records of one name (`_service._proto.domain`), each
 * target resolved to its A and/or AAAA records, published as endpoints with the record's port, a
 * weight from the record's weight and the record's priority in `metadata.priority`.
 *
 * - Priorities: by default only the lowest-numbered priority group with a resolvable target is
 *   published (RFC 2782: a client MUST try the lowest priority it can reach; weft's balancer has
 *   no priority groups yet, so publishing every group would send traffic to the backups);
 *   `priorities: 'all'` publishes every group, each endpoint tagged with its priority.
 * - Weights: an SRV weight w > 0 gives the record's endpoints w, shared equally among the target's
 *   addresses; weight 0 ("a very small chance of being selected", RFC 2782) gives 1/100 of the
 *   smallest non-zero weight of its priority group (weft's choice), and a group whose weights are
 *   all 0 gets weight 1 throughout (equal chances).
 * - Refresh: SRV answers carry no TTL through node:dns (`resolveSrv` has no `ttl` option), so the
 *   next lookup comes after clamp(lowest TTL of the target lookups, minRefreshMs, maxRefreshMs):
 *   the bounds of ./dns.ts (1 s, 30 s). After a failure, a negative answer or a target that
 *   failed: the shared ReconnectBackoff (full jitter), from minRefreshMs doubling to maxRefreshMs.
 * - States: records → `bound`; NXDOMAIN, NODATA, no records, or only the target "." ("service
 *   decidedly not available", RFC 2782) → `negative`; an SRV query error (timeout, refused,
 *   SERVFAIL) or no target resolving at all → `failed` with a {@link DnsSrvLookupError}. Targets
 *   that fail while others resolve are left out; the others are published.
 * Family 4 by default; queries 2 s × 2 tries, as ./dns.ts.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { ConfigError, errorCode } from '../core/errors.js';
import { ListenerSet, reportHookError } from '../core/events.js';
import { objectOption, oneOf, optionKeys } from '../core/options.js';
import type { DnsLookup } from './dns.js';
import {
  ABSENT_CODES,
  createNodeDnsResolver,
  DnsLookupError,
  type DnsQueryConfig,
  ttlRefreshDelay,
  validateDnsQueryOptions,
} from './dns-common.js';
import { createEndpoint, type Endpoint } from './endpoint.js';
import { validateHostname } from './hostname.js';
import { ReconnectBackoff, type ReconnectBackoffOptions } from './reconnect-backoff.js';
import type { EndpointSetListener, EndpointSetState, Resolver } from './resolver.js';

/** An SRV weight of 0 becomes this share of the smallest non-zero weight of its priority group. */
export const SRV_ZERO_WEIGHT_SHARE = 0.01;

/** Options of {@link dnsSrvResolver}. */
export interface DnsSrvResolverOptions {
  /** The SRV name to resolve, e.g. `_http._tcp.api.internal`. */
  readonly name: string;
  /** Which records each target is resolved to: `4` (A, default), `6` (AAAA) or `'any'` (both). */
  readonly family?: 4 | 6 | 'any';
  /**
   * `'lowest'` (default): publish only the lowest-numbered priority group that has a resolvable
   * target (RFC 2782's order); `'all'`: every group, each endpoint with `metadata.priority`.
   */
  readonly priorities?: 'lowest' | 'all';
  /** Name servers as `ip`, `ip:port` or `[ipv6]:port` (node:dns `Resolver.setServers`); default: the system's. */
  readonly servers?: readonly string[];
  /** Lower bound of the refresh interval, and the first retry ceiling after a failure; default 1000 ms. */
  readonly minRefreshMs?: number;
  /** Upper bound of the refresh interval and of the retry backoff; default max(30000 ms, minRefreshMs). */
  readonly maxRefreshMs?: number;
  /** Per-try query timeout of the node:dns Resolver; default 2000 ms. */
  readonly timeoutMs?: number;
  /** Tries per name server of the node:dns Resolver; default 2. */
  readonly tries?: number;
  /**
   * The retry backoff after a failed or negative answer (full jitter); default
   * `{ baseMs: minRefreshMs, maxMs: maxRefreshMs }`.
   */
  readonly backoff?: ReconnectBackoffOptions;
  /** Clock for the refresh timers; default the real clock. */
  readonly clock?: Clock;
}

/** The keys of {@link DnsSrvResolverOptions}; any other key throws a ConfigError naming `dnsSrv.key`. */
export const DNS_SRV_RESOLVER_OPTION_KEYS = optionKeys<DnsSrvResolverOptions>({
  name: true,
  family: true,
  priorities: true,
  servers: true,
  minRefreshMs: true,
  maxRefreshMs: true,
  timeoutMs: true,
  tries: true,
  backoff: true,
  clock: true,
});

const BACKOFF_OPTION_KEYS = optionKeys<ReconnectBackoffOptions>({ baseMs: true, maxMs: true, random: true });

/**
 * An SRV lookup that failed: the SRV query itself (timeout, refused, SERVFAIL...), or every
 * target's address lookup, so that no endpoint could be built.
 */
export class DnsSrvLookupError extends Error {
  /** The node:dns code of the SRV query, or of the first target lookup that failed. */
  readonly code: string;
  /** The SRV name asked, e.g. `_http._tcp.api.internal`. */
  readonly srvName: string;
  /** The target lookups that failed (empty when the SRV query failed). */
  readonly targetErrors: readonly DnsLookupError[];

  constructor(
    srvName: string,
    code: string,
    message: string,
    targetErrors: readonly DnsLookupError[],
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'DnsSrvLookupError';
    this.code = code;
    this.srvName = srvName;
    this.targetErrors = targetErrors;
  }
}

/** One SRV record as node:dns `resolveSrv` returns it (target `''` for "."). @internal */
export interface SrvAnswer {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/**
 * How the resolver asks DNS. For tests only (deterministic answers on a virtual clock); the
 * default wraps node:dns `promises.Resolver`. Not part of the package's public API.
 * @internal
 */
export interface DnsSrvLookup extends DnsLookup {
  /** The SRV records of `name`; rejects with a node:dns error (`code`). */
  resolveSrv(name: string): Promise<readonly SrvAnswer[]>;
}

/**
 * A resolver for the SRV records of `options.name` (RFC 2782). The first subscriber starts
 * resolution; it repeats until `close()`:
 *
 * - records whose targets resolve → `bound`: one endpoint per target address and record port,
 *   weighted from the SRV weight, `metadata` `{ priority, srvWeight, target }`; only the lowest
 *   priority group with a resolvable target unless `priorities: 'all'`. Next lookup after
 *   clamp(lowest target TTL, minRefreshMs, maxRefreshMs);
 * - NXDOMAIN, NODATA, an empty answer, or only the target "." → `negative`;
 * - an SRV query error, or no target resolving → `failed` with a {@link DnsSrvLookupError};
 * - some targets failing while others resolve → `bound` with the others, asked again after the
 *   retry backoff rather than the TTL;
 * - after `negative` or `failed`: the retry backoff (full jitter, minRefreshMs doubling to
 *   maxRefreshMs).
 *
 * Options are validated up front; errors name them, e.g. `dnsSrv.name`.
 */
export function dnsSrvResolver(options: DnsSrvResolverOptions): Resolver {
  return createDnsSrvResolver(options);
}

/**
 * {@link dnsSrvResolver} with the DNS lookup replaced. For tests only; not exported from the
 * package entries.
 * @internal
 */
export function createDnsSrvResolver(options: DnsSrvResolverOptions, lookup?: DnsSrvLookup): Resolver {
  const config = validateSrvOptions(options);
  return new DnsSrvNameResolver(config, lookup ?? nodeSrvLookup(config));
}

interface SrvConfig extends DnsQueryConfig {
  readonly name: string;
  readonly families: readonly (4 | 6)[];
  readonly priorities: 'lowest' | 'all';
  readonly backoff: ReconnectBackoff;
}

interface Outcome {
  readonly state: EndpointSetState;
  /** 'ttl' with the lowest TTL seen, or 'retry' for the backoff. */
  readonly next: { readonly kind: 'ttl'; readonly ttl: number } | { readonly kind: 'retry' };
}

/** What the address lookups of one target gave. */
interface TargetAnswer {
  readonly addresses: string[];
  /** The lowest TTL (s) of the records found; Infinity when none. */
  minTtl: number;
  /** Lookups that failed with an error other than NXDOMAIN/NODATA. */
  readonly errors: DnsLookupError[];
  /** NXDOMAIN/NODATA lookups, as errors for the report when nothing resolved. */
  readonly absent: DnsLookupError[];
}

class DnsSrvNameResolver implements Resolver {
  readonly description: string;
  readonly #config: SrvConfig;
  readonly #lookup: DnsSrvLookup;
  readonly #listeners: ListenerSet<EndpointSetState>;
  #state: EndpointSetState = { kind: 'pending' };
  #timer: TimerHandle | undefined;
  #started = false;
  #closed = false;

  constructor(config: SrvConfig, lookup: DnsSrvLookup) {
    this.#config = config;
    this.#lookup = lookup;
    this.description = `dns-srv:${config.name}`;
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
      void this.#refresh();
    }
    return remove;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#config.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
    this.#lookup.cancel();
  }

  async #refresh(): Promise<void> {
    this.#timer = undefined;
    let outcome: Outcome;
    try {
      outcome = await this.#resolveOnce();
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      outcome = { state: { kind: 'failed', error: failure }, next: { kind: 'retry' } };
    }
    if (this.#closed) return;
    this.#state = outcome.state;
    this.#listeners.emit(outcome.state);
    if (this.#closed) return;
    const { backoff, minRefreshMs, maxRefreshMs, clock } = this.#config;
    let delayMs: number;
    if (outcome.next.kind === 'ttl') {
      backoff.reset();
      delayMs = ttlRefreshDelay(outcome.next.ttl, minRefreshMs, maxRefreshMs);
    } else {
      delayMs = backoff.next();
    }
    const timer = clock.setTimeout(() => void this.#refresh(), delayMs);
    timer.unref?.();
    this.#timer = timer;
  }

  async #resolveOnce(): Promise<Outcome> {
    const { name } = this.#config;
    let records: readonly SrvAnswer[];
    try {
      records = await this.#lookup.resolveSrv(name);
    } catch (error) {
      const code = errorCode(error) ?? 'EUNKNOWN';
      const meaning = ABSENT_CODES[code];
      if (meaning !== undefined) return negative(`${name}: SRV: ${meaning}`);
      const failure = new DnsSrvLookupError(
        name,
        code,
        `DNS SRV lookup of ${name} failed: ${code}`,
        [],
        error,
      );
      return { state: { kind: 'failed', error: failure }, next: { kind: 'retry' } };
    }
    if (records.length === 0) return negative(`${name}: SRV: ${ABSENT_CODES.ENODATA}`);
    const usable = records.filter((record) => !isNoTarget(record.name));
    if (usable.length === 0) {
      return negative(`${name}: SRV target "." (the service is decidedly not available here, RFC 2782)`);
    }
    const answers = await this.#resolveTargets(usable);
    const endpoints = buildEndpoints(usable, answers, this.#config.priorities);
    if (endpoints.length === 0) {
      return { state: { kind: 'failed', error: noTargetError(name, answers) }, next: { kind: 'retry' } };
    }
    let minTtl = Number.POSITIVE_INFINITY;
    let targetFailed = false;
    for (const answer of answers.values()) {
      minTtl = Math.min(minTtl, answer.minTtl);
      if (answer.errors.length > 0) targetFailed = true;
    }
    // A target that failed while others answered is asked again soon, not after the TTL.
    return {
      state: { kind: 'bound', endpoints },
      next: targetFailed ? { kind: 'retry' } : { kind: 'ttl', ttl: minTtl },
    };
  }

  /** Resolve every distinct target of `records`, in each configured family, in parallel. */
  async #resolveTargets(records: readonly SrvAnswer[]): Promise<ReadonlyMap<string, TargetAnswer>> {
    const { families } = this.#config;
    const targets = [...new Set(records.map((record) => record.name))];
    const answers = new Map<string, TargetAnswer>();
    await Promise.all(
      targets.map(async (target) => {
        const results = await Promise.allSettled(
          families.map((family) => this.#lookup.resolve(family, target)),
        );
        const answer: TargetAnswer = {
          addresses: [],
          minTtl: Number.POSITIVE_INFINITY,
          errors: [],
          absent: [],
        };
        results.forEach((result, i) => {
          const family = families[i] ?? 4;
          if (result.status === 'fulfilled') {
            if (result.value.length === 0)
              answer.absent.push(new DnsLookupError(target, family, 'ENODATA', undefined));
            for (const record of result.value) {
              answer.addresses.push(record.address);
              answer.minTtl = Math.min(answer.minTtl, record.ttl);
            }
            return;
          }
          const code = errorCode(result.reason) ?? 'EUNKNOWN';
          const error = new DnsLookupError(target, family, code, result.reason);
          if (ABSENT_CODES[code] !== undefined) answer.absent.push(error);
          else answer.errors.push(error);
        });
        answers.set(target, answer);
      }),
    );
    return answers;
  }
}

function negative(reason: string): Outcome {
  return { state: { kind: 'negative', reason }, next: { kind: 'retry' } };
}

/** node:dns gives the target "." as `''`; some servers may spell it `.`. */
function isNoTarget(target: string): boolean {
  return target === '' || target === '.';
}

/**
 * The endpoints of the records whose targets resolved: the lowest priority group with any (or
 * every group, for `'all'`), ordered by priority, weighted per RFC 2782 as the file header says.
 */
function buildEndpoints(
  records: readonly SrvAnswer[],
  answers: ReadonlyMap<string, TargetAnswer>,
  priorities: 'lowest' | 'all',
): Endpoint[] {
  const groups = new Map<number, SrvAnswer[]>();
  for (const record of records) {
    if ((answers.get(record.name)?.addresses.length ?? 0) === 0) continue;
    const group = groups.get(record.priority);
    if (group === undefined) groups.set(record.priority, [record]);
    else group.push(record);
  }
  const ordered = [...groups.keys()].sort((a, b) => a - b);
  const published = priorities === 'lowest' ? ordered.slice(0, 1) : ordered;
  const endpoints: Endpoint[] = [];
  for (const priority of published) {
    const group = groups.get(priority) ?? [];
    const nonZero = group.filter((record) => record.weight > 0).map((record) => record.weight);
    const zeroWeight = nonZero.length > 0 ? Math.min(...nonZero) * SRV_ZERO_WEIGHT_SHARE : 1;
    for (const record of group) {
      const addresses = answers.get(record.name)?.addresses ?? [];
      const recordWeight = record.weight > 0 ? record.weight : zeroWeight;
      for (const address of addresses) {
        endpoints.push(
          createEndpoint(address, record.port, recordWeight / addresses.length, 'dnsSrv', {
            metadata: { priority: record.priority, srvWeight: record.weight, target: record.name },
          }),
        );
      }
    }
  }
  return endpoints;
}

/** The error when records exist but none of their targets resolved. */
function noTargetError(name: string, answers: ReadonlyMap<string, TargetAnswer>): DnsSrvLookupError {
  const failures: DnsLookupError[] = [];
  for (const answer of answers.values()) failures.push(...answer.errors, ...answer.absent);
  const detail = failures.map(
    (failure) => `${failure.hostname} ${failure.family === 4 ? 'A' : 'AAAA'}: ${failure.code}`,
  );
  return new DnsSrvLookupError(
    name,
    failures[0]?.code ?? 'EUNKNOWN',
    `DNS SRV ${name}: no target resolved (${detail.join('; ')})`,
    failures,
  );
}

function nodeSrvLookup(config: SrvConfig): DnsSrvLookup {
  const resolver = createNodeDnsResolver(config);
  return {
    resolveSrv: (name) => resolver.resolveSrv(name),
    resolve: (family, hostname) =>
      family === 4 ? resolver.resolve4(hostname, { ttl: true }) : resolver.resolve6(hostname, { ttl: true }),
    cancel: () => resolver.cancel(),
  };
}

function validateSrvOptions(options: DnsSrvResolverOptions): SrvConfig {
  const raw = objectOption<DnsSrvResolverOptions>('dnsSrv', options, DNS_SRV_RESOLVER_OPTION_KEYS);
  const name = validateHostname('dnsSrv.name', raw.name);
  const family = raw.family ?? 4;
  if (family !== 4 && family !== 6 && family !== 'any') {
    throw new ConfigError('dnsSrv.family', family, 'expected 4, 6 or "any"');
  }
  const priorities = oneOf('dnsSrv.priorities', raw.priorities, ['lowest', 'all'], 'lowest');
  const query = validateDnsQueryOptions('dnsSrv', raw);
  const backoffOptions = objectOption<ReconnectBackoffOptions>(
    'dnsSrv.backoff',
    raw.backoff,
    BACKOFF_OPTION_KEYS,
  );
  const baseMs = backoffOptions.baseMs ?? query.minRefreshMs;
  const backoff = new ReconnectBackoff(
    {
      ...backoffOptions,
      baseMs,
      maxMs: backoffOptions.maxMs ?? Math.max(query.maxRefreshMs, typeof baseMs === 'number' ? baseMs : 0),
    },
    'dnsSrv.backoff',
  );
  return { ...query, name, families: family === 'any' ? [4, 6] : [family], priorities, backoff };
}
