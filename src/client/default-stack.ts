/**
 * The default client stack, outermost first, each role with the reason it sits where it does
 * (Finagle's StackClient). A call runs down these filters to the balancer, which picks an
 * endpoint and runs that endpoint's stack (./endpoint-stack.ts) down to the transport.
 *
 *   deadline   one deadline for the whole call: it must sit above retry so that it bounds every
 *              attempt and every backoff, and below route/observe so they see deadline failures.
 *   attempt    once per attempt: numbering, the attempt's deadline and per-attempt timeout. It must
 *              sit below retry/hedge (it runs per attempt) and above the balancer (the timeout
 *              covers the pick's wait); the endpoint stack writes the deadline on the wire.
 *   (balance)  not a filter: the terminal of this stack; see src/balance/balancer.ts.
 *
 * Later roles slot in by name: route and observe above deadline; retry and hedge between deadline
 * and attempt (docs/architecture.md keeps the full order).
 */
import type { Clock } from '../core/clock.js';
import type { Filter } from '../core/service.js';
import { Stack } from '../core/stack.js';
import { attemptFilter } from '../policies/attempt.js';
import { deadlineFilter } from '../policies/deadline.js';

/** What the default filters are built from. */
export interface ClientStackParams {
  readonly clock: Clock;
  readonly inheritAmbientDeadline: boolean;
}

/** The default call-path stack of a client. */
export function defaultClientStack<Req, Res>(params: ClientStackParams): Stack<Filter<Req, Res>> {
  return Stack.of<Filter<Req, Res>>([
    {
      role: 'deadline',
      description:
        'min(ambient deadline, total timeout) for the whole call; above retry so it bounds every attempt',
      layer: deadlineFilter({ clock: params.clock, inheritAmbient: params.inheritAmbientDeadline }),
    },
    {
      role: 'attempt',
      description:
        "per attempt: number, the attempt's deadline, per-attempt timeout; below retry, above balance",
      layer: attemptFilter({ clock: params.clock }),
    },
  ]);
}
