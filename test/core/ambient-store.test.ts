/**
 * One ambient deadline per process, whichever build loads it (the dual-package hazard): the ESM
 * and CommonJS builds loaded side by side in one child process share the store, so a CommonJS
 * library's weft calls see a deadline an ESM server set, and a copy of weft that finds a store of
 * another version fails loudly when it loads.
 */

import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AMBIENT_STORE_VERSION } from '../../src/core/ambient.js';
import { builtEntry, runScript } from '../support/child-node.js';
import { Backends } from '../support/http-servers.js';

const backends = new Backends();
afterEach(() => backends.closeAll());

/**
 * An ESM script that has both builds: `esm` (import) and `cjs` (require), and the `weft/policies`
 * entry of each, `esmPolicies` and `cjsPolicies`.
 */
function withBothBuilds(body: string): string {
  return `import { createRequire } from 'node:module';
import * as esm from ${JSON.stringify(pathToFileURL(builtEntry('index', 'esm')).href)};
import * as esmPolicies from ${JSON.stringify(pathToFileURL(builtEntry('policies', 'esm')).href)};
const cjs = createRequire(import.meta.url)(${JSON.stringify(builtEntry('index', 'cjs'))});
const cjsPolicies = createRequire(import.meta.url)(${JSON.stringify(builtEntry('policies', 'cjs'))});
${body}
`;
}

describe('the ambient store, shared by both builds', () => {
  it('a context set through one build is the context the other build sees', async () => {
    const result = await runScript(
      withBothBuilds(`
const context = { deadline: 12345, clock: esmPolicies.realClock };
console.log(esm.runWithAmbientContext(context, () => cjs.currentAmbientContext() === context));
console.log(cjs.runWithAmbientContext(context, () => esm.currentAmbientContext() === context));
console.log(esmPolicies.RetryBudget !== cjsPolicies.RetryBudget); // two builds indeed`),
      'mjs',
    );
    expect(result.stderr).toBe('');
    expect(result.lines).toEqual(['true', 'true', 'true']);
    expect(result.code).toBe(0);
  });

  it("a CommonJS client's call inside an ESM handler's incoming deadline carries what is left of it", async () => {
    const backend = await backends.start((req, res) => res.end(String(req.headers['weft-timeout-ms'])));
    const result = await runScript(
      withBothBuilds(`
const client = cjs.createHttpClient({ endpoints: ['${backend.address}'] });
const res = await esm.runWithIncomingDeadline({ 'weft-timeout-ms': '250' }, () => client.request({ path: '/' }));
console.log(await res.body.text());
await client.close();`),
      'mjs',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // The client's own timeout is 15 s: a value at most 250 means the incoming deadline was seen.
    const sent = Number(result.lines[0]);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(250);
  });

  it('a copy of weft that finds a store of another version throws when it loads, in both builds', async () => {
    const poison = `globalThis[Symbol.for('weft.ambientContext')] = { version: 999, storage: undefined };`;
    const esmResult = await runScript(
      `${poison}
await import(${JSON.stringify(pathToFileURL(builtEntry('index', 'esm')).href)}).then(
  () => console.log('loaded'),
  (error) => console.log(error.message),
);`,
      'mjs',
    );
    const cjsResult = await runScript(
      `${poison}
try { require(${JSON.stringify(builtEntry('index', 'cjs'))}); console.log('loaded'); }
catch (error) { console.log(error.message); }`,
      'cjs',
    );
    for (const result of [esmResult, cjsResult]) {
      expect(result.code).toBe(0);
      expect(result.lines).toHaveLength(1);
      expect(result.lines[0]).toContain(
        `ambient deadline in store version 999, and this copy needs version ${AMBIENT_STORE_VERSION}`,
      );
    }
  });
});
