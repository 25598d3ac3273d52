/**
 * The message log of a gRPC call (src/grpc/message-log.ts), on its own: it keeps its first message
 * and its first reader inline (most calls have one of each), so these pin what the rarer cases —
 * several messages, several attempts reading at once (hedges) — still do: every reader hears every
 * message and the half-close, oldest first; a reader removed while the others are told is not told;
 * messages are let go only once no attempt will read them again; `release` runs waiting callbacks.
 */
import { describe, expect, it } from 'vitest';
import { type LogReader, MessageLog } from '../../src/grpc/message-log.js';

/** A reader that notes what it was told, and may act when pumped. */
function reader(name: string, heard: string[], onPump?: () => void): LogReader {
  return {
    pump() {
      heard.push(`${name}:pump`);
      onPump?.();
    },
    startRead() {
      heard.push(`${name}:read`);
    },
  };
}

describe('MessageLog', () => {
  it('keeps every message in order with its flags, and counts them', () => {
    const log = new MessageLog(1 << 20);
    for (let i = 0; i < 4; i++) log.append(Buffer.from(`m${i}`), i, undefined);
    expect(log.length).toBe(4);
    expect([0, 1, 2, 3].map((i) => log.message(i)?.toString())).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect([0, 1, 2, 3].map((i) => log.flags(i))).toEqual([0, 1, 2, 3]);
    expect(log.message(4)).toBeUndefined();
  });

  it('tells every reader of each message, the half-close and a read, oldest first', () => {
    const log = new MessageLog(1 << 20);
    const heard: string[] = [];
    const [a, b, c] = [reader('a', heard), reader('b', heard), reader('c', heard)];
    log.addReader(a);
    log.addReader(b);
    log.addReader(c);
    log.addReader(b); // already there: still told once
    log.append(Buffer.from('x'), undefined, undefined);
    log.startRead();
    log.halfClose();
    expect(heard).toEqual([
      'a:pump',
      'b:pump',
      'c:pump',
      'a:read',
      'b:read',
      'c:read',
      'a:pump',
      'b:pump',
      'c:pump',
    ]);
    expect([...log.readers()]).toEqual([a, b, c]);
  });

  it('keeps the order when the oldest reader leaves, and forgets a reader removed while others are told', () => {
    const log = new MessageLog(1 << 20);
    const heard: string[] = [];
    const a = reader('a', heard);
    const c = reader('c', heard);
    const b = reader('b', heard, () => log.removeReader(c));
    log.addReader(a);
    log.addReader(b);
    log.addReader(c);
    log.removeReader(a);
    expect([...log.readers()]).toEqual([b, c]);
    log.append(Buffer.from('x'), undefined, undefined);
    expect(heard).toEqual(['b:pump']);
    log.addReader(a);
    heard.length = 0;
    log.halfClose();
    expect(heard).toEqual(['b:pump', 'a:pump']);
    log.removeReader(b);
    log.removeReader(a);
    expect(log.readers().size).toBe(0);
  });

  it('lets a message go once the call is committed and its one reader wrote it, and not before', () => {
    const log = new MessageLog(1 << 20);
    log.addReader(reader('a', []));
    log.append(Buffer.from('first'), undefined, undefined);
    log.append(Buffer.from('second'), undefined, undefined);
    log.written(0);
    expect(log.message(0)?.toString()).toBe('first');
    log.committed = true;
    log.written(1);
    expect(log.message(0)).toBeUndefined();
    expect(log.message(1)).toBeUndefined();
    expect(log.length).toBe(2);
  });

  it('past the bound, holds each caller callback until its message is written; release runs the rest', () => {
    const log = new MessageLog(4);
    const called: string[] = [];
    log.addReader(reader('a', []));
    log.append(Buffer.from('12345'), undefined, () => called.push('first'));
    log.append(Buffer.from('6'), undefined, () => called.push('second'));
    log.append(Buffer.from('7'), undefined, () => called.push('third'));
    expect(log.overflowed).toBe(true);
    expect(called).toEqual([]);
    log.written(0);
    expect(called).toEqual(['first']);
    expect(log.message(0)).toBeUndefined(); // committed to its one reader: nobody reads it again
    log.release();
    expect(called).toEqual(['first', 'second', 'third']);
    expect(log.message(2)).toBeUndefined();
  });
});
