/** Errors: stable codes, and messages that carry destination, attempts and time left. */
import { describe, expect, it } from 'vitest';
import { ConfigError, DeadlineExceededError, NoEndpointsError, WeftError } from '../../src/core/errors.js';

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

  it('keeps the cause', () => {
    const cause = new Error('SERVFAIL');
    expect(new NoEndpointsError('dns failed', { cause }).cause).toBe(cause);
  });
});
