/**
 * The stack client over a protocol that is not HTTP: a fake streaming protocol whose attempts
 * resolve at their commit point (the stream is returned to the caller) and whose final status
 * comes later, as a gRPC server stream's does. The commit is what retry sees; the final status
 * reaches failure accrual, the load metric, the endpoint's success rate and telemetry through the
 * late hook (src/balance/completion.ts), and is never retried. All on a virtual clock.
 */
import { describe, expect, it } from 'vitest';
import type { AttemptCompletion } from '../../src/balance/completion.js';
import { resolveClientOptions } from '../../src/client/options.js';
import type { ClientProtocol } from '../../src/client/protocol.js';
import { createStackClient } from '../../src/client/stack-client.js';
import type { ClientTelemetry } from '../../src/client/telemetry.js';
import { failure, type ResponseClass, retryable, SUCCESS } from '../../src/core/classification.js';
import type { CallContext } from '../../src/core/context.js';
import { ClientClosedError } from '../../src/core/errors.js';
import type { Service } from '../../src/core/service.js';
import { VirtualClock } from '../../src/core/virtual-clock.js';
import type { Endpoint } from '../../src/discovery/endpoint.js';

interface Req {
  readonly method: string;
  readonly idempotent: boolean;
}

/** A committed stream: returned to the caller; its status comes later, through `end`. */
interface Stream {
  readonly kind: 'stream';
  readonly endpoint: string;
  completion: AttemptCompletion | undefined;
}

/** A status: the final one of a stream, or a trailers-only answer that ends an attempt at once. */
interface Status {
  readonly kind: 'status';
  readonly code: 'OK' | 'UNAVAILABLE';
}

type Res = Stream | Status;

const COMMIT_MS = 10;

/** The transport of one endpoint: each call commits after COMMIT_MS, as the test scripted. */
class FakeStreamingTransport implements Service<Req, Res> {
  status: 'open' | 'busy' | 'closed' = 'open';
  constructor(
    readonly endpoint: Endpoint,
    readonly clock: VirtualClock,
    readonly answers: Array<'stream' | 'unavailable'>,
    readonly streams: Stream[],
    readonly calls: string[],
  ) {}
  call(_req: Req, ctx: CallContext): Promise<Res> {
    this.calls.push(this.endpoint.address);
    ctx.requestWritten = true;
    const answer = this.answers.shift() ?? 'stream';
    return new Promise((resolve) => {
      this.clock.setTimeout(() => {
        if (answer === 'unavailable') {
          resolve({ kind: 'status', code: 'UNAVAILABLE' });
          return;
        }
        const stream: Stream = { kind: 'stream', endpoint: this.endpoint.address, completion: undefined };
        this.streams.push(stream);
        resolve(stream);
      }, COMMIT_MS);
    });
  }
  async close() {
    this.status = 'closed';
  }
}

/** End a stream with its final status, as the protocol's own stream events would. */
function end(stream: Stream, code: Status['code']): void {
  stream.completion!.complete({ kind: 'status', code }, false);
}

/**
 * The fake protocol's default classifier: a committed stream is a success (it is never sent
 * again); a status is judged by its code, UNAVAILABLE retryable (and requeued) before a commit.
 */
function classify(_req: Req, outcome: { response?: Res; error?: unknown }): ResponseClass {
  const res = outcome.response;
  if (res === undefined) return failure('error');
  if (res.kind === 'stream') return SUCCESS;
  return res.code === 'OK' ? SUCCESS : retryable('UNAVAILABLE', true);
}

