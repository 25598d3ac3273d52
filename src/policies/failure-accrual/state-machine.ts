/**
 * Failure accrual's state machine, one per endpoint (Finagle's FailureAccrualFactory: Alive, Dead,
 * ProbeOpen, ProbeClosed): the Service put around the endpoint's stack, whose `status` the
 * balancer reads. It hears each attempt's classified outcome when the balancer reports it
 * (Service.settled), with no promise reaction of its own, tells the policy (./policy.ts), and
 * ejects, probes and returns the endpoint, within the client's ejection budget
 * (../ejection-budget.ts). Each transition is an event (../../core/events.ts).
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
 * (1) On a failure while Alive: the policy is tripped (`consecutiveFailures` in a row, or a
 *     success rate below `minSuccessRate` with at least `minRequests` in the window), and the
 *     client's ejection budget has a slot. Without a slot it stays Alive and waits in line (its
 *     counts stay high), and is ejected the moment a slot frees up, if it still meets a trigger then.
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
 */
import { attemptClassName, type ResponseClass } from '../../core/classification.js';
import type { Clock } from '../../core/clock.js';
import type { CallContext } from '../../core/context.js';
import type { ListenerSet } from '../../core/events.js';
import { NACK_REASON } from '../../core/nack.js';
import type { Service, ServiceStatus } from '../../core/service.js';
import type { EjectionBudget, EjectionCandidate } from '../ejection-budget.js';
import type { AccrualConfig } from './options.js';
import { AccrualPolicy } from './policy.js';

/** Where an endpoint is in the state machine (the diagram above). */
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

/** An ejection, as the `onEject` event tells it. */
export interface AccrualEjection {
  /** The endpoint's address. */
  readonly address: string;
  /** When the ejection ends, on the clock (ms): from then on, the next request is the probe. */
  readonly untilMs: number;
}

/** The transitions one client's endpoints publish, shared by all of them. */
export interface AccrualEvents {
  /** (1), and (4) on a failed probe. */
  readonly ejected: ListenerSet<AccrualEjection>;
  /** (3): the address of the endpoint probed. */
  readonly probed: ListenerSet<string>;
  /** (4) on a successful probe, and (6): the address of the endpoint returned to service. */
  readonly returned: ListenerSet<string>;
}

const ALIVE = 0;
/** Ejected; ProbeOpen once `clock.now() >= ejectedUntil` (derived, so no timer is ever set). */
const DEAD = 1;
const PROBE_CLOSED = 2;
type StoredState = typeof ALIVE | typeof DEAD | typeof PROBE_CLOSED;

/** What one attempt's outcome means to failure accrual. */
const SUCCEEDED = 0;
const FAILED = 1;
const IGNORED = 2;
type AccrualOutcome = typeof SUCCEEDED | typeof FAILED | typeof IGNORED;

function accrualOutcome(c: ResponseClass | undefined, failed: boolean): AccrualOutcome {
  // A nack: the endpoint is alive and full. Ejecting it would leave its share to the others, full
  // too, and a requeue would find no endpoint with room (test/server/e2e-chain.test.ts).
  if (c?.reason === NACK_REASON) return IGNORED;
  const kind = attemptClassName(c, failed);
  return kind === 'ignorable' ? IGNORED : kind === 'success' ? SUCCEEDED : FAILED;
}

export class AccrualService<Req, Res> implements FailureAccrualService<Req, Res>, EjectionCandidate {
  readonly #next: Service<Req, Res>;
  readonly #address: string;
  readonly #clock: Clock;
  readonly #budget: EjectionBudget;
  readonly #events: AccrualEvents;
  readonly #policy: AccrualPolicy;
  #state: StoredState = ALIVE;
  #ejections = 0;
  #ejectedUntil = 0;
  /** Bumped on every ejection, so an outcome can tell whether its request was sent after it. */
  #generation = 0;
  #holdsSlot = false;
  #closed = false;

  constructor(
    next: Service<Req, Res>,
    address: string,
    config: AccrualConfig,
    budget: EjectionBudget,
    events: AccrualEvents,
  ) {
    this.#next = next;
    this.#address = address;
    this.#clock = config.clock;
    this.#budget = budget;
    this.#events = events;
    this.#policy = new AccrualPolicy(config);
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
    const consecutiveFailures = this.#policy.consecutiveFailures;
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
      this.#state = PROBE_CLOSED; // (3)
      probe = true;
      this.#events.probed.emit(this.#address);
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
    this.#recordOutcome(
      accrualOutcome(ctx.classification, failed),
      probe ? -ticket - 1 : ticket,
      probe,
      ctx.attemptEnd,
    );
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
    if (this.#policy.tripped(now)) this.#eject(now);
  }

  /** `at`: when the attempt settled (the balancer's reading of the shared clock), or NaN. */
  #recordOutcome(outcome: AccrualOutcome, generation: number, probe: boolean, at: number): void {
    if (this.#closed) return;
    // Sent after the latest ejection (a probe, or fail-open traffic): evidence about the endpoint now.
    const fresh = this.#state !== ALIVE && generation === this.#generation;
    if (outcome === IGNORED) {
      // (5) Still ProbeClosed with ejectedUntil passed: storing Dead makes it ProbeOpen again.
      if (probe && fresh && this.#state === PROBE_CLOSED) this.#state = DEAD;
      return;
    }
    const now = Number.isNaN(at) ? this.#clock.now() : at;
    const policy = this.#policy;
    if (outcome === SUCCEEDED) {
      policy.recordSuccess(now);
      if (fresh) this.#return(); // (4) or (6)
      return;
    }
    policy.recordFailure(now);
    if (this.#state === ALIVE) {
      if (policy.tripped(now)) this.#eject(now); // (1)
    } else if (probe && fresh && this.#state === PROBE_CLOSED) {
      this.#eject(now); // (4)
    }
  }

  #eject(now: number): void {
    if (!this.#holdsSlot) {
      if (!this.#budget.tryAcquire(this)) return; // stays Alive, in line for a slot
      this.#holdsSlot = true;
    }
    this.#ejections++;
    this.#generation++;
    this.#state = DEAD;
    this.#ejectedUntil = now + this.#policy.nextEjectionMs();
    const ejected = this.#events.ejected;
    if (ejected.size > 0) ejected.emit({ address: this.#address, untilMs: this.#ejectedUntil });
  }

  #return(): void {
    this.#state = ALIVE;
    this.#policy.revived();
    this.#events.returned.emit(this.#address);
    if (this.#holdsSlot) {
      this.#holdsSlot = false;
      this.#budget.release(); // may eject the next endpoint in line
    }
  }
}
