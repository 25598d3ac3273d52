/**
 * Per-file fixtures for tests on loopback: backends and weft clients that are closed after each
 * test, so no test leaves a socket or a server behind.
 */
import { afterEach } from 'vitest';
import { createHttpClient, type HttpClient, type HttpClientOptions } from '../../src/index.js';
import { Backends } from './http-servers.js';

export interface LoopbackFixtures {
  readonly backends: Backends;
  /** A client closed after the current test. */
  client(options: HttpClientOptions): HttpClient;
}

/** Call at the top of a test file. */
export function loopbackFixtures(): LoopbackFixtures {
  const backends = new Backends();
  const clients: HttpClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await backends.closeAll();
  });
  return {
    backends,
    client(options) {
      const c = createHttpClient(options);
      clients.push(c);
      return c;
    },
  };
}
