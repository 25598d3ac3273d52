/**
 * Replayable request bodies. A string, bytes, a Blob or FormData can be sent again as they are.
 * A stream can be sent once; to make a retry possible weft keeps a copy of what the transport
 * reads from it, up to a bound (64 KiB, Linkerd's retry buffer), and replays the copy. A stream
 * longer than the bound is sent normally but never retried; a stream the transport had not
 * started reading (the connection was refused) is still whole and is sent as it is.
 */
import type { Readable } from 'node:stream';
import type { HttpBody } from '../protocol/request.js';

/** Bytes of a streamed body kept for replay (Linkerd's retry buffer, 64 KiB). */
export const DEFAULT_REPLAY_BUFFER_BYTES = 64 * 1024;

/** A streamed body that keeps a bounded copy of what was read from it. */
export class BufferingBody implements AsyncIterable<Uint8Array> {
  readonly #source: AsyncIterable<Uint8Array>;
  readonly #limit: number;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #overflowed = false;
  #started = false;
  #finished = false;

  constructor(source: AsyncIterable<Uint8Array>, limit: number) {
    this.#source = source;
    this.#limit = limit;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    this.#started = true;
    for await (const chunk of this.#source) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (!this.#overflowed) {
        this.#size += bytes.byteLength;
        if (this.#size > this.#limit) {
          this.#overflowed = true;
          this.#chunks = [];
        } else {
          this.#chunks.push(bytes);
        }
      }
      yield bytes;
    }
    this.#finished = true;
  }

  /**
   * The body to send on the next attempt: this same stream if nothing was read from it yet, the
   * buffered copy if it was read to the end within the bound, or `undefined` if it cannot be replayed.
   */
  replay(): HttpBody | undefined {
    if (!this.#started) return this as unknown as HttpBody;
    if (this.#finished && !this.#overflowed) return Buffer.concat(this.#chunks);
    return undefined;
  }
}

/** Is `body` sent from memory (and so replayable as it is)? */
export function isInMemoryBody(body: HttpBody | undefined): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof Uint8Array ||
    body instanceof Blob ||
    body instanceof FormData
  );
}

/** Wrap a streamed body so it can be replayed (within `limit` bytes); in-memory bodies pass through. */
export function makeReplayable(body: HttpBody | undefined, limit: number): HttpBody | undefined {
  if (isInMemoryBody(body) || body instanceof BufferingBody) return body;
  const source = body as Readable | AsyncIterable<Uint8Array>;
  return new BufferingBody(source, limit) as unknown as HttpBody;
}

/** The body for another attempt, or `undefined` when it cannot be replayed. */
export function rewindBody(body: HttpBody | undefined): HttpBody | undefined | false {
  if (isInMemoryBody(body)) return body;
  if (body instanceof BufferingBody) return body.replay() ?? false;
  return false;
}
