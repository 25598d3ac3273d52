/**
 * Failure accrual: per-endpoint outlier ejection (Finagle's FailureAccrualFactory). It marks an endpoint
 * `busy` after 5 consecutive failures or a success rate under 0.8 over 30 s (>= 5 requests), for 5 s growing
 * x2 to 300 s, equal-jittered (Finagle's defaults), then admits one probe at a time. It sits outermost in
 * the endpoint stack, so the balancer reads its `status`; it counts each attempt's classification as the
 * balancer reports the outcome (Service.settled), with no promise reaction of its own. At most
 * 50% of a client's endpoints are ejected at once (./ejection-budget.ts; Envoy's default is 10%).
 */
import { isFailure, type ResponseClass } from '../core/classification.js';
import type { Clock } from '../core/clock.js';
import type { CallContext } from '../core/context.js';
import type { Endpoint } from '../core/endpoint.js';
import { reportHookError } from '../core/events.js';
import {
  clockOption,
  functionOption,
  integerAtLeast,
  numberInRange,
  objectOption,
  optionKeys,
  positiveNumber,
  upperBound,
} from '../core/options.js';
import { RollingCounts } from '../core/rolling-counts.js';
import { type EndpointLayer, keepingDescentTime, type Service, type ServiceStatus } from '../core/service.js';
import { EjectionBudget, type EjectionBudgetView, type EjectionCandidate } from './ejection-budget.js';

/** Defaults of {@link failureAccrual}; docs/failure-accrual.md gives the source of each. */
export const FAILURE_ACCRUAL_DEFAULTS = {
  /** Consecutive failures that eject (Finagle DefaultConsecutiveFailures, Envoy consecutive_5xx). */
  consecutiveFailures: 5,
  /** Success rate under which the endpoint is ejected (Finagle DefaultSuccessRateThreshold). */
  minSuccessRate: 0.8,
  /** The success-rate window (Finagle DefaultSuccessRateWindow). */
  windowMs: 30_000,
  /** Requests the window must hold before the rate counts (Finagle DefaultMinimumRequestThreshold). */
  minRequests: 5,
  /** First ejection: 5 s, jittered up to 10 s (Finagle's `Backoff.equalJittered(5.seconds, ...)`). */
  minEjectionMs: 5_000,
  /** Cap of the growing ejection time (Finagle's equalJittered maximum, Envoy max_ejection_time). */
  maxEjectionMs: 300_000,
  /** Share of a client's endpoints that may be ejected at once, at least one (Envoy: 10%). */
  maxEjectionPercent: 50,
} as const;

/** Options of {@link failureAccrual}. Every field is optional; see {@link FAILURE_ACCRUAL_DEFAULTS}. */
export interface FailureAccrualOptions {
  /** Eject after this many failures in a row: an integer >= 1, or `Infinity` (trigger off). Default 5. */
  readonly consecutiveFailures?: number;
  /** Eject when the window's success rate falls below this, in [0, 1] (0: trigger off). Default 0.8. */
  readonly minSuccessRate?: number;
  /** Length of the success-rate window, in ms (30 buckets). Default 30 000. */
  readonly windowMs?: number;
  /** Requests the window must hold before its success rate can eject. Default 5. */
  readonly minRequests?: number;
  /** First ejection time before jitter, in ms; it doubles per ejection in a row. Default 5 000. */
  readonly minEjectionMs?: number;
  /** Cap of the ejection time, in ms (>= `minEjectionMs`). Default 300 000. */
  readonly maxEjectionMs?: number;
  /** Share of the client's endpoints ejected at once at most, in [0, 100]; one always may be. Default 50. */
  readonly maxEjectionPercent?: number;
  /** Uniform random numbers in [0, 1) for the jitter (tests inject their own). Default `Math.random`. */
  readonly random?: () => number;
  /** The clock ejection times are measured on. Default: the real clock. */
  readonly clock?: Clock;
  /** An endpoint was ejected (or ejected again after a failed probe) until `untilMs` on the clock. */
  readonly onEject?: (address: string, untilMs: number) => void;
  /** An ejected endpoint's time was up and a request went to it as the probe. */
  readonly onProbe?: (address: string) => void;
  /** An ejected endpoint returned to service (a probe, or a request sent after its ejection, succeeded). */
  readonly onReturn?: (address: string) => void;
}

