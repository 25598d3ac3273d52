/**
 * The default client stack, outermost first, each role with the reason it sits where it does
 * (Finagle's StackClient). A call runs down these filters to the balancer, which picks an
 * endpoint and runs that endpoint's stack (./endpoint-stack.ts) down to the transport.
 *
 *   deadline   one deadline for the whole call: it must sit above retry so that it bounds every
 *              attempt and every backoff, and below route/observe so they see deadline failures.
 *   attempt    once per attempt: numbering, per-attempt timeout, outbound deadline header. It must
 *              sit below retry/hedge (it runs per attempt) and above the balancer (the header is
 *              written before an endpoint is picked, the timeout covers the pick's wait).
 *   (balance)  not a filter: the terminal of this stack; see src/balance/balancer.ts.
 *
 * Later roles slot in by name: route and observe above deadline; retry and hedge between deadline
 * and attempt (docs/architecture.md keeps the full order).
 */
import type { Clock } from '../core/clock.js';
import type { ProtocolAdapter } from '../core/protocol.js';
import type { Filter } from '../core/service.js';
import { Stack } from '../core/stack.js';
import { attemptFilter } from '../policies/attempt.js';
import { deadlineFilter } from '../policies/deadline.js';

/** What the default filters are built from. */
export interface ClientStackParams<Req> {
  readonly clock: Clock;
  readonly adapter: ProtocolAdapter<Req>;
  readonly inheritAmbientDeadline: boolean;
  readonly propagateDeadline: boolean;
}

/** The default call-path stack of a client. */
export function defaultClientStack<Req, Res>(params: ClientStackParams<Req>): Stack<Filter<Req, Res>> {
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
        'per attempt: number, per-attempt timeout, outbound deadline header; below retry, above balance',
      layer: attemptFilter({
        clock: params.clock,
        adapter: params.adapter,
        propagateDeadline: params.propagateDeadline,
      }),
    },
  ]);
}
