/**
 * `weft/testing`: what a user needs to test code that uses weft on virtual time.
 */
export { VirtualClock } from './core/virtual-clock.js';
