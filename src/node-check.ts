/**
 * The first thing every entry point (index, testing, prometheus, opentelemetry) imports: on a
 * Node.js below the floor, throw UnsupportedNodeError before undici loads. In an ESM bundle the
 * imports of packages (undici among them) run before any code inlined into the entry, so the
 * check is a module of its own, built into a chunk that each entry imports first (ESM and CJS
 * alike); package.json `sideEffects` lists it so the build keeps that import.
 * test/node-check.test.ts checks the built files and loads them on an old Node.
 */
import { assertSupportedNode } from './core/node-version.js';

assertSupportedNode();
