/**
 * The body of a response: undici's own `BodyReadable` (a Node Readable with `text()`, `json()`,
 * `bytes()`, `arrayBuffer()`, `blob()`, `dump()` and `body`, the same object undici's `request()`
 * returns), fed by the attempt's handler, which drives the exchange through undici's controller.
 *
 * One difference, for speed: when the whole body is already in the stream's buffer and nothing
 * has touched the stream yet, `text()`, `json()`, `bytes()` and `arrayBuffer()` take it from there
 * at once. That is the usual case: a small response arrives in the same socket read as its
 * headers, so its last byte is in before the caller's `await` resumes. undici's consume path
 * waits for data that is already there: a promise, a microtask, a record and three listeners per
 * body (about 0.7 µs a call, docs/benchmarks.md). Any other body (still arriving, read from,
 * flowing, decoded with `setEncoding`, exposed as a web stream, or already being consumed) takes
 * undici's path unchanged. What the caller sees is the same either way: the value, `bodyUsed`
 * true afterwards, `'end'` and `'close'` on the stream, and a second read refused as unusable.
 */
import type { Dispatcher } from 'undici';
import undiciReadable from 'undici/lib/api/readable.js';

type Controller = Dispatcher.DispatchController;

const BodyReadable = undiciReadable.Readable;

/** Where a body keeps its exchange's controller, for `resumeBody` and `abortBody`. */
const CONTROLLER = Symbol('weft.controller');

export class ResponseBody extends BodyReadable {
  readonly [CONTROLLER]: Controller;
  /** The handler pushed the end of the body: all of it is in the buffer (or already read). */
  #whole = false;
  /** The fast path may no longer run: it already did, or undici's consume path has the body. */
  #claimed = false;

  constructor(controller: Controller, contentType: string | undefined, contentLength: number | null) {
    // undici calls `resume` and `abort` on the stream itself: no closures per body.
    super({ resume: resumeBody, abort: abortBody, contentType, contentLength });
    this[CONTROLLER] = controller;
  }

  /** The last chunk has been pushed: end the stream, and let a read take the whole body at once. */
  endOfBody(): void {
    this.#whole = true;
    this.push(null);
  }

  override text(): Promise<string> {
    if (this.#takeable()) return Promise.resolve(decodeUtf8(this.#take()));
    this.#claimed = true;
    return super.text();
  }

  override json(): Promise<unknown> {
    if (!this.#takeable()) {
      this.#claimed = true;
      return super.json();
    }
    try {
      return Promise.resolve(JSON.parse(decodeUtf8(this.#take())));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  override bytes(): Promise<Uint8Array> {
    if (this.#takeable()) return Promise.resolve(copyOf(this.#take()));
    this.#claimed = true;
    return super.bytes();
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#takeable()) return Promise.resolve(copyOf(this.#take()).buffer as ArrayBuffer);
    this.#claimed = true;
    return super.arrayBuffer();
  }

  override blob(): Promise<Blob> {
    this.#claimed = true;
    return super.blob();
  }

  /** Whole, untouched, undecoded and unclaimed: the bytes can be taken straight from the buffer. */
  #takeable(): boolean {
    return (
      this.#whole &&
      !this.#claimed &&
      this.readableFlowing === null &&
      !this.readableDidRead &&
      !this.destroyed &&
      this.readableEncoding === null
    );
  }

  /** Every buffered byte in one read, which also ends the stream and marks it used. */
  #take(): Buffer | null {
    this.#claimed = true;
    return this.read() as Buffer | null;
  }
}

/** undici's `resume`, called on the stream: the reader wants more. */
function resumeBody(this: ResponseBody): void {
  this[CONTROLLER].resume();
}

/** undici's `abort`, called on the stream: it was destroyed before its end. */
function abortBody(this: ResponseBody, reason?: Error): void {
  this[CONTROLLER].abort(reason as Error);
}

/** UTF-8 decode as fetch's `text()` does (and undici's): a leading byte order mark is dropped. */
function decodeUtf8(bytes: Buffer | null): string {
  if (bytes === null) return '';
  const bom = bytes.length > 2 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return bytes.toString('utf8', bom ? 3 : 0);
}

/** The bytes in a Uint8Array of their own (undici copies too: a Buffer may sit in a shared slab). */
function copyOf(bytes: Buffer | null): Uint8Array {
  return bytes === null ? new Uint8Array(0) : new Uint8Array(bytes);
}
