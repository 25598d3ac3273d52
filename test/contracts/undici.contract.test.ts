/**
 * Contract tests: what weft uses of undici beyond its typed, documented API, asserted against the
 * undici installed here. weft's HTTP transport builds undici's own response body from an
 * unexported module, adapts Node's bundled fetch through an untyped static, and depends on how
 * undici drives a dispatch handler and its controller. None of that is checked by the type
 * checker, so an undici release that changed it would break weft's users with no compile error;
 * these tests make it break here first. Each `describe` names the weft files that rely on it.
 *
 * Written against undici 8.12.4, the lowest version in weft's range (`^8.12.4`) and the one the
 * lock file installs; they also pass on 8.14.0, the newest 8.x when they were written. When a test
 * here fails after an upgrade, the upgrade changed something weft relies on: adapt the weft file
 * named in the test, then this test, in the same change.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable as NodeReadable } from 'node:stream';
import {
  Dispatcher,
  Dispatcher1Wrapper,
  fetch,
  getGlobalDispatcher,
  MockAgent,
  Pool,
  setGlobalDispatcher,
} from 'undici';
import undiciReadable from 'undici/lib/api/readable.js';
import { afterEach, describe, expect, it } from 'vitest';
import { refusedPort } from '../support/chaos-servers.js';
import { Backends } from '../support/http-servers.js';

const require = createRequire(import.meta.url);
const UNDICI_VERSION = (require('undici/package.json') as { version: string }).version;

/** The weft files that rely on what this file pins. */
const RELIES_ON_UNDICI = {
  responseBody: 'src/http/transport/response-body.ts',
  readableShim: 'src/types/undici-readable.d.ts',
  attemptHandler: 'src/http/transport/attempt-handler.ts',
  transport: 'src/http/transport/transport.ts',
  dispatcher: 'src/http/dispatch/dispatcher.ts',
  globalDispatcher: 'src/http/dispatch/global-dispatcher.ts',
  mockAgentFactory: 'src/http/dispatch/mock-agent-factory.ts',
} as const;

const backends = new Backends();
const pools: Dispatcher[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
  await backends.closeAll();
});

function pool(origin: string): Pool {
  const p = new Pool(origin);
  pools.push(p);
  return p;
}

type Controller = Dispatcher.DispatchController;

/** The error a read was refused with, whether the call threw it or its promise rejected with it. */
async function refusal(read: () => Promise<unknown>): Promise<unknown> {
  try {
    await read();
  } catch (error) {
    return error;
  }
  throw new Error('the read was not refused');
}

/**
 * A dispatch handler written as weft writes AttemptHandler: a class, whose methods undici calls on
 * the object. It records each call and, optionally, acts on the controller.
 */
class RecordingHandler implements Dispatcher.DispatchHandler {
  readonly calls: string[] = [];
  readonly chunks: Buffer[] = [];
  controller: Controller | null = null;
  context: unknown;
  statusCode = 0;
  headers: Record<string, string | string[] | undefined> = {};
  trailers: Record<string, string | string[] | undefined> | null = null;
  error: Error | null = null;
  errorController: Controller | null | undefined;
  readonly done: Promise<void>;
  #settle!: () => void;

  constructor(
    readonly actions: {
      onRequestStart?: (controller: Controller) => void;
      onResponseStart?: (controller: Controller) => void;
      onResponseData?: (controller: Controller, chunk: Buffer) => void;
    } = {},
  ) {
    this.done = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  get received(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.calls.push('onRequestStart');
    this.controller = controller;
    this.context = context;
    this.actions.onRequestStart?.(controller);
  }

  onRequestSent(): void {
    this.calls.push('onRequestSent');
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.calls.push('onResponseStart');
    this.statusCode = statusCode;
    this.headers = headers;
    this.actions.onResponseStart?.(controller);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.calls.at(-1) !== 'onResponseData') this.calls.push('onResponseData');
    this.chunks.push(chunk);
    this.actions.onResponseData?.(controller, chunk);
  }

  onResponseEnd(_controller: Controller, trailers: Record<string, string | string[] | undefined>): void {
    this.calls.push('onResponseEnd');
    this.trailers = trailers;
    this.#settle();
  }

