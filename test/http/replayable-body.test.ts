/** Replayable bodies: in-memory bodies replay as they are; streams replay within the bound only. */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BufferingBody, makeReplayable, rewindBody } from '../../src/http/transport/replayable-body.js';

async function readAll(body: unknown): Promise<string> {
  let text = '';
  for await (const chunk of body as AsyncIterable<Uint8Array>) text += Buffer.from(chunk).toString();
  return text;
}

describe('replayable bodies', () => {
  it('keeps in-memory bodies as they are', () => {
    for (const body of [
      'text',
      Buffer.from('bytes'),
      new Uint8Array([1]),
      new Blob(['b']),
      new FormData(),
      null,
      undefined,
    ]) {
      expect(makeReplayable(body, 10)).toBe(body);
      expect(rewindBody(body)).toBe(body);
    }
  });

  it('replays a stream read to the end within the bound, from its copy', async () => {
    const body = makeReplayable(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 10);
    expect(body).toBeInstanceOf(BufferingBody);
    expect(await readAll(body)).toBe('abcd');
    const again = rewindBody(body);
    expect(Buffer.isBuffer(again)).toBe(true);
    expect(String(again)).toBe('abcd');
  });

  it('sends an unread stream again as it is', async () => {
    const body = makeReplayable(Readable.from(['xyz']), 10);
    expect(rewindBody(body)).toBe(body);
    expect(await readAll(body)).toBe('xyz');
  });

  it('refuses to replay a stream longer than the bound', async () => {
    const body = makeReplayable(Readable.from([Buffer.alloc(8), Buffer.alloc(8)]), 10);
    await readAll(body);
    expect(rewindBody(body)).toBe(false);
  });

  it('refuses to replay a stream read only in part', async () => {
    const body = makeReplayable(Readable.from(['a', 'b']), 10) as unknown as AsyncIterable<Uint8Array>;
    const iterator = body[Symbol.asyncIterator]();
    await iterator.next();
    expect(rewindBody(body as never)).toBe(false);
  });

  it('never replays a raw stream that was not made replayable', () => {
    expect(rewindBody(Readable.from(['a']))).toBe(false);
  });
});
