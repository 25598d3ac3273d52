/**
 * `weft/opentelemetry`: traces for weft clients through @opentelemetry/api (a peer dependency).
 *
 * @example
 * const client = createHttpClient({ endpoints, telemetry: openTelemetryTracing() });
 */
export { type OpenTelemetryTracingOptions, openTelemetryTracing } from './telemetry/opentelemetry.js';
