/**
 * Telemetry of a server: each plugin the `telemetry` option lists is attached once to the server
 * (as a client's `TelemetryPlugin` is to a client) and gives the hooks the adapters call. Several
 * plugins are called in turn. A hook that throws is reported as a `WeftWarning` and never reaches
 * the request: hooks run inside response events, where a throw would take the process down.
 */

import { ConfigError } from '../core/errors.js';
import { reportHookError } from '../core/events.js';
import type {
  ObservedServer,
  RejectionReason,
  ServerObserver,
  ServerTelemetryPlugin,
} from '../core/server-observer.js';

export type { ServerTelemetryPlugin } from '../core/server-observer.js';

/** The `telemetry` option as a list; anything without an `attach` method throws a ConfigError. */
export function telemetryPlugins(value: unknown): readonly ServerTelemetryPlugin[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  list.forEach((plugin: unknown, i) => {
    if (
      plugin === null ||
      typeof plugin !== 'object' ||
      typeof (plugin as ServerTelemetryPlugin).attach !== 'function'
    ) {
      throw new ConfigError(
        Array.isArray(value) ? `telemetry[${i}]` : 'telemetry',
        plugin,
        'expected a server telemetry plugin (an object with an attach method)',
      );
    }
  });
  return list as ServerTelemetryPlugin[];
}

/** Attach every plugin to `server`: one observer that calls them all, or none without plugins. */
export function attachTelemetry(
  plugins: readonly ServerTelemetryPlugin[],
  server: ObservedServer,
): ServerObserver | undefined {
  if (plugins.length === 0) return undefined;
  return new GuardedObservers(plugins.map((plugin) => plugin.attach(server)));
}

/** Calls each observer's hook in turn; a throw is reported, not passed on. */
class GuardedObservers implements ServerObserver {
  constructor(private readonly observers: readonly ServerObserver[]) {}

  requestFinished(route: string, status: number, durationMs: number): void {
    for (const o of this.observers) {
      try {
        o.requestFinished?.(route, status, durationMs);
      } catch (error) {
        reportHookError('a server telemetry hook (requestFinished)', error);
      }
    }
  }

  requestRejected(route: string, reason: RejectionReason): void {
    for (const o of this.observers) {
      try {
        o.requestRejected?.(route, reason);
      } catch (error) {
        reportHookError('a server telemetry hook (requestRejected)', error);
      }
    }
  }

  deadlineReceived(remainingMs: number): void {
    for (const o of this.observers) {
      try {
        o.deadlineReceived?.(remainingMs);
      } catch (error) {
        reportHookError('a server telemetry hook (deadlineReceived)', error);
      }
    }
  }

  close(): void {
    for (const o of this.observers) {
      try {
        o.close?.();
      } catch (error) {
        reportHookError('a server telemetry hook (close)', error);
      }
    }
  }
}
