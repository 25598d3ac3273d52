/**
 * The messages a caller sends on one gRPC call, kept so that another attempt can send them again
 * (gRFC A6's retry buffer). Each attempt reads the log from the start, one message at a time: the
 * next is written only when the previous write completed, as grpc-js's own calls require (a call
 * holds one pending message until it has a stream). When the caller half-closes, each attempt
 * half-closes after its last message.
 *
 * The bound: once the messages kept pass `limit` bytes the call is committed to the attempts in
 * flight (A6: "the outgoing messages overflow the buffer"): no later attempt may start (`rewind`
 * says no), and messages every reader has written are let go. While under the bound the caller's
 * write callback runs on the next tick, as grpc-js's does; past it, when the message was written.
 * Default 1 MiB, grpc-js's own per-call retry buffer (`grpc.per_rpc_retry_buffer_size`), so users
 * moving from grpc-js keep theirs.
 */

/** grpc-js's default per-call retry buffer (`grpc.per_rpc_retry_buffer_size`, internal-channel.ts). */
export const DEFAULT_GRPC_REPLAY_BUFFER_BYTES = 1 << 20;

/** A message, as the caller's grpc-js call serialised it, with its write flags. */
interface Entry {
  message: Buffer | undefined;
  readonly flags: number | undefined;
  callback: ((error?: Error | null) => void) | undefined;
}

/** An attempt in flight: it writes the log to its own grpc-js call. */
export interface LogReader {
  /** Called when the log has something new: a message or the half-close. */
  pump(): void;
  /** The caller wants the next response message. */
  startRead(): void;
}

export class MessageLog {
  readonly #limit: number;
  /**
   * The messages: the first inline, the rest in an array made for the second. Most calls send one
   * message (unary, server-streaming), so theirs allocates no array.
   */
  #first: Entry | undefined = undefined;
  #rest: Entry[] | undefined = undefined;
  #length = 0;
  /**
   * The attempts in flight: the first inline, others (hedges, an attempt started before the last
   * one ended) in an array, so a call with one attempt at a time allocates no collection.
   */
  #reader: LogReader | undefined = undefined;
  #otherReaders: LogReader[] | undefined = undefined;
  /** Bytes kept. */
  #bytes = 0;
  /** Entries before this index were let go. */
  #released = 0;
  /** The caller half-closed: nothing more will be appended. */
  halfClosed = false;
  /** The kept messages passed the bound: no other attempt may start. */
  overflowed = false;
  /** The call's outcome was given to the caller: no other attempt will start. */
  committed = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get length(): number {
    return this.#length;
  }

  /** Can another attempt send everything from the start? */
  get replayable(): boolean {
    return !this.overflowed && !this.committed;
  }

  /** A message from the caller. */
  append(
    message: Buffer,
    flags: number | undefined,
    callback: ((error?: Error | null) => void) | undefined,
  ): void {
    this.#bytes += message.length;
    if (this.#bytes > this.#limit) this.overflowed = true;
    const entry: Entry = { message, flags, callback: undefined };
    if (this.#length === 0) this.#first = entry;
    else if (this.#rest === undefined) this.#rest = [entry];
    else this.#rest.push(entry);
    this.#length++;
    if (callback !== undefined) {
      // Under the bound the message is safe here: the caller may go on. Past it, backpressure
      // comes from the attempt's writes.
      if (this.overflowed || this.committed) entry.callback = callback;
      else process.nextTick(callback);
    }
    this.#pumpReaders();
  }

  /** The caller half-closed. */
  halfClose(): void {
    if (this.halfClosed) return;
    this.halfClosed = true;
    this.#pumpReaders();
  }

  /** The message at `index`, or undefined past the end (or let go). */
  message(index: number): Buffer | undefined {
    return this.#entry(index)?.message;
  }

  flags(index: number): number | undefined {
    return this.#entry(index)?.flags;
  }

  /** A reader wrote the message at `index`: run the caller's callback, let go of what nobody needs. */
  written(index: number): void {
    const entry = this.#entry(index);
    if (entry === undefined) return;
    const callback = entry.callback;
    if (callback !== undefined) {
      entry.callback = undefined;
      callback();
    }
    if (!this.replayable && this.#readerCount() <= 1) {
      // No attempt will read it again.
      for (let i = this.#released; i <= index; i++) {
        const old = this.#entry(i)!;
        if (old.message !== undefined) this.#bytes -= old.message.length;
        old.message = undefined;
      }
      this.#released = index + 1;
    }
  }

  addReader(reader: LogReader): void {
    if (this.#has(reader)) return;
    if (this.#reader === undefined) this.#reader = reader;
    else if (this.#otherReaders === undefined) this.#otherReaders = [reader];
    else this.#otherReaders.push(reader);
  }

  /** The attempts in flight (a copy). */
  readers(): ReadonlySet<LogReader> {
    const readers = new Set<LogReader>();
    if (this.#reader !== undefined) readers.add(this.#reader);
    if (this.#otherReaders !== undefined) for (const reader of this.#otherReaders) readers.add(reader);
    return readers;
  }

  removeReader(reader: LogReader): void {
    if (this.#reader === reader) {
      // The longest-running other attempt takes the inline place.
      this.#reader = this.#otherReaders?.shift();
      return;
    }
    const others = this.#otherReaders;
    const at = others === undefined ? -1 : others.indexOf(reader);
    if (at >= 0) others!.splice(at, 1);
  }

  /** The caller wants the next response message: tell every attempt in flight. */
  startRead(): void {
    if (this.#otherReaders === undefined || this.#otherReaders.length === 0) this.#reader?.startRead();
    else for (const reader of this.#snapshot()) if (this.#has(reader)) reader.startRead();
  }

  /** The call is over for the caller's side: run the callbacks still waiting (with no error, as grpc-js does). */
  release(): void {
    for (let i = this.#released; i < this.#length; i++) {
      const entry = this.#entry(i)!;
      entry.message = undefined;
      const callback = entry.callback;
      entry.callback = undefined;
      callback?.();
    }
    this.#released = this.#length;
    this.#bytes = 0;
  }

  #entry(index: number): Entry | undefined {
    return index === 0 ? this.#first : this.#rest?.[index - 1];
  }

  #readerCount(): number {
    return (this.#reader === undefined ? 0 : 1) + (this.#otherReaders?.length ?? 0);
  }

  /** Something new came (a message, the half-close): every attempt in flight writes it. */
  #pumpReaders(): void {
    if (this.#otherReaders === undefined || this.#otherReaders.length === 0) this.#reader?.pump();
    else for (const reader of this.#snapshot()) if (this.#has(reader)) reader.pump();
  }

  /** The readers now, oldest first, to visit while a visit may add or remove one (as a Set's loop would). */
  #snapshot(): LogReader[] {
    return this.#reader === undefined ? [...this.#otherReaders!] : [this.#reader, ...this.#otherReaders!];
  }

  #has(reader: LogReader): boolean {
    return this.#reader === reader || this.#otherReaders?.includes(reader) === true;
  }
}
