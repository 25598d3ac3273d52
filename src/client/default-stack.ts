/**
 * The default client stack, outermost first, each role with the reason it sits where it does
 * (Finagle's StackClient). A call runs down these filters to the balancer, which picks an
 * endpoint and runs that endpoint's stack (./endpoint-stack.ts) down to the transport.
 *
 *   observe    (when telemetry is on) one span and the logical metrics of the whole call: above
 *              deadline, so deadline failures and all retries are part of what it sees.
 *   deadline   one deadline for the whole call: above everything that waits or repeats (breaker
 *              probes, retries, backoff), so one budget bounds them all.
 *   breaker    (optional) fails calls fast while the dependency is down: above retry, so that it
 *              judges whole calls and a call it rejects is never retried.
 *   throttle   (optional) SRE adaptive throttling: above retry for the same reason; counts the
 *              application's requests, as the SRE book defines them.
 *   retry      sends a retryable failure again, under the budget: above hedge and attempt, so
 *              that each retry is a new attempt, balanced afresh.
 *   hedge      (optional) a backup attempt when the first is slow: below retry (it works inside
 *              one try), above attempt (each copy is an attempt of its own).
 *   attempt    once per attempt: numbering, the attempt's deadline and per-attempt timeout; above
 *              the balancer, so the timeout covers the wait for an endpoint.
 *   (balance)  not a filter: the terminal of this stack; see src/balance/balancer.ts.
 *
 * Later roles slot in by name: route and observe above deadline (docs/architecture.md).
 */
import type { Clock } from '../core/clock.js';
import type { CallContext } from '../core/context.js';
import type { ProtocolAdapter } from '../core/protocol.js';
import { contextFilter, type Filter } from '../core/service.js';
import type { SharedReadings } from '../core/shared-readings.js';
import { Stack, type StackEntry } from '../core/stack.js';
import { attemptFilter } from '../policies/attempt.js';
import { deadlineFilter } from '../policies/deadline.js';
import { type RetryFilterOptions, retryFilter } from '../policies/retry.js';

/** What the default filters are built from; optional roles are present when their filter is given. */
export interface ClientStackParams<Req, Res> {
  readonly clock: Clock;
  readonly adapter: ProtocolAdapter<Req, Res>;
  readonly inheritAmbientDeadline: boolean;
  /** Retry settings; undefined leaves the `retry` role out. */
  readonly retry: RetryFilterOptions<Req, Res> | undefined;
  readonly breaker?: Filter<Req, Res> | undefined;
  readonly throttle?: Filter<Req, Res> | undefined;
  readonly hedge?: Filter<Req, Res, CallContext> | undefined;
  /** Telemetry's observe filter; undefined leaves the `observe` role out. */
  readonly observe?: Filter<Req, Res, CallContext> | undefined;
  /** Which layers may share a clock reading, decided once the stack is edited (../core/shared-readings.ts). */
  readonly readings?: SharedReadings | undefined;
}

/** The default call-path stack of a client. */
export function defaultClientStack<Req, Res>(params: ClientStackParams<Req, Res>): Stack<Filter<Req, Res>> {
  const entries: StackEntry<Filter<Req, Res>>[] = [];
  if (params.observe !== undefined) {
    entries.push({
      role: 'observe',
      description:
        'metrics and traces of the logical call; above deadline, so it sees deadline failures and every retry',
      layer: contextFilter(params.observe),
    });
  }
  entries.push({
    role: 'deadline',
    description: 'min(ambient deadline, total timeout) for the whole call; above all that waits or repeats',
    layer: contextFilter(
      deadlineFilter({ clock: params.clock, inheritAmbient: params.inheritAmbientDeadline }),
    ),
  });
  if (params.breaker !== undefined) {
    entries.push({
      role: 'breaker',
      description: 'fails calls fast while the dependency is down; above retry, judging whole calls',
      layer: params.breaker,
    });
  }
  if (params.throttle !== undefined) {
    entries.push({
      role: 'throttle',
      description: 'SRE adaptive throttling of application requests; above retry',
      layer: params.throttle,
    });
  }
  if (params.retry !== undefined) {
    entries.push({
      role: 'retry',
      description:
        'retries retryable failures under the budget; above attempt, so each retry is balanced afresh',
      layer: contextFilter(retryFilter(params.retry)),
    });
  }
  if (params.hedge !== undefined) {
    entries.push({
      role: 'hedge',
      description: 'a backup attempt when the first is slow; inside one try, above attempt',
      layer: contextFilter(params.hedge),
    });
  }
  entries.push({
    role: 'attempt',
    description:
      "per attempt: number, the attempt's deadline, per-attempt timeout; below retry, above balance",
    layer: contextFilter(
      attemptFilter({ clock: params.clock, adapter: params.adapter, readings: params.readings }),
    ),
  });
  return Stack.of(entries);
}
