/**
 * The transport's attempt handler (src/http/attempt-handler.ts) on real loopback servers: what
 * undici's request() gave callers (body stream, trailers, HEAD, informational responses), whether
 * a request was written for every method, and cancellation before, during and after the headers.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Cancellation } from '../../src/core/cancellation.js';
import { AttemptTimeoutError, type HttpClassifier } from '../../src/index.js';
import { refusedPort } from '../support/chaos-servers.js';
import { loopbackFixtures } from '../support/fixtures.js';

const { backends, client } = loopbackFixtures();

describe('responses', () => {
  it('gives the body as undici does, with trailers once it has been read', async () => {
    const backend = await backends.start((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('hello ');
      res.addTrailers({ 'x-checksum': 'abc123' });
      res.end('world');
    });
    const c = client({ endpoints: [backend.address] });
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(await res.body.text()).toBe('hello world');
    expect(res.trailers).toEqual({ 'x-checksum': 'abc123' });
  });

  it('answers HEAD with an empty body and keeps its content-length header', async () => {
    const backend = await backends.start((_req, res) => {
      res.writeHead(200, { 'content-length': '5' });
      res.end();
    });
    const c = client({ endpoints: [backend.address] });
    const res = await c.request({ path: '/', method: 'HEAD' });
    expect(res.headers['content-length']).toBe('5');
    expect(await res.body.text()).toBe('');
  });

  it('waits past an informational response for the final one', async () => {
    const backend = await backends.start((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload' }, () => {
        res.end('final');
      });
    });
    const c = client({ endpoints: [backend.address] });
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('final');
  });

  it('streams a large body with backpressure, byte for byte', async () => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    const backend = await backends.start((_req, res) => {
      for (let i = 0; i < 32; i++) res.write(chunk);
      res.end();
    });
    const c = client({ endpoints: [backend.address] });
    const res = await c.request({ path: '/' });
    let bytes = 0;
    for await (const part of res.body) {
      bytes += (part as Buffer).length;
      // A slow reader: undici must pause the socket rather than buffer without bound.
      if (bytes % (512 * 1024) < 64 * 1024) await new Promise((r) => setImmediate(r));
    }
    expect(bytes).toBe(32 * chunk.length);
  });
});

describe('whether the request was written', () => {
  /** A classifier that records `outcome.written` of every failed attempt, then defers. */
  function recordWritten(into: boolean[]): HttpClassifier {
    return (_req, outcome) => {
      if (outcome.error !== undefined) into.push(outcome.written);
      return undefined;
    };
  }

  it('is false for a GET that timed out waiting in the pool for a connection', async () => {
    const backend = await backends.start((_req, res) => {
      setTimeout(() => res.end('slow'), 300);
    });
    const written: boolean[] = [];
    const c = client({
      endpoints: [backend.address],
      connections: 1,
      retry: { maxAttempts: 1 },
      classifier: recordWritten(written),
    });
    // The first call holds the only connection; the second waits behind it and times out unsent.
    const first = c.request({ path: '/first' });
    const second = c.request({ path: '/second', attemptTimeoutMs: 50 });
    await expect(second).rejects.toBeInstanceOf(AttemptTimeoutError);
    await (await first).body.text();
    expect(written).toEqual([false]);
    expect(backend.seen.map((s) => s.url)).toEqual(['/first']);
  });

  it('is true for a GET that timed out after it was sent', async () => {
    const backend = await backends.start((_req, res) => {
      setTimeout(() => res.end('slow'), 300);
    });
    const written: boolean[] = [];
    const c = client({
      endpoints: [backend.address],
      retry: { maxAttempts: 1 },
      classifier: recordWritten(written),
    });
    await expect(c.request({ path: '/', attemptTimeoutMs: 50 })).rejects.toBeInstanceOf(AttemptTimeoutError);
    expect(written).toEqual([true]);
  });

  it('is false for a POST whose connection was refused, and its stream body is destroyed', async () => {
    const port = await refusedPort();
    const written: boolean[] = [];
    const c = client({
      endpoints: [`127.0.0.1:${port}`],
      retry: { maxAttempts: 1 },
      classifier: recordWritten(written),
    });
    const body = new Readable({ read() {} });
    body.push('payload');
    await expect(c.request({ path: '/', method: 'POST', body })).rejects.toThrow();
    expect(written).toEqual([false]);
    expect(body.destroyed).toBe(true);
  });
});

describe('cancellation', () => {
  it("aborts the body while it streams when the caller's signal fires", async () => {
    const backend = await backends.start((_req, res) => {
      res.writeHead(200);
      res.write('part');
      // Never ends on its own.
    });
    const c = client({ endpoints: [backend.address] });
    const controller = new AbortController();
    const res = await c.request({ path: '/', signal: controller.signal });
    const reading = res.body.text();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(reading).rejects.toBe(reason);
  });

  it('sends nothing when the call is already cancelled as the attempt is dispatched', async () => {
    const backend = await backends.start((_req, res) => res.end('ok'));
    const c = client({ endpoints: [backend.address] });
    const controller = new AbortController();
    const reason = new Error('cancelled first');
    controller.abort(reason);
    await expect(c.request({ path: '/', signal: controller.signal })).rejects.toBe(reason);
    expect(backend.seen).toHaveLength(0);
  });
});

describe('Cancellation listeners', () => {
  it('calls functions and handleEvent objects, once, and not after they are removed', () => {
    const token = new Cancellation();
    const calls: string[] = [];
    const listener = { handleEvent: () => calls.push('object') };
    const removed = { handleEvent: () => calls.push('removed') };
    token.addEventListener('abort', () => calls.push('function'));
    token.addEventListener('abort', listener);
    token.addEventListener('abort', removed);
    token.removeEventListener('abort', removed);
    token.abort(new Error('x'));
    token.abort(new Error('again'));
    expect(calls).toEqual(['function', 'object']);
    // Once cancelled, a new listener runs at once.
    token.addEventListener('abort', { handleEvent: () => calls.push('late') });
    expect(calls).toEqual(['function', 'object', 'late']);
  });
});