/** The keys of {@link FailureAccrualOptions}; any other key throws a ConfigError. */
export const FAILURE_ACCRUAL_OPTION_KEYS = optionKeys<FailureAccrualOptions>({
  consecutiveFailures: true,
  minSuccessRate: true,
  windowMs: true,
  minRequests: true,
  minEjectionMs: true,
  maxEjectionMs: true,
  maxEjectionPercent: true,
  random: true,
  clock: true,
  onEject: true,
  onProbe: true,
  onReturn: true,
});

/** Where an endpoint is in the state machine (see the diagram in src/policies/failure-accrual.ts). */
export type AccrualStateName = 'alive' | 'dead' | 'probe-open' | 'probe-closed';

/** A snapshot of one endpoint's failure accrual, for the admin page and metrics. */
export interface AccrualState {
  readonly state: AccrualStateName;
  /** Times this endpoint was ejected since it was built, re-ejections after a failed probe included. */
  readonly ejections: number;
  /** Failures in a row (reset by a success and when the endpoint returns). */
  readonly consecutiveFailures: number;
  /** End of the current ejection on the clock (ms); absent while alive. */
  readonly ejectedUntil?: number;
}

/** The service failure accrual puts around an endpoint: a Service that also shows its accrual state. */
export interface FailureAccrualService<Req, Res> extends Service<Req, Res> {
  /** A fresh snapshot on every read (allocates; for the admin page, not the request path). */
  readonly accrual: AccrualState;
}

/**
 * The layer {@link failureAccrual} returns: build it once per client and call it once per endpoint.
 * Its endpoints share one ejection budget, shown read-only in `ejectionBudget`.
 */
export interface FailureAccrualLayer<Req, Res> extends EndpointLayer<Req, Res> {
  (next: Service<Req, Res>, endpoint: Endpoint): FailureAccrualService<Req, Res>;
  readonly ejectionBudget: EjectionBudgetView;
}

/**
 * Per-endpoint outlier ejection. Call it once per client; the layer it returns is applied once per
 * endpoint, and all those endpoints share the cap on how many may be ejected at once.
 *
 * @example
 * ```ts
 * const layer = failureAccrual({ consecutiveFailures: 3, onEject: (a, until) => log(a, until) });
 * const service = layer(transport, endpoint); // service.status is 'busy' while it is ejected
 * ```
 * @throws ConfigError naming the option (`failureAccrual.windowMs`, ...) when one is invalid.
 */
export function failureAccrual<Req, Res>(options?: FailureAccrualOptions): FailureAccrualLayer<Req, Res> {
  const config = resolveOptions(options);
  const budget = new EjectionBudget(config.maxEjectionPercent);
  const layer = (next: Service<Req, Res>, endpoint: Endpoint): FailureAccrualService<Req, Res> =>
    new AccrualService(next, endpoint.address, config, budget);
  return keepingDescentTime(Object.assign(layer, { ejectionBudget: budget as EjectionBudgetView }));
}

interface AccrualConfig {
  readonly consecutiveFailures: number;
  readonly minSuccessRate: number;
  readonly windowMs: number;
  readonly minRequests: number;
  readonly minEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
  readonly random: () => number;
  readonly clock: Clock;
  readonly onEject: ((address: string, untilMs: number) => void) | undefined;
  readonly onProbe: ((address: string) => void) | undefined;
  readonly onReturn: ((address: string) => void) | undefined;
}

