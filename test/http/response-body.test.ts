/**
 * The response body (src/http/response-body.ts): a whole, untouched body is read straight from
 * the stream's buffer, with the results undici's consume path gives; every other body goes
 * undici's way. Driven directly, as the attempt handler drives it, and through a client against a
 * loopback server, with a body that arrives whole and one still arriving when it is read.
 */
import { once } from 'node:events';
import type { Dispatcher } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ResponseBody } from '../../src/http/transport/response-body.js';
import { loopbackFixtures } from '../support/fixtures.js';

/** undici's BodyReadable: what the fast path must be as good as, and must not call. */
const undiciBody = Object.getPrototypeOf(ResponseBody.prototype) as ResponseBody;

function controller() {
  return { resume: vi.fn(), abort: vi.fn(), pause: vi.fn() };
}

/** A body as the attempt handler leaves it once the exchange has ended. */
function wholeBody(...chunks: Array<string | Buffer>): ResponseBody {
  const body = new ResponseBody(controller() as unknown as Dispatcher.DispatchController, 'text/plain', null);
  for (const chunk of chunks) body.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  body.endOfBody();
  return body;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a whole, untouched body', () => {
  it('is read from the buffer at once, not through undici consume path', async () => {
    const consume = vi.spyOn(undiciBody, 'text');
    const body = wholeBody('hello ', 'world');
    const closed = once(body, 'close');
    expect(await body.text()).toBe('hello world');
    expect(consume).not.toHaveBeenCalled();
    expect(body.bodyUsed).toBe(true);
    await closed;
    expect(body.readableEnded).toBe(true);
  });

  it('refuses a second read as unusable, as undici does', async () => {
    const body = wholeBody('once');
    expect(await body.text()).toBe('once');
    await expect(body.text()).rejects.toThrow(TypeError);
    await expect(body.json()).rejects.toThrow(TypeError);
  });

  it('drops a leading byte order mark, as fetch text() and undici do', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    expect(await wholeBody(Buffer.concat([bom, Buffer.from('{"a":1}')])).text()).toBe('{"a":1}');
    expect(await wholeBody(bom, '{"a":1}').json()).toEqual({ a: 1 });
  });

  it('parses JSON, and rejects bad JSON with the SyntaxError', async () => {
    expect(await wholeBody('{"ok":', 'true}').json()).toEqual({ ok: true });
    await expect(wholeBody('{"ok":').json()).rejects.toThrow(SyntaxError);
  });

  it('gives bytes and an ArrayBuffer of their own', async () => {
    const source = Buffer.from('abc');
    const bytes = await wholeBody(source).bytes();
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(bytes).toString()).toBe('abc');
    bytes[0] = 0x7a;
    expect(source.toString()).toBe('abc');
    const buffer = await wholeBody('ab', 'cd').arrayBuffer();
    expect(buffer).toBeInstanceOf(ArrayBuffer);
    expect(Buffer.from(buffer).toString()).toBe('abcd');
  });

  it('reads as empty when it had no bytes', async () => {
    expect(await wholeBody().text()).toBe('');
    expect((await wholeBody().bytes()).byteLength).toBe(0);
    expect((await wholeBody().arrayBuffer()).byteLength).toBe(0);
    await expect(wholeBody().json()).rejects.toThrow(SyntaxError);
  });
});

describe('any other body goes through undici', () => {
  it('one still arriving', async () => {
    const consume = vi.spyOn(undiciBody, 'text');
    const body = new ResponseBody(controller() as unknown as Dispatcher.DispatchController, undefined, null);
    body.push(Buffer.from('first '));
    const text = body.text();
    await new Promise((resolve) => setImmediate(resolve));
    body.push(Buffer.from('second'));
    body.endOfBody();
    expect(await text).toBe('first second');
    expect(consume).toHaveBeenCalledTimes(1);
  });

  it('one with an encoding set', async () => {
    const consume = vi.spyOn(undiciBody, 'text');
    const body = wholeBody('é');
    body.setEncoding('utf8');
    expect(await body.text()).toBe('é');
    expect(consume).toHaveBeenCalledTimes(1);
  });

  it('one paused by its reader', async () => {
    const consume = vi.spyOn(undiciBody, 'json');
    const body = wholeBody('[1,2]');
    body.pause();
    expect(await body.json()).toEqual([1, 2]);
    expect(consume).toHaveBeenCalledTimes(1);
  });

  it('one already read from (unusable, as in undici)', async () => {
    const consume = vi.spyOn(undiciBody, 'bytes');
    const body = wholeBody('abcdef');
    expect(body.read(2)?.toString()).toBe('ab');
    await expect(body.bytes()).rejects.toThrow(TypeError);
    expect(consume).toHaveBeenCalledTimes(1);
  });

  it('one destroyed by its reader', async () => {
    const consume = vi.spyOn(undiciBody, 'arrayBuffer');
    const body = wholeBody('gone');
    body.destroy();
    await expect(body.arrayBuffer()).rejects.toThrow();
    expect(consume).toHaveBeenCalledTimes(1);
  });

  it('one whose consume undici already has (blob)', async () => {
    const consume = vi.spyOn(undiciBody, 'blob');
    const body = wholeBody('blob');
    const blob = await body.blob();
    expect(await blob.text()).toBe('blob');
    expect(consume).toHaveBeenCalledTimes(1);
  });
});

describe('through a client', () => {
  const { backends, client } = loopbackFixtures();

  it('reads a small body that came in with its headers, and a large one still streaming', async () => {
    const large = 'x'.repeat(256 * 1024);
    const backend = await backends.start((req, res) => {
      if (req.url === '/small') {
        res.end('{"small":true}');
        return;
      }
      // Half now, half later: the caller reads while the body is still arriving.
      res.write(large.slice(0, large.length / 2));
      setTimeout(() => res.end(large.slice(large.length / 2)), 20);
    });
    const c = client({ endpoints: [backend.address] });
    const consume = vi.spyOn(undiciBody, 'json');
    const small = await c.request({ path: '/small' });
    expect(await small.body.json()).toEqual({ small: true });
    expect(consume).not.toHaveBeenCalled();
    const streamed = await c.request({ path: '/large' });
    expect(await streamed.body.text()).toBe(large);
  });
});
