/** Errors: stable codes, and messages that carry destination, attempts and time left. */
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DeadlineExceededError,
  errorCode,
  errorCodeOrName,
  NoEndpointsError,
  RequestFailedError,
  redactCredentials,
  roundDurationMs,
  WeftError,
} from '../../src/core/errors.js';

describe('errors', () => {
  it('put destination, attempts and time left in the message and on the object', () => {
    const error = new DeadlineExceededError(250, {
      destination: 'users',
      attempts: [
        { endpoint: '10.0.0.1:80', outcome: '503', durationMs: 12.4 },
        { endpoint: '10.0.0.2:80', outcome: 'ETIMEDOUT', durationMs: 200 },
      ],
      timeLeftMs: 0,
    });
    expect(error).toBeInstanceOf(WeftError);
    expect(error.code).toBe('WEFT_DEADLINE_EXCEEDED');
    expect(error.name).toBe('DeadlineExceededError');
    expect(error.message).toBe(
      'deadline exceeded after a budget of 250ms (destination users; attempts: #1 10.0.0.1:80 503 12ms, #2 10.0.0.2:80 ETIMEDOUT 200ms; time left 0ms)',
    );
    expect(error.attempts).toHaveLength(2);
    expect(error.destination).toBe('users');
  });

  it('ConfigError names the option and shows the value, shortened', () => {
    const long = 'x'.repeat(200);
    const error = new ConfigError('balancer.decayMs', long, 'expected a number');
    expect(error.message).toMatch(/^invalid option balancer\.decayMs: "x{77}\.\.\." \(expected a number\)$/);
    expect(new ConfigError('a', { b: 1 }, 'e').message).toBe('invalid option a: {"b":1} (e)');
  });

  it('redact the credentials of a URL, in a ConfigError message and value', () => {
    const error = new ConfigError('endpoints[0]', 'http://admin:hunter2@10.0.0.1:8080', 'no credentials');
    expect(error.message).toBe(
      'invalid option endpoints[0]: "http://<redacted>@10.0.0.1:8080" (no credentials)',
    );
    expect(error.value).toBe('http://<redacted>@10.0.0.1:8080');
    const inObject = new ConfigError('endpoints[0]', { address: 'https://token@a.test:443' }, 'e');
    expect(inObject.message).toBe(
      'invalid option endpoints[0]: {"address":"https://<redacted>@a.test:443"} (e)',
    );
  });

  it('redact the credentials of a URL in a call error, its cause left as it was', () => {
    const cause = new Error('CONNECT via http://egress:p@ss@127.0.0.1:3128/ refused');
    const error = new RequestFailedError(cause, { destination: 'users', cause });
    expect(error.message).toBe(
      'request failed: CONNECT via http://<redacted>@127.0.0.1:3128/ refused (destination users)',
    );
    expect(error.cause).toBe(cause);
  });

  it('leave text without URL credentials alone', () => {
    for (const text of ['http://10.0.0.1:8080/a@b', 'ops@example.com', 'no url here']) {
      expect(redactCredentials(text)).toBe(text);
    }
  });

  it('round durations to 0.1 ms on the error, and whole ms in the message', () => {
    expect(roundDurationMs(2.0543179999999666)).toBe(2.1);
    expect(roundDurationMs(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    const error = new DeadlineExceededError(99.96666, { timeLeftMs: 0.04999 });
    expect(error.budgetMs).toBe(100);
    expect(error.timeLeftMs).toBe(0);
    expect(error.message).toBe('deadline exceeded after a budget of 100ms (time left 0ms)');
  });

  it('keeps the cause', () => {
    const cause = new Error('SERVFAIL');
    expect(new NoEndpointsError('dns failed', { cause }).cause).toBe(cause);
  });
});

describe('reading what an error is', () => {
  it('errorCode gives a string code, and undefined for anything else', () => {
    expect(errorCode(new ConfigError('x', 1, 'y'))).toBe('WEFT_CONFIG');
    expect(errorCode(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(errorCode({ code: 42 })).toBeUndefined();
    expect(errorCode(new Error('plain'))).toBeUndefined();
    for (const value of [null, undefined, 'ECONNRESET', 7]) expect(errorCode(value)).toBeUndefined();
  });

  it('errorCodeOrName falls back to the name', () => {
    expect(errorCodeOrName(Object.assign(new Error('x'), { code: 'EPIPE' }))).toBe('EPIPE');
    expect(errorCodeOrName(new DOMException('gone', 'AbortError'))).toBe('AbortError');
    expect(errorCodeOrName(new TypeError('x'))).toBe('TypeError');
    expect(errorCodeOrName(null)).toBeUndefined();
  });
});
