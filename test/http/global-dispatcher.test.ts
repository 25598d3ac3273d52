/**
 * weft's own `setGlobalDispatcher` / `getGlobalDispatcher` (undici's, from the copy weft depends
 * on): a routing agent installed with them carries Node's built-in `fetch` to a routed host
 * through weft, and putting the previous dispatcher back sends it direct again.
 */
import { fetch as undiciFetch } from 'undici';
import { describe, expect, it } from 'vitest';
import {
  createRoutingAgent,
  DEADLINE_HEADER,
  getGlobalDispatcher,
  setGlobalDispatcher,
} from '../../src/index.js';
import { loopbackFixtures } from '../support/fixtures.js';
import { replyAfter } from '../support/http-servers.js';

const { backends, client } = loopbackFixtures();

/** The key Node's built-in fetch (its bundled undici) reads its dispatcher from. */
const NODE_FETCH_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

describe('the global dispatcher, from weft', () => {
  it("installs a routing agent for Node's built-in fetch, and restores the previous dispatcher", async () => {
    const direct = await backends.start(replyAfter(0, 'direct'));
    const behindWeft = await backends.start(replyAfter(0, 'via weft'));
    // The routed name is the direct server's own address: only the dispatcher decides where it goes.
    const url = `http://${direct.address}/users`;
    const c = client({ endpoints: [behindWeft.address] });
    const agent = createRoutingAgent({ routes: { [direct.address]: c } });

    expect(globalThis.fetch).not.toBe(undiciFetch); // Node's own fetch, with its bundled undici
    const previous = getGlobalDispatcher();
    const previousForNodeFetch = (globalThis as Record<symbol, unknown>)[NODE_FETCH_DISPATCHER];
    expect(await (await globalThis.fetch(url)).text()).toBe('direct');

    setGlobalDispatcher(agent);
    try {
      expect(getGlobalDispatcher()).toBe(agent);
      expect((globalThis as Record<symbol, unknown>)[NODE_FETCH_DISPATCHER]).not.toBe(previousForNodeFetch);
      const routed = await globalThis.fetch(url);
      expect(await routed.text()).toBe('via weft');
    } finally {
      setGlobalDispatcher(previous);
      await agent.close();
    }

    expect(getGlobalDispatcher()).toBe(previous);
    expect(await (await globalThis.fetch(url)).text()).toBe('direct');
    // weft sent exactly the one routed call, with its deadline header; the direct calls carry none.
    expect(behindWeft.seen.map((s) => s.url)).toEqual(['/users']);
    expect(behindWeft.seen[0]!.headers[DEADLINE_HEADER]).toMatch(/^\d+$/);
    expect(direct.seen.map((s) => s.url)).toEqual(['/users', '/users']);
    expect(direct.seen.every((s) => s.headers[DEADLINE_HEADER] === undefined)).toBe(true);
  });
});