  onResponseError(controller: Controller | null | undefined, error: Error): void {
    this.calls.push('onResponseError');
    this.errorController = controller;
    this.error = error;
    this.#settle();
  }
}

describe(`undici ${UNDICI_VERSION}: contract tests`, () => {
  it.each(Object.values(RELIES_ON_UNDICI))('names %s, a weft file that exists', (file) => {
    // A weft file renamed or moved: update its name in RELIES_ON_UNDICI.
    expect(existsSync(new URL(`../../${file}`, import.meta.url))).toBe(true);
  });

  describe(`undici's BodyReadable, by path (${RELIES_ON_UNDICI.responseBody}, ${RELIES_ON_UNDICI.readableShim})`, () => {
    const BodyReadable = undiciReadable.Readable;
    type Body = InstanceType<typeof BodyReadable>;

    /** A body as weft's ResponseBody builds it: `resume` and `abort` are called on the stream. */
    function body(contentType = 'text/plain', contentLength: number | null = null) {
      const seen = { resumeThis: [] as unknown[], abortThis: [] as unknown[] };
      const b: Body = new BodyReadable({
        resume(this: never) {
          seen.resumeThis.push(this);
        },
        abort(this: never) {
          seen.abortThis.push(this);
        },
        contentType,
        contentLength,
      });
      return { b, seen };
    }

    function whole(...chunks: Array<string | Buffer>): Body {
      const { b } = body();
      for (const chunk of chunks) (b as unknown as NodeReadable).push(Buffer.from(chunk));
      (b as unknown as NodeReadable).push(null);
      return b;
    }

    it('is reachable as undici/lib/api/readable.js: undici has no exports map that hides it', () => {
      const pkg = JSON.parse(readFileSync(require.resolve('undici/package.json'), 'utf8')) as {
        exports?: unknown;
      };
      expect(pkg.exports).toBeUndefined();
      // Node's own resolver (which would honour an exports map), and the same module for import and require.
      const required = require('undici/lib/api/readable.js') as typeof undiciReadable;
      expect(required.Readable).toBe(BodyReadable);
    });

    it('exports Readable, a class that extends node:stream Readable', () => {
      expect(typeof BodyReadable).toBe('function');
      expect(BodyReadable.prototype).toBeInstanceOf(NodeReadable);
      expect(body().b).toBeInstanceOf(NodeReadable);
    });

    it('has text, json, bytes, arrayBuffer, blob on its prototype, where a subclass can override them', () => {
      const { b } = body();
      for (const method of ['text', 'json', 'bytes', 'arrayBuffer', 'blob', 'dump', 'formData'] as const) {
        expect(typeof BodyReadable.prototype[method], method).toBe('function');
        // An own property set in the constructor would hide ResponseBody's override.
        expect(Object.hasOwn(b, method), method).toBe(false);
      }
      expect(Object.getOwnPropertyDescriptor(BodyReadable.prototype, 'bodyUsed')?.get).toBeTypeOf('function');
      expect(Object.getOwnPropertyDescriptor(BodyReadable.prototype, 'body')?.get).toBeTypeOf('function');
    });

    it("calls `resume` on the stream itself when a reader wants data (the stream's _read)", async () => {
      const { b, seen } = body();
      const text = b.text();
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(seen.resumeThis.length).toBeGreaterThan(0);
      expect(seen.resumeThis.every((self) => self === b)).toBe(true);
      (b as unknown as NodeReadable).push(Buffer.from('late'));
      (b as unknown as NodeReadable).push(null);
      expect(await text).toBe('late');
    });

    it('calls `abort` on the stream itself when it is destroyed before its end', async () => {
      const { b, seen } = body();
      (b as unknown as NodeReadable).on('error', () => {});
      (b as unknown as NodeReadable).destroy(new Error('gone'));
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(seen.abortThis).toEqual([b]);
    });

    it('keeps pushed chunks in the buffer until read, and read() takes them all at once', () => {
      // ResponseBody's fast path: a whole, untouched body is taken with one read().
      const b = whole('hello ', 'world') as unknown as NodeReadable & Body;
      expect(b.readableLength).toBe(11);
      expect(b.readableFlowing).toBe(null);
      expect(b.readableDidRead).toBe(false);
      expect(b.readableEncoding).toBe(null);
      expect(b.bodyUsed).toBe(false);
      const all = b.read() as Buffer;
      expect(all.toString()).toBe('hello world');
      expect(b.bodyUsed).toBe(true);
    });

    it('consumes as fetch does: BOM dropped, JSON parsed, bytes copied, blob typed, then unusable', async () => {
      // ResponseBody's fast path gives these same results without undici's consume path.
      const bom = Buffer.from([0xef, 0xbb, 0xbf]);
      expect(await whole(Buffer.concat([bom, Buffer.from('hi')])).text()).toBe('hi');
      expect(await whole('{"a":', '1}').json()).toEqual({ a: 1 });
      const bytes = await whole('ab').bytes();
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(bytes).toString()).toBe('ab');
      expect(new Uint8Array(await whole('ab').arrayBuffer())).toEqual(new Uint8Array([0x61, 0x62]));
      const blob = await whole('<p/>').blob();
      expect(blob.type).toBe('text/plain');
      const once = whole('once');
      expect(await once.text()).toBe('once');
      expect(once.bodyUsed).toBe(true);
      // Refused, though not as the fast path refuses it (a TypeError): undici 8.12.4 throws an
      // AssertionError from the call itself. Either way the caller gets no second body.
      expect(await refusal(() => once.text())).toBeInstanceOf(Error);
    });
  });

  describe(`Dispatcher1Wrapper.wrapHandler (${RELIES_ON_UNDICI.dispatcher})`, () => {
    /** weft's ResponseController sets rawHeaders and rawTrailers as flat string arrays. */
    function controller() {
      const calls: string[] = [];
      const c = {
        aborted: false,
        paused: false,
        reason: null as Error | null,
        rawHeaders: ['content-type', 'text/plain', 'x-a', '1'] as string[] | null,
        rawTrailers: ['x-sum', 'abc'] as string[] | null,
        abort(reason: Error) {
          calls.push('abort');
          c.reason = reason;
        },
        pause() {
          calls.push('pause');
        },
        resume() {
          calls.push('resume');
        },
      };
      return { c, calls };
    }

    const wrapHandler = (Dispatcher1Wrapper as unknown as { wrapHandler?: unknown }).wrapHandler;

    it('is a static function of Dispatcher1Wrapper', () => {
      expect(wrapHandler).toBeTypeOf('function');
    });

    it("adapts a legacy handler (Node's bundled fetch) to the controller API, both ways", () => {
      const seen: unknown[][] = [];
      let abortFn: ((reason: Error) => void) | undefined;
      let resumeFn: (() => void) | undefined;
      const legacy = {
        onConnect(abort: (reason: Error) => void, context: unknown) {
          abortFn = abort;
          seen.push(['onConnect', context]);
        },
        onHeaders(status: number, rawHeaders: unknown, resume: () => void, statusText: string) {
          resumeFn = resume;
          seen.push(['onHeaders', status, rawHeaders, statusText]);
          return false; // a full buffer: the wrapper pauses
        },
        onData(chunk: Buffer) {
          seen.push(['onData', chunk.toString()]);
          return false;
        },
        onComplete(rawTrailers: unknown) {
          seen.push(['onComplete', rawTrailers]);
        },
        onError(error: Error) {
          seen.push(['onError', error.message]);
        },
      };
      // weft calls it as `legacyAdapter.call(Dispatcher1Wrapper, handler)`.
      const adapted = (wrapHandler as (h: unknown) => Dispatcher.DispatchHandler).call(
        Dispatcher1Wrapper,
        legacy,
      );
      const { c, calls } = controller();
      const ctl = c as unknown as Controller;
      adapted.onRequestStart?.(ctl, { at: 'start' });
      adapted.onResponseStart?.(ctl, 200, { 'content-type': 'text/plain', 'x-a': '1' }, 'OK');
      adapted.onResponseData?.(ctl, Buffer.from('hi'));
      adapted.onResponseEnd?.(ctl, { 'x-sum': 'abc' });
      adapted.onResponseError?.(ctl, new Error('late'));
      expect(seen).toEqual([
        ['onConnect', { at: 'start' }],
        ['onHeaders', 200, ['content-type', 'text/plain', 'x-a', '1'], 'OK'],
        ['onData', 'hi'],
        ['onComplete', ['x-sum', 'abc']],
        ['onError', 'late'],
      ]);
      // onHeaders and onData returning false pause; the legacy resume and abort reach the controller.
      expect(calls).toEqual(['pause', 'pause']);
      resumeFn?.();
      const reason = new Error('stop');
      abortFn?.(reason);
      expect(calls).toEqual(['pause', 'pause', 'resume', 'abort']);
      expect(c.reason).toBe(reason);
    });
  });

  describe(`setGlobalDispatcher also installs it for Node's bundled fetch (${RELIES_ON_UNDICI.globalDispatcher})`, () => {
    it("stores the dispatcher, and a Dispatcher1Wrapper of it under the key Node's fetch reads", () => {
      const previous = getGlobalDispatcher();
      const dispatched: Dispatcher.DispatchHandler[] = [];
      class Target extends Dispatcher {
        override dispatch(
          _options: Dispatcher.DispatchOptions,
          handler: Dispatcher.DispatchHandler,
        ): boolean {
          dispatched.push(handler);
          return true;
        }
      }
      const target = new Target();
      setGlobalDispatcher(target);
      try {
        const globals = globalThis as Record<symbol, unknown>;
        expect(getGlobalDispatcher()).toBe(target);
        expect(globals[Symbol.for('undici.globalDispatcher.2')]).toBe(target);
        const legacy = globals[Symbol.for('undici.globalDispatcher.1')] as Dispatcher;
        expect(legacy).toBeInstanceOf(Dispatcher1Wrapper);
        // What Node's bundled fetch does with it: a legacy handler reaches the target, adapted.
        legacy.dispatch({ origin: 'http://a.test', path: '/', method: 'GET' }, {
          onConnect() {},
        } as unknown as Dispatcher.DispatchHandler);
        expect(dispatched).toHaveLength(1);
        expect(dispatched[0]!.onRequestStart).toBeTypeOf('function');
      } finally {
        setGlobalDispatcher(previous);
      }
    });
  });

  describe(`a Pool drives a handler object through the controller API (${RELIES_ON_UNDICI.attemptHandler}, ${RELIES_ON_UNDICI.transport}, ${RELIES_ON_UNDICI.responseBody})`, () => {
    it('calls onRequestStart, onRequestSent once written, then the response with parsed headers and trailers', async () => {
      const backend = await backends.start((_req, res) => {
        res.writeHead(200, {
          'content-type': 'text/plain',
          trailer: 'x-checksum',
          'set-cookie': ['a=1', 'b=2'],
        });
        res.write('hello ');
        res.addTrailers({ 'x-checksum': 'abc' });
        res.end('world');
      });
      const handler = new RecordingHandler();
      pool(`http://${backend.address}`).dispatch(
        { method: 'POST', path: '/', headers: { 'content-type': 'text/plain' }, body: 'ping' },
        handler,
      );
      await handler.done;
      expect(handler.calls).toEqual([
        'onRequestStart',
        'onRequestSent',
        'onResponseStart',
        'onResponseData',
        'onResponseEnd',
      ]);
      expect(handler.statusCode).toBe(200);
      // Lower-case names, string values, repeated headers as arrays (ResponseBody reads content-type and -length).
      expect(handler.headers['content-type']).toBe('text/plain');
      expect(handler.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(Buffer.concat(handler.chunks).toString()).toBe('hello world');
      expect(handler.trailers).toEqual({ 'x-checksum': 'abc' });
      expect(backend.seen[0]!.body).toBe('ping');
    });

    it('reports a refused connection through onResponseError alone, with no controller and no onRequestSent', async () => {
      // weft's retry safety: no onRequestSent means the request was not written, so it may be
      // requeued. onRequestStart comes only once a connection takes the request, so
      // AttemptHandler's onResponseError takes no controller for granted.
      const handler = new RecordingHandler();
      pool(`http://127.0.0.1:${await refusedPort()}`).dispatch(
        { method: 'POST', path: '/', body: 'x' },
        handler,
      );
      await handler.done;
      expect(handler.calls).toEqual(['onResponseError']);
      expect((handler.error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
      expect(handler.errorController ?? null).toBe(null);
    });

    it('fails with the very reason given to controller.abort in onRequestStart, sending nothing', async () => {
      const backend = await backends.start((_req, res) => res.end('ok'));
      const reason = new Error('deadline passed');
      const handler = new RecordingHandler({ onRequestStart: (c) => c.abort(reason) });
      const p = new Pool(`http://${backend.address}`, { connections: 1 });
      pools.push(p);
      p.dispatch({ method: 'GET', path: '/aborted' }, handler);
      await handler.done;
      expect(handler.calls).toEqual(['onRequestStart', 'onResponseError']);
      expect(handler.error).toBe(reason);
      // The next request on the one connection: the server sees it, and nothing before it.
      const next = new RecordingHandler();
      p.dispatch({ method: 'GET', path: '/next' }, next);
      await next.done;
      expect(backend.seen.map((s) => s.url)).toEqual(['/next']);
    });

    it('fails with the very reason given to controller.abort after the headers', async () => {
      const backend = await backends.start((_req, res) => {
        res.writeHead(200);
        res.write('partial'); // and never ends
      });
      const reason = new Error('cancelled');
      const handler = new RecordingHandler({
        onResponseStart: (c) => setImmediate(() => c.abort(reason)),
      });
      pool(`http://${backend.address}`).dispatch({ method: 'GET', path: '/' }, handler);
      await handler.done;
      expect(handler.calls.at(-1)).toBe('onResponseError');
      expect(handler.calls).not.toContain('onResponseEnd');
      expect(handler.error).toBe(reason);
    });

    it('stops delivering data after controller.pause() until controller.resume()', async () => {
      // ResponseBody pauses when its buffer is full and resumes from the stream's _read.
      const size = 8 * 1024 * 1024;
      const backend = await backends.start((_req, res) => {
        res.writeHead(200, { 'content-length': String(size) });
        res.end(Buffer.alloc(size, 0x61));
      });
      let paused = false;
      const handler = new RecordingHandler({
        onResponseData: (c) => {
          if (!paused) {
            paused = true;
            c.pause();
          }
        },
      });
      pool(`http://${backend.address}`).dispatch({ method: 'GET', path: '/' }, handler);
      while (!paused) await new Promise<void>((resolve) => setImmediate(resolve));
      const atPause = handler.received;
      // Long enough for 8 MiB to cross loopback many times over, had the pause been ignored.
      await new Promise<void>((resolve) => setTimeout(resolve, 100));
      expect(handler.received).toBe(atPause);
      expect(handler.received).toBeLessThan(size);
      handler.controller!.resume();
      await handler.done;
      expect(handler.received).toBe(size);
      expect(handler.calls.at(-1)).toBe('onResponseEnd');
    });
  });

  describe(`undici's fetch over a Dispatcher that answers as weft's does (${RELIES_ON_UNDICI.dispatcher})`, () => {
    /** Answers every dispatch as WeftDispatcher does, with its own controller. */
    class AnsweringDispatcher extends Dispatcher {
      readonly dispatched: Array<{
        options: Dispatcher.DispatchOptions;
        handler: Dispatcher.DispatchHandler;
      }> = [];
      readonly aborts: unknown[] = [];

      constructor(readonly answer: boolean) {
        super();
      }

      override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
        this.dispatched.push({ options, handler });
        const aborts = this.aborts;
        const controller = {
          aborted: false,
          paused: false,
          reason: null as Error | null,
          rawHeaders: null as string[] | null,
          rawTrailers: null as string[] | null,
          abort(reason: Error) {
            controller.aborted = true;
            controller.reason = reason;
            aborts.push(reason);
            handler.onResponseError?.(controller, reason);
          },
          pause() {
            controller.paused = true;
          },
          resume() {
            controller.paused = false;
          },
        };
        handler.onRequestStart?.(controller, {});
        if (!this.answer) return true;
        queueMicrotask(() => {
          controller.rawHeaders = ['content-type', 'text/plain', 'x-a', '1'];
          handler.onResponseStart?.(controller, 201, { 'content-type': 'text/plain', 'x-a': '1' }, 'Created');
          handler.onResponseData?.(controller, Buffer.from('made'));
          controller.rawTrailers = [];
          handler.onResponseEnd?.(controller, {});
        });
        return true;
      }
    }

    it('dispatches with a current-API handler and builds the Response from the controller calls', async () => {
      const dispatcher = new AnsweringDispatcher(true);
      const res = await fetch('http://api.test/users?page=2', {
        dispatcher,
        method: 'POST',
        headers: { 'x-b': '2' },
        body: 'x',
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-a')).toBe('1');
      expect(await res.text()).toBe('made');
      const { options, handler } = dispatcher.dispatched[0]!;
      // WeftDispatcher tells the two handler APIs apart by these methods.
      expect(handler.onRequestStart).toBeTypeOf('function');
      expect((handler as Record<string, unknown>).onConnect).toBeUndefined();
      expect(options).toMatchObject({ method: 'POST', path: '/users?page=2', origin: 'http://api.test' });
      expect(options.headers).toMatchObject({ 'x-b': '2' });
    });

    it("aborts through the dispatcher's controller when the caller's signal aborts", async () => {
      // WeftDispatcher's controller.abort cancels the weft call.
      const dispatcher = new AnsweringDispatcher(false);
      const caller = new AbortController();
      const res = fetch('http://api.test/', { dispatcher, signal: caller.signal });
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(dispatcher.dispatched).toHaveLength(1);
      caller.abort(new Error('caller gave up'));
      await expect(res).rejects.toThrow();
      expect(dispatcher.aborts).toHaveLength(1);
    });
  });

  describe(`MockAgent.dispatch, as mockAgentFactory lends it (${RELIES_ON_UNDICI.mockAgentFactory}, ${RELIES_ON_UNDICI.transport})`, () => {
    it('answers a current-API handler from the interceptors of the origin in the options, and records the call', async () => {
      const agent = new MockAgent({ enableCallHistory: true });
      agent.disableNetConnect();
      agent
        .get('http://127.0.0.1:8080')
        .intercept({ path: '/users/1', method: 'GET' })
        .reply(200, { id: 1 }, { headers: { 'content-type': 'application/json' } });
      const handler = new RecordingHandler();
      agent.dispatch(
        { origin: 'http://127.0.0.1:8080', path: '/users/1', method: 'GET', headers: {} },
        handler,
      );
      await handler.done;
      expect(handler.calls).toEqual([
        'onRequestStart',
        'onRequestSent',
        'onResponseStart',
        'onResponseData',
        'onResponseEnd',
      ]);
      expect(handler.statusCode).toBe(200);
      expect(handler.headers['content-type']).toBe('application/json');
      expect(JSON.parse(Buffer.concat(handler.chunks).toString())).toEqual({ id: 1 });
      expect(agent.getCallHistory()?.lastCall()?.path).toBe('/users/1');
      agent.assertNoPendingInterceptors();
      await agent.close();
    });

    it('reports an unmatched request through onResponseError, with no controller, when net connect is off', async () => {
      const agent = new MockAgent();
      agent.disableNetConnect();
      agent.get('http://127.0.0.1:8080').intercept({ path: '/a' }).reply(200, 'a');
      const handler = new RecordingHandler();
      agent.dispatch({ origin: 'http://127.0.0.1:8080', path: '/b', method: 'GET' }, handler);
      await handler.done;
      expect(handler.calls).toEqual(['onResponseError']);
      expect(handler.error).toMatchObject({ code: 'UND_MOCK_ERR_MOCK_NOT_MATCHED' });
      expect(handler.errorController ?? null).toBe(null);
      await agent.close();
    });

    it("throws from a MockPool's own dispatch when nothing matches (a dispatcherFactory may return one)", async () => {
      // UndiciEndpoint.call catches this throw and fails the attempt through the handler.
      const agent = new MockAgent();
      agent.disableNetConnect();
      const mockPool = agent.get('http://127.0.0.1:8080');
      mockPool.intercept({ path: '/a' }).reply(200, 'a');
      const handler = new RecordingHandler();
      expect(() =>
        mockPool.dispatch({ origin: 'http://127.0.0.1:8080', path: '/b', method: 'GET' }, handler),
      ).toThrow(expect.objectContaining({ code: 'UND_MOCK_ERR_MOCK_NOT_MATCHED' }));
      expect(handler.calls).toEqual([]);
      await agent.close();
    });
  });
});