function setup(answers: Array<'stream' | 'unavailable'> = [], accrual = { consecutiveFailures: 2 }) {
  const clock = new VirtualClock();
  const streams: Stream[] = [];
  const calls: string[] = [];
  const finished: Array<{ failed: boolean; kind: string | undefined; durationMs: number; outcome: unknown }> =
    [];
  const asked: Res[] = [];
  const telemetry: ClientTelemetry = {
    attemptFinished: (ctx, _endpoint, failed, outcome, durationMs) =>
      finished.push({ failed, kind: ctx.classification?.kind, durationMs, outcome }),
  };
  const protocol: ClientProtocol<Req, Res> = {
    adapter: {
      writeDeadline() {},
      writeAttempt() {},
      prepareReplay() {},
      hasInMemoryBody: () => true,
      rewind: () => true,
      discard() {},
    },
    makeTransport: (endpoint) => new FakeStreamingTransport(endpoint, clock, answers, streams, calls),
    isIdempotent: (req, declared) => declared ?? req.idempotent,
    defaultClassifier: classify,
    completion: {
      completesLater: (res) => {
        asked.push(res);
        return res.kind === 'stream';
      },
      track: (res, completion) => {
        (res as Stream).completion = completion;
      },
    },
    scheme: 'fake',
  };
  const client = createStackClient(
    protocol,
    resolveClientOptions<Req, Res>(
      {
        endpoints: ['10.0.0.1:50051'],
        clock,
        failureAccrual: accrual,
        telemetry: { attach: () => telemetry },
      },
      { replayBufferBytes: 0 },
    ),
  );
  const call = (req: Req = { method: 'Watch', idempotent: true }) =>
    client.call(req, undefined, undefined, undefined);
  return { client, clock, streams, calls, finished, asked, call };
}

describe('attempts that settle after they are returned (the late hook)', () => {
  it('returns the stream at its commit; its final status reaches accrual, load and telemetry, and is never retried', async () => {
    const { client, clock, streams, calls, finished, call } = setup();
    const pending = call();
    await clock.advanceAsync(COMMIT_MS);
    const stream = (await pending) as Stream;
    expect(stream.kind).toBe('stream');
    // Committed, not finished: the endpoint still carries it, and nothing has judged it yet.
    let [stats] = client.endpoints();
    expect(stats!.pending).toBe(1);
    expect(stats!.attempts).toBe(0);
    expect(stats!.accrual!.consecutiveFailures).toBe(0);
    expect(finished).toEqual([]);

    await clock.advanceAsync(5_000);
    end(stream, 'UNAVAILABLE');
    [stats] = client.endpoints();
    expect(calls).toHaveLength(1); // a failed stream is not sent again: the call was over
    expect(stats!.pending).toBe(0);
    expect(stats!.attempts).toBe(1);
    expect(stats!.successRate).toBe(0);
    expect(stats!.accrual!.consecutiveFailures).toBe(1);
    expect(finished).toEqual([
      {
        failed: false,
        kind: 'retryable',
        durationMs: COMMIT_MS + 5_000,
        outcome: { kind: 'status', code: 'UNAVAILABLE' },
      },
    ]);

    // A second failed stream ejects the endpoint (consecutiveFailures: 2).
    const second = call();
    await clock.advanceAsync(COMMIT_MS);
    await second;
    end(streams[1]!, 'UNAVAILABLE');
    [stats] = client.endpoints();
    expect(stats!.accrual!.state).toBe('dead');
    expect(stats!.status).toBe('busy');
    expect(calls).toHaveLength(2);
    await client.close();
  });

  it('takes the RTT at the commit, not at the end of the stream', async () => {
    const { client, clock, streams, call } = setup();
    for (let i = 0; i < 3; i++) {
      const pending = call();
      await clock.advanceAsync(COMMIT_MS);
      await pending;
      await clock.advanceAsync(60_000);
      end(streams[i]!, 'OK');
    }
    const [stats] = client.endpoints();
    expect(stats!.pending).toBe(0);
    expect(stats!.successRate).toBe(1);
    // A minute-long stream would be a 60 000 ms sample; the commit took 10 ms.
    expect(stats!.ewmaMs).toBeLessThan(100);
    await client.close();
  });

  it('settles at once, and retries, a response that is a failure at its commit', async () => {
    const { client, clock, calls, finished, asked, call } = setup(['unavailable']);
    const pending = call();
    await clock.advanceAsync(COMMIT_MS);
    await clock.advanceAsync(1_000); // the backoff before the retry
    await clock.advanceAsync(COMMIT_MS);
    const stream = (await pending) as Stream;
    expect(stream.kind).toBe('stream');
    expect(calls).toHaveLength(2);
    // Only the stream was asked about; the trailers-only UNAVAILABLE settled as it came.
    expect(asked.map((r) => r.kind)).toEqual(['stream']);
    expect(finished.map((f) => f.kind)).toEqual(['retryable']);
    const [stats] = client.endpoints();
    expect(stats!.pending).toBe(1);
    expect(stats!.accrual!.consecutiveFailures).toBe(1);
    await client.close();
  });

  it('counts a completion once, however often the protocol reports it', async () => {
    const { client, clock, streams, finished, call } = setup();
    const pending = call();
    await clock.advanceAsync(COMMIT_MS);
    await pending;
    end(streams[0]!, 'OK');
    end(streams[0]!, 'UNAVAILABLE');
    const [stats] = client.endpoints();
    expect(finished.map((f) => f.kind)).toEqual(['success']);
    expect(stats!.pending).toBe(0);
    expect(stats!.attempts).toBe(1);
    expect(stats!.accrual!.consecutiveFailures).toBe(0);
    await client.close();
  });

  it('judges a stream the caller cancelled after its commit as ignorable: it says nothing of the endpoint', async () => {
    const { client, clock, streams } = setup();
    const controller = new AbortController();
    const pending = client.call(
      { method: 'Watch', idempotent: true },
      undefined,
      controller.signal,
      undefined,
    );
    await clock.advanceAsync(COMMIT_MS);
    await pending;
    const reason = new Error('the caller went away');
    controller.abort(reason);
    streams[0]!.completion!.complete(reason, true);
    const [stats] = client.endpoints();
    expect(stats!.pending).toBe(0);
    expect(stats!.attempts).toBe(0);
    expect(stats!.accrual!.consecutiveFailures).toBe(0);
    await client.close();
  });
});

