/**
 * `weft/testing`: what a user needs to test code that uses weft on virtual time.
 */
// First: on a Node.js below the floor, fail here with a clear error, before undici loads.
import './node-check.js';

export { VirtualClock } from './core/virtual-clock.js';