function resolveOptions(options: FailureAccrualOptions | undefined): AccrualConfig {
  const o = objectOption<FailureAccrualOptions>('failureAccrual', options, FAILURE_ACCRUAL_OPTION_KEYS);
  const d = FAILURE_ACCRUAL_DEFAULTS;
  const consecutiveFailures =
    o.consecutiveFailures === Number.POSITIVE_INFINITY
      ? Number.POSITIVE_INFINITY
      : integerAtLeast('failureAccrual.consecutiveFailures', o.consecutiveFailures, 1, d.consecutiveFailures);
  const minEjectionMs = positiveNumber('failureAccrual.minEjectionMs', o.minEjectionMs, d.minEjectionMs);
  const maxEjectionMs = upperBound(
    'failureAccrual.maxEjectionMs',
    o.maxEjectionMs,
    d.maxEjectionMs,
    minEjectionMs,
    'failureAccrual.minEjectionMs',
  );
  const clock = clockOption('failureAccrual.clock', o.clock);
  return {
    consecutiveFailures,
    minSuccessRate: numberInRange('failureAccrual.minSuccessRate', o.minSuccessRate, 0, 1, d.minSuccessRate),
    windowMs: positiveNumber('failureAccrual.windowMs', o.windowMs, d.windowMs),
    minRequests: integerAtLeast('failureAccrual.minRequests', o.minRequests, 1, d.minRequests),
    minEjectionMs,
    maxEjectionMs,
    maxEjectionPercent: numberInRange(
      'failureAccrual.maxEjectionPercent',
      o.maxEjectionPercent,
      0,
      100,
      d.maxEjectionPercent,
    ),
    random: functionOption('failureAccrual.random', o.random, Math.random),
    clock,
    onEject: functionOption('failureAccrual.onEject', o.onEject, undefined),
    onProbe: functionOption('failureAccrual.onProbe', o.onProbe, undefined),
    onReturn: functionOption('failureAccrual.onReturn', o.onReturn, undefined),
  };
}

/*
 * The state machine (Finagle's FailureAccrualFactory: Alive, Dead, ProbeOpen, ProbeClosed):
 *
 *   +------------- (6) a request sent after the ejection succeeded ----------------+
 *   |                                                                              |
 *   v         (1) eject                (2) time is up            (3) a request     |
 * Alive -------------------> Dead ---------------------> ProbeOpen ----------> ProbeClosed
 *   ^                        busy ^                        open   ^  starts     busy |  |  |
 *   |                             |                               |                  |  |  |
 *   |                             +------ (4) probe failed: eject again, longer -----+  |  |
 *   |                                                             +-- (5) ignorable ----+  |
 *   +------------------------------------- (4) probe succeeded ----------------------------+
 *
 * (1) On a failure while Alive: `consecutiveFailures` in a row, or a success rate below
 *     `minSuccessRate` with at least `minRequests` in the window, and the client's ejection budget
 *     has a slot. Without a slot it stays Alive and waits in line (its counts stay high), and is
 *     ejected the moment a slot frees up, if it still meets a trigger then.
 * (2) Not a timer: Dead is stored with `ejectedUntil`, and every read after that time sees
 *     ProbeOpen. `status` passes through what the service below says (normally `open`).
 * (3) The request that finds the endpoint in ProbeOpen is the probe; `status` reads `busy` until
 *     it settles. Other requests can still arrive (the balancer fails open when nothing is open).
 * (4) Only the probe's own outcome decides. Success: Alive, counts, window and backoff reset, slot
 *     freed. Failure: Dead again for the next, longer time (same slot).
 * (5) An ignorable probe says nothing: back to ProbeOpen, the next request is the probe.
 * (6) Dead, ProbeOpen or ProbeClosed: a success of a request sent after the latest ejection (fail-
 *     open traffic) proves the endpoint answers, as a probe would: Alive. Responses to requests
 *     sent before the ejection were in flight when it was judged and never return it. Failures of
 *     non-probe requests count but change nothing: they neither extend the ejection nor re-eject.
 *
 * Ejection time of the n-th ejection in a row (n = 1 after Alive), with r = random() in [0, 1):
 *   base(n) = minEjectionMs * 2^(n-1);  time(n) = min(maxEjectionMs, base(n) * (1 + r))
 * Equal jitter (half fixed, half random, AWS's "equal jitter" with temp = 2 * base(n)): 5-10 s,
 * 10-20 s, ... 160-300 s, then 300 s. Finagle's equalJittered gives exactly 5 s the first time and
 * then the same ranges; weft jitters the first one too, so clients that saw the same outage do not
 * all probe at the same instant.
 */
