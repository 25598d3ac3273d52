/**
 * `weft/opentelemetry`: traces for weft clients through @opentelemetry/api (a peer dependency).
 *
 * @example
 * const client = createHttpClient({ endpoints, telemetry: openTelemetryTracing() });
 */
// First: on a Node.js below the floor, fail here with a clear error, before undici loads.
import './node-check.js';

export { type OpenTelemetryTracingOptions, openTelemetryTracing } from './telemetry/opentelemetry.js';
