// Unit-testing code that uses weft, with no server: undici's MockAgent answers in place of the
// backends (`dispatcherFactory: mockAgentFactory(mockAgent)`) and weft/testing's VirtualClock runs
// the time (retry backoff, ejection, deadlines), so nothing waits for real time. Three cases: a 503
// retried, a failing endpoint ejected, a deadline that fires before a slow reply. The retries,
// failure accrual and deadlines are weft's own: only the transport is mocked. docs/testing.md
// walks through it. Run: npx tsx examples/testing-with-mocks.ts
import { pathToFileURL } from 'node:url';
import { MockAgent } from 'undici';
import { createHttpClient, DeadlineExceededError, type HttpClient, roundRobin } from '../src/index.js';
import { ATTEMPT_HEADER } from '../src/policies.js';
import { mockAgentFactory, VirtualClock } from '../src/testing.js';

/** The code under test: it reads a user through whatever weft client it is given. */
export async function getUser(api: HttpClient, id: number): Promise<{ id: number; name: string }> {
  const res = await api.request({ path: `/users/${id}` });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`users answered ${res.statusCode}`);
  }
  return (await res.body.json()) as { id: number; name: string };
}

/** Mocked origins: never dialled (net connect is disabled), so any loopback address does. */
const USERS_A = '127.0.0.1:8001';
const USERS_B = '127.0.0.1:8002';
/** The first retry waits a full-jitter backoff of less than 25 ms (weft's default `backoffInitialMs`). */
const FIRST_BACKOFF_MS = 25;

/** A MockAgent that refuses any request no interceptor matches. */
function mockBackends(): MockAgent {
  const mockAgent = new MockAgent();
  mockAgent.disableNetConnect();
  return mockAgent;
}

export interface RetryCase {
  name: string;
  /** Each request the mock received: its `weft-attempt` header (absent on a call's first attempt). */
  attempts: Array<string | undefined>;
}

/** Case 1: the backend answers 503, then 200. weft retries the idempotent GET: two attempts. */
export async function retriedServiceUnavailable(): Promise<RetryCase> {
  const mockAgent = mockBackends();
  const users = mockAgent.get(`http://${USERS_A}`);
  const attempts: Array<string | undefined> = [];
  // A reply callback sees each request as it was sent (weft reuses one headers object per call).
  const answer = (statusCode: number, data: string) => (request: { headers?: unknown }) => {
    attempts.push((request.headers as Record<string, string>)[ATTEMPT_HEADER]);
    return { statusCode, data };
  };
  users.intercept({ path: '/users/1' }).reply(answer(503, 'busy'));
  users.intercept({ path: '/users/1' }).reply(answer(200, JSON.stringify({ id: 1, name: 'Ada' })));
  const clock = new VirtualClock();
  const api = createHttpClient({
    endpoints: [USERS_A],
    clock,
    dispatcherFactory: mockAgentFactory(mockAgent),
  });
  try {
    const pending = getUser(api, 1);
    await clock.advanceAsync(FIRST_BACKOFF_MS); // the backoff before the retry runs on the clock
    const user = await pending;
    mockAgent.assertNoPendingInterceptors(); // both replies were used
    return { name: user.name, attempts };
  } finally {
    await api.close();
    await mockAgent.close();
  }
}

export interface EjectionCase {
  /** Every ejection failure accrual reported, in order (the probe failed: it was ejected again). */
  ejections: string[];
  /** Requests the failing backend received before it was ejected. */
  failingBeforeEjection: number;
  /** Requests it received in the ten calls made while it was ejected. */
  failingWhileEjected: number;
  /** Calls that returned a user: all of them, thanks to retries on the healthy backend. */
  succeeded: number;
  /** Requests it received after the ejection time had passed on the clock: the one probe. */
  probes: number;
}

/**
 * Case 2: one backend always answers 503, the other 200. Failure accrual ejects the failing one
 * after 5 consecutive failures (its default) and probes it again once the ejection time (5 to
 * 10 s, jittered) has passed. Round robin makes every call try the failing backend first until
 * then, so the counts are exact; the default P2C would get there too, in a less certain number of
 * calls.
 */
