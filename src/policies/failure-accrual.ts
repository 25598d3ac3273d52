/**
 * Failure accrual: per-endpoint outlier ejection (Finagle's FailureAccrualFactory). It marks an endpoint
 * `busy` after 5 consecutive failures or a success rate under 0.8 over 30 s (>= 5 requests), for 5 s growing
 * x2 to 300 s, equal-jittered (Finagle's defaults), then admits one probe at a time. It sits outermost in
 * the endpoint stack, so the balancer reads its `status`; it counts each attempt's classification as the
 * balancer reports the outcome (Service.settled), with no promise reaction of its own. At most
 * 50% of a client's endpoints are ejected at once (./ejection-budget.ts; Envoy's default is 10%).
 *
 * This file is the factory; the parts are in ./failure-accrual/: options.ts (defaults and
 * validation), policy.ts (when to eject and for how long), state-machine.ts (Alive, Dead,
 * ProbeOpen, ProbeClosed, drawn there with numbered transitions).
 */
import type { Endpoint } from '../core/endpoint.js';
import { type Event, ListenerSet } from '../core/events.js';
import type { EndpointLayer, Service } from '../core/service.js';
import { EjectionBudget, type EjectionBudgetView } from './ejection-budget.js';
import { type FailureAccrualOptions, resolveAccrualOptions } from './failure-accrual/options.js';
import {
  type AccrualEjection,
  type AccrualEvents,
  AccrualService,
  type FailureAccrualService,
} from './failure-accrual/state-machine.js';

export {
  FAILURE_ACCRUAL_DEFAULTS,
  FAILURE_ACCRUAL_OPTION_KEYS,
  type FailureAccrualOptions,
} from './failure-accrual/options.js';
export type {
  AccrualEjection,
  AccrualState,
  AccrualStateName,
  FailureAccrualService,
} from './failure-accrual/state-machine.js';

/**
 * The layer {@link failureAccrual} returns: build it once per client and call it once per endpoint.
 * Its endpoints share one ejection budget, shown read-only in `ejectionBudget`, and its events.
 */
export interface FailureAccrualLayer<Req, Res> extends EndpointLayer<Req, Res> {
  (next: Service<Req, Res>, endpoint: Endpoint): FailureAccrualService<Req, Res>;
  readonly ejectionBudget: EjectionBudgetView;
  /** An endpoint was ejected, or ejected again after a failed probe (the `onEject` option listens). */
  readonly onEject: Event<AccrualEjection>;
  /** An ejected endpoint's time was up and a request went to it as the probe: its address. */
  readonly onProbe: Event<string>;
  /** An ejected endpoint returned to service: its address. */
  readonly onReturn: Event<string>;
}

/**
 * Per-endpoint outlier ejection. Call it once per client; the layer it returns is applied once per
 * endpoint, and all those endpoints share the cap on how many may be ejected at once.
 *
 * @example
 * ```ts
 * const layer = failureAccrual({ consecutiveFailures: 3, onEject: (a, until) => log(a, until) });
 * layer.onReturn((address) => log(address, 'back'));
 * const service = layer(transport, endpoint); // service.status is 'busy' while it is ejected
 * ```
 * @throws ConfigError naming the option (`failureAccrual.windowMs`, ...) when one is invalid.
 */
export function failureAccrual<Req, Res>(options?: FailureAccrualOptions): FailureAccrualLayer<Req, Res> {
  const config = resolveAccrualOptions(options);
  const budget = new EjectionBudget(config.maxEjectionPercent);
  const events: AccrualEvents = {
    ejected: new ListenerSet('failureAccrual.onEject'),
    probed: new ListenerSet('failureAccrual.onProbe'),
    returned: new ListenerSet('failureAccrual.onReturn'),
  };
  const { onEject, onProbe, onReturn } = config;
  if (onEject !== undefined) events.ejected.add((e) => onEject(e.address, e.untilMs));
  if (onProbe !== undefined) events.probed.add(onProbe);
  if (onReturn !== undefined) events.returned.add(onReturn);
  const layer = (next: Service<Req, Res>, endpoint: Endpoint): FailureAccrualService<Req, Res> =>
    new AccrualService(next, endpoint.address, config, budget, events);
  return Object.assign(layer, {
    ejectionBudget: budget as EjectionBudgetView,
    onEject: events.ejected.event,
    onProbe: events.probed.event,
    onReturn: events.returned.event,
  });
}
