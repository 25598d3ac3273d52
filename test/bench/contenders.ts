/**
 * The contenders: what a Node user would pick instead of weft, each set up the way its docs
 * suggest and configured alike where they overlap (docs/benchmarks.md lists every setting):
 *
 *   weft               createHttpClient, default stack (deadline, retry + budget, attempt, P2C
 *                      Peak EWMA, failure accrual, deadline header)
 *   weft + hedging     the same with `hedge: { maxExtraLoad: 0.04 }` (backups capped at 4% of
 *                      calls + 10/s, so that extra load stays under 5%)
 *   undici Pool        one origin, no resilience: the ceiling (single-replica scenarios only)
 *   undici BalancedPool      undici's weighted round robin over every replica
 *   undici RoundRobinPool    round robin over the connections of ONE origin (single replica only)
 *   undici RetryAgent  RetryAgent over a BalancedPool
 *   cockatiel          retry + circuit breaker + per-attempt and total timeouts around a
 *                      BalancedPool (cockatiel is weft's own breaker dependency)
 *   undici fetch       fetch() with a BalancedPool as its dispatcher
 *
 * Alike: `connections` per origin; a per-attempt limit (`attemptTimeoutMs`: weft's attempt
 * timeout, undici's headersTimeout and bodyTimeout, cockatiel's inner timeout); a total limit
 * (`totalTimeoutMs`: weft's deadline, an AbortSignal.timeout for RetryAgent and fetch, cockatiel's
 * outer timeout); `maxAttempts` calls at most (weft's retry, RetryAgent's maxRetries + 1,
 * cockatiel's maxAttempts + 1); exponential backoff from 25 to 250 ms. The plain pools get the
 * per-attempt limit only: they have no notion of a call.
 */
import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { BalancedPool, type Dispatcher, fetch, Pool, RetryAgent, RoundRobinPool } from 'undici';
import type { HttpClient, HttpClientOptions } from '../../src/index.js';
import type { Send } from './load.js';
import { weft } from './weft.js';

export const CONTENDERS = [
  'weft',
  'weft-hedging',
  'undici-pool',
  'undici-balanced-pool',
  'undici-round-robin-pool',
  'undici-retry-agent',
  'cockatiel',
  'undici-fetch',
] as const;
export type ContenderName = (typeof CONTENDERS)[number];

/** The contenders that balance over several replicas (the Pool and RoundRobinPool take one origin). */
export const MULTI_REPLICA: readonly ContenderName[] = [
  'weft',
  'undici-balanced-pool',
  'undici-retry-agent',
  'cockatiel',
  'undici-fetch',
];

/** Display names, as in the tables. */
export const LABELS: Record<ContenderName, string> = {
  weft: 'weft',
  'weft-hedging': 'weft + hedging',
  'undici-pool': 'undici Pool',
  'undici-balanced-pool': 'undici BalancedPool',
  'undici-round-robin-pool': 'undici RoundRobinPool',
  'undici-retry-agent': 'undici RetryAgent',
  cockatiel: 'cockatiel + undici',
  'undici-fetch': 'undici fetch',
};

export interface ContenderSettings {
  readonly connections: number;
  readonly attemptTimeoutMs: number;
  readonly totalTimeoutMs: number;
  readonly maxAttempts: number;
  /** cockatiel's breaker: opens after this many consecutive failures. */
  readonly breakerFailures: number;
  /** cockatiel's breaker: half-opens after this long, in ms. */
  readonly breakerHalfOpenMs: number;
}

export const DEFAULT_SETTINGS: ContenderSettings = {
  connections: 32,
  attemptTimeoutMs: 1_000,
  totalTimeoutMs: 3_000,
  maxAttempts: 3,
  breakerFailures: 5,
  breakerHalfOpenMs: 5_000,
};

export interface Contender {
  readonly name: ContenderName;
  readonly label: string;
  /** One GET /, body read to the end; resolves with the status, rejects when the call failed. */
  readonly send: Send;
  close(): Promise<void>;
}

const BACKOFF = { initialMs: 25, maxMs: 250 };
/**
 * The share of calls `weft + hedging` may hedge: "for ≤ 5% extra load" (issue 16). The backup
 * budget also allows 10/s (0.5% at 2 000 calls/s), hence 4%.
 */
const HEDGING_MAX_EXTRA_LOAD = 0.04;