export async function ejectedEndpoint(): Promise<EjectionCase> {
  const mockAgent = mockBackends();
  let failing = 0;
  mockAgent
    .get(`http://${USERS_A}`)
    .intercept({ path: '/users/1' })
    .reply(() => {
      failing++;
      return { statusCode: 503, data: 'down' };
    })
    .persist();
  mockAgent
    .get(`http://${USERS_B}`)
    .intercept({ path: '/users/1' })
    .reply(200, { id: 1, name: 'Ada' })
    .persist();
  const clock = new VirtualClock();
  const ejected: string[] = [];
  const api = createHttpClient({
    endpoints: [USERS_A, USERS_B],
    clock,
    balancer: roundRobin(),
    failureAccrual: { onEject: (address) => ejected.push(address) },
    dispatcherFactory: mockAgentFactory(mockAgent),
  });
  let succeeded = 0;
  const call = async () => {
    const pending = getUser(api, 1);
    await clock.advanceAsync(FIRST_BACKOFF_MS);
    await pending;
    succeeded++;
  };
  try {
    while (ejected.length === 0 && succeeded < 20) await call();
    const failingBeforeEjection = failing;
    for (let i = 0; i < 10; i++) await call();
    const failingWhileEjected = failing - failingBeforeEjection;
    await clock.advanceAsync(10_000); // past the longest first ejection (5 s + up to 5 s of jitter)
    await call();
    return {
      ejections: ejected,
      failingBeforeEjection,
      failingWhileEjected,
      succeeded,
      probes: failing - failingBeforeEjection - failingWhileEjected,
    };
  } finally {
    await api.close();
    await mockAgent.close();
  }
}

export interface DeadlineCase {
  /** The error of a call with `timeoutMs: 100` against a reply 500 ms late. */
  error: unknown;
  /** The same slow reply inside a 1 s budget. */
  name: string;
}

/**
 * Case 3: the reply comes 500 ms (of virtual time) after the request. A 100 ms deadline fires
 * first; a 1 s one does not. The delay is a promise settled by the VirtualClock: MockInterceptor's
 * own `.delay(ms)` waits on Node's `setTimeout`, which a VirtualClock does not move.
 */
export async function deadlineBeforeSlowReply(): Promise<DeadlineCase> {
  const mockAgent = mockBackends();
  const clock = new VirtualClock();
  const slowUser = () =>
    new Promise<string>((resolve) =>
      clock.setTimeout(() => resolve(JSON.stringify({ id: 1, name: 'Ada' })), 500),
    );
  mockAgent.get(`http://${USERS_A}`).intercept({ path: '/users/1' }).reply(200, slowUser).times(2);
  const api = createHttpClient({
    endpoints: [USERS_A],
    clock,
    timeoutMs: 100,
    dispatcherFactory: mockAgentFactory(mockAgent),
  });
  const patient = createHttpClient({
    endpoints: [USERS_A],
    clock,
    timeoutMs: 1_000,
    dispatcherFactory: mockAgentFactory(mockAgent),
  });
  try {
    const late = getUser(api, 1).catch((error: unknown) => error);
    await clock.advanceAsync(100);
    const error = await late;
    const inTime = getUser(patient, 1);
    await clock.advanceAsync(500);
    const user = await inTime;
    return { error, name: user.name };
  } finally {
    await api.close();
    await patient.close();
    await mockAgent.close();
  }
}

export async function main(log: (text: string) => void = console.log) {
  const retry = await retriedServiceUnavailable();
  log(`503 then 200: got ${retry.name} after ${retry.attempts.length} attempts`);
  const ejection = await ejectedEndpoint();
  log(
    `ejected ${ejection.ejections[0]} after ${ejection.failingBeforeEjection} failures;` +
      ` ${ejection.failingWhileEjected} requests reached it while ejected, then ${ejection.probes} probe` +
      ` (${ejection.ejections.length} ejections in all); ${ejection.succeeded} calls succeeded`,
  );
  const deadline = await deadlineBeforeSlowReply();
  const code = deadline.error instanceof DeadlineExceededError ? deadline.error.code : String(deadline.error);
  log(`reply 500 ms late: ${code} with a 100 ms budget, ${deadline.name} with a 1 s budget`);
  return { retry, ejection, deadline };
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await main();
