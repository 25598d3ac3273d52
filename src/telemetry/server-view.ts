/**
 * The server half's contract with telemetry (../core/server-observer.ts), as telemetry names it.
 */
export {
  type ObservedServer,
  REJECTION_REASONS,
  type RejectionReason,
  type ServerObserver,
  type ServerTelemetryPlugin,
} from '../core/server-observer.js';
