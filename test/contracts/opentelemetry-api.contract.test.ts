/**
 * Contract tests: the one thing weft's tracing uses of @opentelemetry/api beyond its documented
 * API. To make no span at all while no SDK is registered, weft compares the global provider's
 * delegate with the delegate of a `ProxyTracerProvider` of its own: while nothing is registered,
 * both are the API's single no-op provider. That identity is an implementation detail of the
 * API; if it changed, weft would either make no-op spans on every call (slower) or, if a
 * registered SDK no longer showed as the global proxy's delegate, never trace at all. These tests
 * fail first.
 *
 * Written against @opentelemetry/api 1.9.0, the lowest version in weft's peer range (`^1.9.0`) and
 * the development pin; they also pass on 1.10.0, the newest 1.x when they were written. When a
 * test here fails after an upgrade, adapt the weft file named in the test, then this test, in the
 * same change.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ProxyTracerProvider, type TracerProvider, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';

/** The installed version (the package's exports map does not expose its package.json). */
const API_VERSION = (() => {
  let dir = dirname(createRequire(import.meta.url).resolve('@opentelemetry/api'));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
})();

/** The weft files that rely on what this file pins. */
const RELIES_ON_OTEL_API = {
  tracing: 'src/telemetry/opentelemetry.ts',
} as const;

/** Stands for an SDK's provider: the API only needs getTracer. */
const sdkProvider: TracerProvider = {
  getTracer: () => trace.getTracerProvider().getTracer('unused'),
};

afterEach(() => {
  trace.disable();
});

describe(`@opentelemetry/api ${API_VERSION}: contract tests (${RELIES_ON_OTEL_API.tracing})`, () => {
  it.each(Object.values(RELIES_ON_OTEL_API))('names %s, a weft file that exists', (file) => {
    // A weft file renamed or moved: update its name in RELIES_ON_OTEL_API.
    expect(existsSync(new URL(`../../${file}`, import.meta.url))).toBe(true);
  });

  it('gives a ProxyTracerProvider as the global provider while no SDK is registered', () => {
    expect(trace.getTracerProvider()).toBeInstanceOf(ProxyTracerProvider);
  });

  it('delegates every ProxyTracerProvider to one shared no-op provider while none is set', () => {
    const global = trace.getTracerProvider() as ProxyTracerProvider;
    // weft makes its own at load time and compares delegates: the same object means "no SDK".
    expect(new ProxyTracerProvider().getDelegate()).toBe(global.getDelegate());
    expect(new ProxyTracerProvider().getDelegate()).toBe(new ProxyTracerProvider().getDelegate());
  });

  it('keeps the same global proxy once an SDK registers, delegating to the SDK from then on', () => {
    // weft holds on to the proxy it found when the client was made, and sees a later SDK through it.
    const before = trace.getTracerProvider() as ProxyTracerProvider;
    const noSdk = new ProxyTracerProvider().getDelegate();
    expect(trace.setGlobalTracerProvider(sdkProvider)).toBe(true);
    expect(trace.getTracerProvider()).toBe(before);
    expect(before.getDelegate()).toBe(sdkProvider);
    expect(before.getDelegate()).not.toBe(noSdk);
  });
});