describe('the stack client', () => {
  it("asks the protocol whether a request is idempotent, and the caller's declaration wins", async () => {
    // A per-call classifier that retries a trailers-only UNAVAILABLE only for an idempotent request.
    const classifier = (_req: Req, outcome: { response?: Res }, idempotent: boolean) => {
      if (outcome.response?.kind === 'stream') return SUCCESS;
      return idempotent ? retryable('UNAVAILABLE') : failure('UNAVAILABLE');
    };
    const send = { method: 'Send', idempotent: false }; // the protocol says: not idempotent
    const once = setup(['unavailable']);
    const first = once.client.call(send, { classifier }, undefined, undefined);
    await once.clock.advanceAsync(COMMIT_MS);
    expect(await first).toEqual({ kind: 'status', code: 'UNAVAILABLE' });
    expect(once.calls).toHaveLength(1);
    await once.client.close();

    const declared = setup(['unavailable']);
    const second = declared.client.call(send, { classifier, idempotent: true }, undefined, undefined);
    await declared.clock.advanceAsync(1_000);
    expect(((await second) as Res).kind).toBe('stream');
    expect(declared.calls).toHaveLength(2);
    await declared.client.close();
  });

  it('rejects calls once closed', async () => {
    const { client, call } = setup();
    await client.close();
    expect(client.closed).toBe(true);
    await expect(call()).rejects.toBeInstanceOf(ClientClosedError);
  });

  it('has the roles and strategy of any client', async () => {
    const { client } = setup();
    expect(client.roles).toEqual(['observe', 'deadline', 'retry', 'attempt']);
    expect(client.strategy).toBe('p2c-peak-ewma');
    expect(client.name).toBe('static(10.0.0.1:50051)');
    await client.close();
  });
});
