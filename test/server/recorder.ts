/**
 * Test doubles for the server half: a telemetry plugin that records every hook call, and a
 * concurrency limit that records every sample the limiter feeds it.
 */

import type { ObservedServer, RejectionReason } from '../../src/core/server-observer.js';
import type { ConcurrencyLimit, LimitSample } from '../../src/policies/concurrency-limit/limit.js';
import type { ServerTelemetryPlugin } from '../../src/server/telemetry.js';

export interface Recorded {
  readonly finished: Array<{ route: string; status: number; durationMs: number }>;
  readonly rejected: Array<{ route: string; reason: RejectionReason }>;
  readonly deadlines: number[];
  closed: number;
  /** The server the plugin was attached to. */
  server: ObservedServer | undefined;
}

/** A telemetry plugin recording what the server tells it. */
export function recordingTelemetry(): { plugin: ServerTelemetryPlugin; recorded: Recorded } {
  const recorded: Recorded = { finished: [], rejected: [], deadlines: [], closed: 0, server: undefined };
  const plugin: ServerTelemetryPlugin = {
    attach(server) {
      recorded.server = server;
      return {
        requestFinished: (route, status, durationMs) => recorded.finished.push({ route, status, durationMs }),
        requestRejected: (route, reason) => recorded.rejected.push({ route, reason }),
        deadlineReceived: (ms) => recorded.deadlines.push(ms),
        close: () => {
          recorded.closed++;
        },
      };
    },
  };
  return { plugin, recorded };
}

/** A fixed limit that keeps the samples it is fed. */
export class RecordingLimit implements ConcurrencyLimit {
  readonly name = 'recording';
  readonly samples: LimitSample[] = [];
  constructor(readonly limit: number) {}
  update(sample: LimitSample): void {
    this.samples.push(sample);
  }
}