const ALIVE = 0;
/** Ejected; ProbeOpen once `clock.now() >= ejectedUntil` (derived, so no timer is ever set). */
const DEAD = 1;
const PROBE_CLOSED = 2;
type StoredState = typeof ALIVE | typeof DEAD | typeof PROBE_CLOSED;

const SUCCEEDED = 0;
const FAILED = 1;
const IGNORED = 2;
type Verdict = typeof SUCCEEDED | typeof FAILED | typeof IGNORED;

/** No classification (a client without a classifier): a resolved call succeeded, a rejected one failed. */
function verdict(c: ResponseClass | undefined, rejected: boolean): Verdict {
  if (c === undefined) return rejected ? FAILED : SUCCEEDED;
  if (c.kind === 'ignorable') return IGNORED;
  return isFailure(c) ? FAILED : SUCCEEDED;
}

class AccrualService<Req, Res> implements FailureAccrualService<Req, Res>, EjectionCandidate {
  readonly #next: Service<Req, Res>;
  readonly #address: string;
  readonly #config: AccrualConfig;
  readonly #clock: Clock;
  readonly #budget: EjectionBudget;
  readonly #window: RollingCounts;
  #state: StoredState = ALIVE;
  #consecutiveFailures = 0;
  /** Ejections since the endpoint was last Alive: the step of the backoff. */
  #ejectionsInARow = 0;
  #ejections = 0;
  #ejectedUntil = 0;
  /** Bumped on every ejection, so an outcome can tell whether its request was sent after it. */
  #generation = 0;
  #holdsSlot = false;
  #closed = false;

  constructor(next: Service<Req, Res>, address: string, config: AccrualConfig, budget: EjectionBudget) {
    this.#next = next;
    this.#address = address;
    this.#config = config;
    this.#clock = config.clock;
    this.#budget = budget;
    this.#window = new RollingCounts(2, WINDOW_BUCKETS, config.windowMs / WINDOW_BUCKETS);
    budget.join();
  }

