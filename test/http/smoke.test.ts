import { afterEach, describe, expect, it } from 'vitest';
import { createHttpClient } from '../../src/index.js';
import { Backends, replyAfter } from '../support/http-servers.js';

const backends = new Backends();
afterEach(() => backends.closeAll());

describe('smoke', () => {
  it('request, fetch and dispatcher reach the backend', async () => {
    const b = await backends.start(replyAfter(0, 'hello'));
    const client = createHttpClient({ endpoints: [b.address] });
    const res = await client.request({ path: '/x' });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('hello');
    const r2 = await client.fetch('/y?z=1', { method: 'POST', body: 'payload' });
    expect(r2.status).toBe(200);
    expect(await r2.text()).toBe('hello');
    expect(b.seen.map((s) => s.url)).toEqual(['/x', '/y?z=1']);
    expect(b.seen[1]?.body).toBe('payload');
    expect(b.seen[0]?.headers['weft-timeout-ms']).toMatch(/^\d+$/);
    await client.close();
  });
});
