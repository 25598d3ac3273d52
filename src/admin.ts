/**
 * `weft/admin`: the admin page's JSON in code and its defaults. `adminState(clients, clock,
 * servers)` builds the object the page's `state.json` serves, for a route or a health check of
 * your own; the `Admin*` types describe it (schema: docs/admin.md). `adminServerTelemetry()`
 * counts the server half's rejections for the page. The page itself (`startAdminServer`,
 * `createAdminHandler`) is in `weft`.
 */
// First: on a Node.js below the floor, fail here with a clear error, before undici loads.
import './node-check.js';

export type { AccrualStateName } from './policies/failure-accrual.js';
export { ADMIN_DEFAULTS } from './telemetry/admin.js';
export { type AdminServerTelemetry, adminServerTelemetry } from './telemetry/admin-servers.js';
export {
  type AdminAccrualState,
  type AdminClient,
  type AdminClientState,
  type AdminDiscoveryState,
  type AdminEndpointState,
  type AdminHedgeState,
  type AdminObservedServerState,
  type AdminProtocol,
  type AdminRejections,
  type AdminState,
  type AdminThrottleState,
  adminState,
  type GrpcClientLike,
} from './telemetry/admin-state.js';
export type { ObservedServer, RejectionReason, ServerTelemetryPlugin } from './telemetry/server-view.js';
