/**
 * A call in flight keeps the process alive; an idle or closed client does not. Each case runs a
 * script in a child Node process against weft's build, in both module formats, whose last line
 * awaits a call (CommonJS: a call nobody awaits). The child must print the call's outcome and
 * exit 0 by itself: before the process hold, a CommonJS child exited 0 with the outcome never
 * printed (the call lost) and an ESM child exited 13 ("unsettled top-level await"), while the
 * call waited on an unref'd backoff timer. Housekeeping timers (ejection, the breaker's open
 * period, DNS refresh) are set far beyond the child's bound here: had they kept the process
 * alive, the child would be killed at the bound and the test would fail.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { failingWhile, hang, refusedPort } from '../support/chaos-servers.js';
import { type ChildResult, MODULE_FORMATS, runWithWeft } from '../support/child-node.js';
import { type Dnsmasq, startDnsmasq, TEST_DOMAIN } from '../support/dnsmasq.js';
import { Backends, replyAfter } from '../support/http-servers.js';

const backends = new Backends();
let dnsmasq: Dnsmasq | undefined;

afterEach(async () => {
  await backends.closeAll();
  await dnsmasq?.stop();
  dnsmasq = undefined;
});

/** Housekeeping timers set ten minutes out: far past the child's bound of 10 s. */
const TEN_MINUTES = 600_000;

/** The outcome of one call as the child prints it. */
const PRINT_OUTCOME = `
function printOutcome(promise) {
  return promise.then(
    (res) => console.log('status', res.statusCode),
    (error) => console.log('error', error.code, 'attempts', error.attempts.length),
  );
}`;

function expectExitedByItself(result: ChildResult): void {
  expect(result.killed, `the child was still running at its bound; stdout: ${result.stdout}`).toBe(false);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
}

describe.each(MODULE_FORMATS)('a call in flight keeps the process alive (%s build)', (format) => {
  it('a call to a refusing endpoint is retried, fails with its error, and the child exits', async () => {
    const port = await refusedPort();
    const result = await runWithWeft(
      format,
      `${PRINT_OUTCOME}
const client = weft.createHttpClient({ endpoints: ['127.0.0.1:${port}'] });
await printOutcome(client.request({ path: '/' }));`,
    );
    expectExitedByItself(result);
    expect(result.lines).toEqual(['error WEFT_REQUEST_FAILED attempts 3']);
  });

  it('a GET to a 503 endpoint goes out three times, the last 503 is returned, and the child exits', async () => {
    const backend = await backends.start(failingWhile(() => true));
    const result = await runWithWeft(
      format,
      `${PRINT_OUTCOME}
const client = weft.createHttpClient({ endpoints: ['${backend.address}'] });
await printOutcome(client.request({ path: '/' }));`,
    );
    expectExitedByItself(result);
    expect(result.lines).toEqual(['status 503']);
    expect(backend.seen).toHaveLength(3);
  });

  it('a call to a hanging endpoint ends at its attempt timeouts, and the child exits', async () => {
    const backend = await backends.start(hang());
    const result = await runWithWeft(
      format,
      `${PRINT_OUTCOME}
const client = weft.createHttpClient({ endpoints: ['${backend.address}'], attemptTimeoutMs: 100 });
await printOutcome(client.request({ path: '/' }));`,
    );
    expectExitedByItself(result);
    expect(result.lines).toEqual(['error WEFT_ATTEMPT_TIMEOUT attempts 3']);
    expect(backend.seen.length).toBeGreaterThanOrEqual(1);
  });

  it('a hedged call takes the backup answer, and the child exits', async () => {
    // The first request for /slow takes 2 s; every other request is answered at once.
    let slowSeen = false;
    const handler = (req: { url?: string }, res: { end(text: string): void }) => {
      if (req.url === '/slow' && !slowSeen) {
        slowSeen = true;
        return replyAfter(2_000, 'slow')(req as never, res as never, '');
      }
      res.end('fast');
    };
    const a = await backends.start(handler);
    const b = await backends.start(handler);
    const result = await runWithWeft(
      format,
      `
const client = weft.createHttpClient({
  endpoints: ['${a.address}', '${b.address}'],
  hedge: { minSamples: 10, maxExtraLoad: 0.5 },
});
for (let i = 0; i < 20; i++) await (await client.request({ path: '/warm' })).body.text();
const res = await client.request({ path: '/slow' });
console.log('status', res.statusCode, await res.body.text(), 'a backup won', client.hedgeStats.won >= 1);`,
    );
    expectExitedByItself(result);
    expect(result.lines).toEqual(['status 200 fast a backup won true']);
  });

  it('ejection and breaker timers do not hold the process once the calls have ended', async () => {
    const backend = await backends.start(failingWhile(() => true));
    const result = await runWithWeft(
      format,
      `${PRINT_OUTCOME}
const client = weft.createHttpClient({
  endpoints: ['${backend.address}'],
  failureAccrual: { minEjectionMs: ${TEN_MINUTES}, maxEjectionMs: ${TEN_MINUTES} },
  circuitBreaker: { threshold: 2, halfOpenAfterMs: ${TEN_MINUTES}, maxHalfOpenAfterMs: ${TEN_MINUTES} },
});
for (let i = 0; i < 3; i++) await printOutcome(client.request({ path: '/' }));
console.log('accrual', client.endpoints()[0].accrual.state, 'breaker', client.circuitBreaker.state());`,
    );
    expectExitedByItself(result);
    expect(result.lines.at(-1)).toBe('accrual dead breaker open');
  });

  it('a client that discovered its endpoints through DNS does not hold the process for its next refresh', async () => {
    const backend = await backends.start((_req, res) => res.end('ok'));
    dnsmasq = await startDnsmasq({ [`api.${TEST_DOMAIN}`]: ['127.0.0.1'] });
    const result = await runWithWeft(
      format,
      `${PRINT_OUTCOME}
const client = weft.createHttpClient({
  resolver: weft.dnsResolver({
    hostname: 'api.${TEST_DOMAIN}',
    port: ${backend.port},
    servers: ['${dnsmasq.server}'],
    minRefreshMs: ${TEN_MINUTES},
    maxRefreshMs: ${TEN_MINUTES},
  }),
});
await printOutcome(client.request({ path: '/' }));`,
    );
    expectExitedByItself(result);
    expect(result.lines).toEqual(['status 200']);
  });

  it('a child that closes its client after a call exits', async () => {
    const backend = await backends.start((_req, res) => res.end('ok'));
    const result = await runWithWeft(
      format,
      `${PRINT_OUTCOME}
const client = weft.createHttpClient({
  endpoints: ['${backend.address}'],
  hedge: true,
  circuitBreaker: true,
  adaptiveThrottle: true,
});
await printOutcome(client.request({ path: '/' }));
await client.close();
console.log('closed');`,
    );
    expectExitedByItself(result);
    expect(result.lines).toEqual(['status 200', 'closed']);
  });
});