  /** Read on every pick: no allocation, and the clock is read only while the endpoint is ejected. */
  get status(): ServiceStatus {
    if (this.#closed) return 'closed';
    const below = this.#next.status;
    if (below !== 'open' || this.#state === ALIVE) return below;
    if (this.#state === PROBE_CLOSED) return 'busy';
    return this.#clock.now() < this.#ejectedUntil ? 'busy' : 'open';
  }

  get accrual(): AccrualState {
    const stored = this.#state;
    const consecutiveFailures = this.#consecutiveFailures;
    const ejections = this.#ejections;
    if (stored === ALIVE) return { state: 'alive', ejections, consecutiveFailures };
    const state: AccrualStateName =
      stored === PROBE_CLOSED
        ? 'probe-closed'
        : this.#clock.now() < this.#ejectedUntil
          ? 'dead'
          : 'probe-open';
    return { state, ejections, consecutiveFailures, ejectedUntil: this.#ejectedUntil };
  }

  call(req: Req, ctx: CallContext): Promise<Res> {
    let probe = false;
    if (this.#state === DEAD && !this.#closed && this.#clock.now() >= this.#ejectedUntil) {
      this.#state = PROBE_CLOSED;
      probe = true;
      notify('onProbe', this.#config.onProbe, this.#address);
    }
    // The classification is per attempt: clear what an earlier attempt of this call left.
    ctx.classification = undefined;
    // What settled() needs to know about this attempt rides on its context: no closure, no await.
    ctx.accrualTicket = probe ? -(this.#generation + 1) : this.#generation;
    return this.#next.call(req, ctx);
  }

  /** The balancer reports the (already classified) outcome; the layers below see it first. */
  settled(ctx: CallContext, outcome: unknown, failed: boolean): void {
    this.#next.settled?.(ctx, outcome, failed);
    const ticket = ctx.accrualTicket;
    const probe = ticket < 0;
    this.#settle(verdict(ctx.classification, failed), probe ? -ticket - 1 : ticket, probe, ctx.attemptEnd);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      const held = this.#holdsSlot;
      this.#holdsSlot = false;
      this.#budget.leave(this, held);
    }
    return this.#next.close();
  }

  /** The budget has room again (see EjectionCandidate). */
  retryEjection(): void {
    if (this.#closed || this.#state !== ALIVE) return;
    const now = this.#clock.now();
    if (this.#tripped(now)) this.#eject(now);
  }

  /** `at`: when the attempt settled (the balancer's reading of the shared clock), or NaN. */
  #settle(outcome: Verdict, generation: number, probe: boolean, at: number): void {
    if (this.#closed) return;
    // Sent after the latest ejection (a probe, or fail-open traffic): evidence about the endpoint now.
    const fresh = this.#state !== ALIVE && generation === this.#generation;
    if (outcome === IGNORED) {
      // (5) Still ProbeClosed with ejectedUntil passed: storing Dead makes it ProbeOpen again.
      if (probe && fresh && this.#state === PROBE_CLOSED) this.#state = DEAD;
      return;
    }
    const now = Number.isNaN(at) ? this.#clock.now() : at;
    this.#window.add(now, REQUESTS);
    if (outcome === SUCCEEDED) this.#window.add(now, SUCCESSES);
    if (outcome === SUCCEEDED) {
      this.#consecutiveFailures = 0;
      if (fresh) this.#return(); // (4) or (6)
      return;
    }
    this.#consecutiveFailures++;
    if (this.#state === ALIVE) {
      if (this.#tripped(now)) this.#eject(now); // (1)
    } else if (probe && fresh && this.#state === PROBE_CLOSED) {
      this.#eject(now); // (4)
    }
  }

  /** Does the endpoint meet an ejection trigger at `now`? */
  #tripped(now: number): boolean {
    const config = this.#config;
    if (this.#consecutiveFailures >= config.consecutiveFailures) return true;
    // At least `minRequests` in the window, and a success rate under `minSuccessRate`.
    const window = this.#window;
    window.advance(now);
    const requests = window.total(REQUESTS);
    return requests >= config.minRequests && window.total(SUCCESSES) < config.minSuccessRate * requests;
  }

  #eject(now: number): void {
    if (!this.#holdsSlot) {
      if (!this.#budget.tryAcquire(this)) return; // stays Alive, in line for a slot
      this.#holdsSlot = true;
    }
    this.#ejectionsInARow++;
    this.#ejections++;
    this.#generation++;
    this.#state = DEAD;
    this.#ejectedUntil = now + this.#ejectionTime(this.#ejectionsInARow);
    notify('onEject', this.#config.onEject, this.#address, this.#ejectedUntil);
  }

  /** min(max, base * (1 + r)), base = min * 2^(n-1): see the comment above the state constants. */
  #ejectionTime(n: number): number {
    const { minEjectionMs, maxEjectionMs } = this.#config;
    const base = minEjectionMs * 2 ** Math.min(n - 1, 64);
    const r = this.#config.random();
    const jitter = r > 0 ? (r < 1 ? r : 1) : 0; // NaN and out-of-range values clamp into [0, 1]
    return Math.min(maxEjectionMs, base * (1 + jitter));
  }

  #return(): void {
    this.#state = ALIVE;
    this.#consecutiveFailures = 0;
    this.#ejectionsInARow = 0;
    this.#window.reset();
    notify('onReturn', this.#config.onReturn, this.#address);
    if (this.#holdsSlot) {
      this.#holdsSlot = false;
      this.#budget.release(); // may eject the next endpoint in line
    }
  }
}

/** Buckets of the success-rate window: 1 s each at the default 30 s. */
const WINDOW_BUCKETS = 30;
/** The two counts of the success-rate window (../core/rolling-counts.ts). */
const REQUESTS = 0;
const SUCCESSES = 1;

/** Call an observability hook; one that throws is reported as a warning and never breaks the call. */
function notify<A extends unknown[]>(
  name: string,
  hook: ((...args: A) => void) | undefined,
  ...args: A
): void {
  if (hook === undefined) return;
  try {
    hook(...args);
  } catch (error) {
    reportHookError(`failureAccrual.${name}`, error);
  }
}
