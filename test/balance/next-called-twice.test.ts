/**
 * A layer below retry that calls `next` twice for one attempt: the second descent fails with
 * NextCalledTwiceError and the first attempt's bookkeeping stays whole. Without the guard, the
 * second pick took the first's place in the balancer's bookkeeping: the first endpoint's in-flight
 * count never came down (its cost stayed inflated), and a probed endpoint could stay busy.
 */
import { describe, expect, it } from 'vitest';
import { NextCalledTwiceError } from '../../src/core/errors.js';
import type { HttpRequest, HttpResponse } from '../../src/index.js';
import type { Filter } from '../../src/policies.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';

const { backends, client } = loopbackFixtures();

/** Insert `layer` just below the attempt filter (so below retry too). */
function below(layer: Filter<HttpRequest, HttpResponse>) {
  return (s: Parameters<NonNullable<Parameters<typeof client>[0]['stack']>>[0]) =>
    s.insertAfter('attempt', { role: 'twice', description: 'calls next twice', layer });
}

describe('a layer that calls next twice for one attempt', () => {
  it('concurrently: the second descent fails, the first answers, and no endpoint keeps a pending attempt', async () => {
    const a = await backends.start(replyAfter(5));
    const b = await backends.start(replyAfter(5));
    let second: Promise<unknown> | undefined;
    const c = client({
      endpoints: [a.address, b.address],
      stack: below((req, ctx, next) => {
        const first = next(req, ctx);
        second = next(req, ctx).catch((error: unknown) => error);
        return first;
      }),
    });
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const error = await second;
    expect(error).toBeInstanceOf(NextCalledTwiceError);
    expect((error as NextCalledTwiceError).code).toBe('WEFT_NEXT_CALLED_TWICE');
    expect(a.seen.length + b.seen.length).toBe(1);
    expect(c.endpoints().map((e) => e.pending)).toEqual([0, 0]);
  });

  it('one after the other: the call fails with the error, once, and nothing stays pending', async () => {
    const a = await backends.start(replyAfter(0));
    const c = client({
      endpoints: [a.address],
      stack: below(async (req, ctx, next) => {
        const first = await next(req, ctx);
        await first.body.text();
        return next(req, ctx);
      }),
    });
    await expect(c.request({ path: '/' })).rejects.toBeInstanceOf(NextCalledTwiceError);
    expect(a.seen).toHaveLength(1);
    expect(c.endpoints()[0]?.pending).toBe(0);
    expect(c.endpoints()[0]?.status).toBe('open');
  });

  it('above retry, each call of next is a new try and is allowed', async () => {
    const a = await backends.start(replyAfter(0));
    const c = client({
      endpoints: [a.address],
      stack: (s) =>
        s.prepend({
          role: 'twice',
          description: 'sends the call twice',
          layer: async (req, ctx, next) => {
            await (await next(req, ctx)).body.text();
            return next(req, ctx);
          },
        }),
    });
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(a.seen).toHaveLength(2);
    expect(c.endpoints()[0]?.pending).toBe(0);
  });
});