/** The options every weft contender shares (connections, timeouts, retry), from `settings`. */
export function weftOptions(settings: ContenderSettings): HttpClientOptions {
  return {
    connections: settings.connections,
    timeoutMs: settings.totalTimeoutMs,
    attemptTimeoutMs: settings.attemptTimeoutMs,
    retry: {
      maxAttempts: settings.maxAttempts,
      backoffInitialMs: BACKOFF.initialMs,
      backoffMaxMs: BACKOFF.maxMs,
    },
  };
}

/** One GET / through a weft client, body read to the end: the status. */
export function weftSend(client: HttpClient): Send {
  return async () => {
    const res = await client.request({ path: '/' });
    await res.body.text();
    return res.statusCode;
  };
}

/** Build a contender over `addresses` (host:port). Single-origin contenders take exactly one. */
export function makeContender(
  name: ContenderName,
  addresses: readonly string[],
  settings: ContenderSettings = DEFAULT_SETTINGS,
): Contender {
  const origins = addresses.map((a) => `http://${a}`);
  const poolOptions = {
    connections: settings.connections,
    headersTimeout: settings.attemptTimeoutMs,
    bodyTimeout: settings.attemptTimeoutMs,
  };
  const single = () => {
    if (origins.length !== 1) throw new Error(`${name} takes one origin, got ${origins.length}`);
    return origins[0]!;
  };
  const viaDispatcher = (dispatcher: Dispatcher, withTotal: boolean): Send => {
    const origin = origins[0]!;
    return async () => {
      const res = await dispatcher.request({
        origin,
        path: '/',
        method: 'GET',
        signal: withTotal ? AbortSignal.timeout(settings.totalTimeoutMs) : undefined,
      });
      await res.body.text();
      return res.statusCode;
    };
  };
  const contender = (send: Send, close: () => Promise<void>): Contender => ({
    name,
    label: LABELS[name],
    send,
    close,
  });

  switch (name) {
    case 'weft':
    case 'weft-hedging': {
      const client = weft.createHttpClient({
        endpoints: addresses,
        ...weftOptions(settings),
        hedge: name === 'weft-hedging' && { maxExtraLoad: HEDGING_MAX_EXTRA_LOAD },
      });
      return contender(weftSend(client), () => client.close());
    }
    case 'undici-pool': {
      const pool = new Pool(single(), poolOptions);
      return contender(viaDispatcher(pool, false), () => pool.close());
    }
    case 'undici-round-robin-pool': {
      const pool = new RoundRobinPool(single(), poolOptions);
      return contender(viaDispatcher(pool, false), () => pool.close());
    }
    case 'undici-balanced-pool': {
      const pool = new BalancedPool(origins, poolOptions);
      return contender(viaDispatcher(pool, false), () => pool.close());
    }
    case 'undici-retry-agent': {
      const pool = new BalancedPool(origins, poolOptions);
      const agent = new RetryAgent(pool, {
        maxRetries: settings.maxAttempts - 1,
        minTimeout: BACKOFF.initialMs,
        maxTimeout: BACKOFF.maxMs,
        timeoutFactor: 2,
      });
      // Closing the agent closes the pool it wraps.
      return contender(viaDispatcher(agent, true), () => agent.close());
    }
    case 'cockatiel': {
      const pool = new BalancedPool(origins, poolOptions);
      const policy = wrap(
        timeout(settings.totalTimeoutMs, TimeoutStrategy.Aggressive),
        retry(handleAll, {
          maxAttempts: settings.maxAttempts - 1,
          backoff: new ExponentialBackoff({ initialDelay: BACKOFF.initialMs, maxDelay: BACKOFF.maxMs }),
        }),
        circuitBreaker(handleAll, {
          halfOpenAfter: settings.breakerHalfOpenMs,
          breaker: new ConsecutiveBreaker(settings.breakerFailures),
        }),
        timeout(settings.attemptTimeoutMs, TimeoutStrategy.Aggressive),
      );
      const origin = origins[0]!;
      return contender(
        () =>
          policy.execute(async ({ signal }) => {
            const res = await pool.request({ origin, path: '/', method: 'GET', signal });
            await res.body.text();
            // cockatiel acts on errors: a 5xx becomes one, as its README's HTTP examples do.
            if (res.statusCode >= 500) throw new Error(`status ${res.statusCode}`);
            return res.statusCode;
          }),
        () => pool.close(),
      );
    }
    case 'undici-fetch': {
      const pool = new BalancedPool(origins, poolOptions);
      const url = `${origins[0]}/`;
      return contender(
        async () => {
          const res = await fetch(url, {
            dispatcher: pool,
            signal: AbortSignal.timeout(settings.totalTimeoutMs),
          });
          await res.text();
          return res.status;
        },
        () => pool.close(),
      );
    }
  }
}
