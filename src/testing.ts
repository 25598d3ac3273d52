/**
 * `weft/testing`: what a user needs to test code that uses weft: a virtual clock for timing
 * (deadlines, backoff, ejection) and a `dispatcherFactory` that sends a client's requests to an
 * undici MockAgent. docs/testing.md shows both at work.
 */
// First: on a Node.js below the floor, fail here with a clear error, before undici loads.
import './node-check.js';

export { VirtualClock } from './core/virtual-clock.js';
export { mockAgentFactory } from './http/dispatch/mock-agent-factory.js';
