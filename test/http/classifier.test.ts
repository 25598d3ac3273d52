/** The default HTTP classifier: every row of its table. */
import { describe, expect, it } from 'vitest';
import { DeadlineExceededError } from '../../src/core/errors.js';
import { defaultHttpClassifier, NACK_HEADER } from '../../src/http/protocol/classifier.js';
import type { HttpRequest, HttpResponse } from '../../src/http/protocol/request.js';
import { AttemptTimeoutError } from '../../src/policies/attempt.js';

const req: HttpRequest = { method: 'GET', path: '/', headers: {}, body: null };
const response = (statusCode: number, headers: Record<string, string> = {}) =>
  ({ response: { statusCode, headers } as unknown as HttpResponse, written: true }) as const;
const error = (code: string, written: boolean) => ({
  error: Object.assign(new Error(code), { code }),
  written,
});

describe('defaultHttpClassifier', () => {
  it('treats 1xx-4xx but 429 as success', () => {
    for (const status of [200, 201, 204, 301, 400, 404, 409]) {
      expect(defaultHttpClassifier(req, response(status), false)?.kind).toBe('success');
    }
  });

  it('retries 502/503/504/429 only for idempotent requests', () => {
    for (const status of [429, 502, 503, 504]) {
      expect(defaultHttpClassifier(req, response(status), true)).toMatchObject({
        kind: 'retryable',
        requeue: false,
      });
      expect(defaultHttpClassifier(req, response(status), false)?.kind).toBe('failure');
    }
  });

  it('treats other 5xx as failures', () => {
    for (const status of [500, 501, 505])
      expect(defaultHttpClassifier(req, response(status), true)?.kind).toBe('failure');
  });

  it('requeues a nack for every method and honours Retry-After', () => {
    const nack = defaultHttpClassifier(req, response(503, { [NACK_HEADER]: '1', 'retry-after': '2' }), false);
    expect(nack).toMatchObject({ kind: 'retryable', requeue: true, retryAfterMs: 2_000 });
    expect(defaultHttpClassifier(req, response(503, { 'retry-after': '1' }), true)?.retryAfterMs).toBe(1_000);
  });

  it('requeues connect errors and anything before the request was written, for every method', () => {
    for (const code of ['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH']) {
      expect(defaultHttpClassifier(req, error(code, false), false)).toMatchObject({
        kind: 'retryable',
        requeue: true,
      });
    }
    expect(defaultHttpClassifier(req, error('ECONNRESET', false), false)).toMatchObject({ requeue: true });
  });

  it('retries a reset after the request was written only when idempotent', () => {
    expect(defaultHttpClassifier(req, error('ECONNRESET', true), true)).toMatchObject({
      kind: 'retryable',
      requeue: false,
    });
    expect(defaultHttpClassifier(req, error('UND_ERR_SOCKET', true), false)?.kind).toBe('failure');
  });

  it('treats an attempt timeout like a reset, and a passed deadline as the end', () => {
    const timeout = new AttemptTimeoutError(100, '127.0.0.1:1');
    expect(defaultHttpClassifier(req, { error: timeout, written: true }, true)?.kind).toBe('retryable');
    expect(defaultHttpClassifier(req, { error: timeout, written: true }, false)?.kind).toBe('failure');
    expect(defaultHttpClassifier(req, { error: timeout, written: false }, false)).toMatchObject({
      requeue: true,
    });
    const deadline = new DeadlineExceededError(100);
    expect(defaultHttpClassifier(req, { error: deadline, written: false }, true)?.kind).toBe('ignorable');
    expect(defaultHttpClassifier(req, { error: deadline, written: true }, true)?.kind).toBe('failure');
  });
});
