/**
 * One error hierarchy with stable `code`s. Every error that weft raises on a call carries what a
 * person needs to debug it: the destination, the attempts made (endpoint, outcome, duration) and
 * the time that was left. `code` values are part of the public API and never change meaning.
 * Messages are for people: durations are rounded to 0.1 ms where they are recorded (whole ms in
 * messages), and credentials in a URL (`http://user:pass@host`) never appear in one.
 */

/** One attempt of a call, as recorded for errors and telemetry. */
export interface AttemptRecord {
  /** The endpoint address (`host:port`) the attempt went to, if one was picked. */
  readonly endpoint: string | undefined;
  /** What happened: a classification reason (`status 503`) or an error code (`ECONNREFUSED`). */
  readonly outcome: string;
  /** How long the attempt took, in milliseconds, rounded to 0.1 ms ({@link roundDurationMs}). */
  readonly durationMs: number;
  /** Why it was or was not sent again (`retried`, `requeued`, `not retried: ...`), when known. */
  decision?: string;
}

/** Stable error codes. */
export type WeftErrorCode =
  | 'WEFT_CONFIG'
  | 'WEFT_UNKNOWN_ROLE'
  | 'WEFT_DEADLINE_EXCEEDED'
  | 'WEFT_ATTEMPT_TIMEOUT'
  | 'WEFT_HEDGE_LOST'
  | 'WEFT_REQUEST_FAILED'
  | 'WEFT_NO_ENDPOINTS'
  | 'WEFT_RETRY_BUDGET_EXHAUSTED'
  | 'WEFT_CIRCUIT_OPEN'
  | 'WEFT_OVERLOADED'
  | 'WEFT_CLIENT_CLOSED'
  | 'WEFT_NEXT_CALLED_TWICE'
  | 'WEFT_UNSUPPORTED_NODE';

/** What a call-time error knows about the call it failed. */
export interface CallErrorDetails {
  /** The logical destination (client name or authority). */
  readonly destination?: string | undefined;
  /** The attempts made before the error, oldest first. */
  readonly attempts?: readonly AttemptRecord[] | undefined;
  /** Milliseconds left on the call's deadline when it failed (undefined when it had none); rounded to 0.1 ms. */
  readonly timeLeftMs?: number | undefined;
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

/** Base class of every error weft raises. */
export class WeftError extends Error {
  readonly code: WeftErrorCode;
  readonly destination: string | undefined;
  readonly attempts: readonly AttemptRecord[];
  readonly timeLeftMs: number | undefined;

  constructor(code: WeftErrorCode, message: string, details: CallErrorDetails = {}) {
    const timeLeftMs = details.timeLeftMs === undefined ? undefined : roundDurationMs(details.timeLeftMs);
    super(
      redactCredentials(withDetails(message, details)),
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.name = new.target.name;
    this.code = code;
    this.destination = details.destination;
    this.attempts = details.attempts ?? [];
    this.timeLeftMs = timeLeftMs;
  }
}

/**
 * A duration rounded for people, to 0.1 ms: `2.0543179999999666` → `2.1`. Timers and clocks give
 * fractions no one can use; a tenth keeps what tells a 0.3 ms refusal from a 2 ms one on a LAN.
 * Infinite values and NaN are returned as they are.
 */
export function roundDurationMs(ms: number): number {
  return Number.isFinite(ms) ? Math.round(ms * 10) / 10 : ms;
}

/**
 * Matches the userinfo of a URL, `scheme://user:password@`, up to the last `@` before the host
 * (a password may hold an unescaped `@`); it stops at whitespace, quotes and the path.
 */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>\\]*(?:@[^\s/?#@"'<>\\]*)*@/gi;

/**
 * `text` with the credentials of every URL in it replaced: `http://user:pass@10.0.0.1:8080` →
 * `http://<redacted>@10.0.0.1:8080`. The whole userinfo goes, user name included: a token is often
 * passed as the user name alone. Like the admin endpoint's `token`, a secret never reaches a message.
 */
export function redactCredentials(text: string): string {
  return text.includes('@') ? text.replace(URL_CREDENTIALS, '$1<redacted>@') : text;
}

/** Attempts as a message lists them: `#1 10.0.0.7:80 status 503 3ms (retried), #2 …`. */
export function describeAttempts(attempts: readonly AttemptRecord[]): string {
  return attempts
    .map(
      (a, i) =>
        `#${i + 1} ${a.endpoint ?? '-'} ${a.outcome} ${Math.round(a.durationMs)}ms${a.decision ? ` (${a.decision})` : ''}`,
    )
    .join(', ');
}

function withDetails(message: string, details: CallErrorDetails): string {
  const parts: string[] = [];
  if (details.destination !== undefined) parts.push(`destination ${details.destination}`);
  if (details.attempts !== undefined && details.attempts.length > 0) {
    parts.push(`attempts: ${describeAttempts(details.attempts)}`);
  }
  if (details.timeLeftMs !== undefined && Number.isFinite(details.timeLeftMs)) {
    parts.push(`time left ${Math.max(0, Math.round(details.timeLeftMs))}ms`);
  }
  return parts.length === 0 ? message : `${message} (${parts.join('; ')})`;
}

/**
 * An option passed to a weft factory or call is unknown, missing, of the wrong type or out of
 * range. Credentials in a URL value are redacted, in the message and in `value`.
 */
export class ConfigError extends WeftError {
  /** The option's path, e.g. `balancer.decayMs` or `retry.maxAttempt`. */
  readonly option: string;
  /** The value that was rejected (undefined for an unknown option: it may be a misspelled secret). */
  readonly value: unknown;

  /**
   * @param expectation what a valid value looks like: `expected a finite number > 0`.
   * @param message the whole message, replacing `invalid option <option>: <value> (<expectation>)`
   *   where that form does not fit (an unknown option: `unknown option \`timeoutMS\`; did you mean ...`).
   */
  constructor(option: string, value: unknown, expectation: string, message?: string) {
    super('WEFT_CONFIG', message ?? `invalid option ${option}: ${describeValue(value)} (${expectation})`);
    this.option = option;
    this.value = typeof value === 'string' ? redactCredentials(value) : value;
  }
}

/** A stack edit named a role that the stack does not have. */
export class UnknownRoleError extends WeftError {
  readonly role: string;
  readonly roles: readonly string[];

  constructor(role: string, roles: readonly string[]) {
    super(
      'WEFT_UNKNOWN_ROLE',
      `unknown stack role "${role}"; the stack has: ${roles.join(', ') || '(none)'}`,
    );
    this.role = role;
    this.roles = roles;
  }
}

/** The call's deadline passed (or had passed before anything was sent). */
export class DeadlineExceededError extends WeftError {
  /** The budget the call started with, in milliseconds (rounded to 0.1 ms). */
  readonly budgetMs: number;

  constructor(budgetMs: number, details: CallErrorDetails = {}) {
    super('WEFT_DEADLINE_EXCEEDED', `deadline exceeded after a budget of ${Math.round(budgetMs)}ms`, details);
    this.budgetMs = roundDurationMs(budgetMs);
  }
}

/**
 * The retry budget refused a retry: the failure is final here, and marked non-retryable so that
 * the layer above (or the service calling this one) does not retry it again.
 */
export class RetryBudgetExhaustedError extends WeftError {
  /** Always false: the point of this error. */
  readonly retryable = false;

  constructor(details: CallErrorDetails = {}) {
    super('WEFT_RETRY_BUDGET_EXHAUSTED', 'retry budget exhausted; not retried', details);
  }
}

/** The client's circuit breaker is open: the call failed fast, nothing was sent. */
export class CircuitOpenError extends WeftError {
  /** Milliseconds until the breaker lets a probe through (0 when half-open and busy probing); 0.1 ms. */
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number, details: CallErrorDetails = {}) {
    super(
      'WEFT_CIRCUIT_OPEN',
      `circuit breaker open; next probe in ${Math.max(0, Math.round(retryAfterMs))}ms`,
      details,
    );
    this.retryAfterMs = roundDurationMs(retryAfterMs);
  }
}

/** The call was rejected locally without being sent (adaptive throttling) or nacked as overloaded. */
export class OverloadedError extends WeftError {
  constructor(reason: string, details: CallErrorDetails = {}) {
    super('WEFT_OVERLOADED', reason, details);
  }
}

/**
 * A call failed for a reason that is not one of weft's own (a refused connection, a reset, a
 * protocol error): the original error is the `cause`; this one adds where the call went, every
 * attempt and what became of it, and the time that was left.
 */
export class RequestFailedError extends WeftError {
  constructor(error: unknown, details: CallErrorDetails = {}) {
    super('WEFT_REQUEST_FAILED', `request failed: ${describeError(error)}`, details);
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = errorCode(error);
    return code === undefined ? error.message : `${code}: ${error.message}`;
  }
  return String(error);
}

/**
 * The `code` of an error, when it has one that is a string: a WeftError's `WEFT_…`, a Node system
 * error's `ECONNREFUSED`, undici's `UND_ERR_…`. Anything else (no code, not an object) gives
 * undefined. The one place weft reads an error's code.
 */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A short name for what went wrong, for records and span attributes: the error's code
 * ({@link errorCode}), else its `name` (`AbortError`, `TypeError`); undefined when it has neither.
 */
export function errorCodeOrName(error: unknown): string | undefined {
  const code = errorCode(error);
  if (code !== undefined) return code;
  const name = (error as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

/** Discovery has no endpoint to send to (the name does not exist, or the set is empty). */
export class NoEndpointsError extends WeftError {
  constructor(reason: string, details: CallErrorDetails = {}) {
    super('WEFT_NO_ENDPOINTS', `no endpoints available: ${reason}`, details);
  }
}

/** The client was closed; no new call is accepted. */
export class ClientClosedError extends WeftError {
  constructor(details: CallErrorDetails = {}) {
    super('WEFT_CLIENT_CLOSED', 'client is closed', details);
  }
}

/**
 * A layer of the call stack called `next` again while the attempt it sent first was still in
 * flight. Each attempt goes down the stack once: a second descent would take the first attempt's
 * place in the balancer's bookkeeping, so that its endpoint's in-flight count never came down and
 * a probed endpoint could stay `busy` for good. The second descent fails with this error instead,
 * and the first attempt goes on. To send a request again, let `retry` or `hedge` do it (a layer
 * above `retry` may call `next` as often as it likes: each call is a new try).
 */
export class NextCalledTwiceError extends WeftError {
  constructor(endpoint: string | undefined, details: CallErrorDetails = {}) {
    super(
      'WEFT_NEXT_CALLED_TWICE',
      `a layer below retry called next again while this call's attempt to ${endpoint ?? 'an endpoint'} ` +
        'was in flight: each attempt goes down the stack once (let retry or hedge send it again)',
      details,
    );
  }
}

/**
 * weft was loaded on a Node.js below its floor (package.json `engines.node`, set by undici 8).
 * Thrown while weft loads, before undici does (src/node-check.ts), so the process gets this
 * message rather than undici's own failure on an old Node.
 */
export class UnsupportedNodeError extends WeftError {
  /** The Node.js versions weft supports, as package.json `engines.node` has them (`>=22.19.0`). */
  readonly required: string;
  /** The version of the Node.js running (`process.versions.node`, e.g. `20.20.2`). */
  readonly running: string;

  constructor(required: string, running: string, execPath: string) {
    super(
      'WEFT_UNSUPPORTED_NODE',
      `weft needs Node.js ${required}, but runs on Node.js ${running} (${execPath}). ` +
        'undici 8, the HTTP client weft is built on, does not load on older versions: upgrade Node.js.',
    );
    this.required = required;
    this.running = running;
  }
}

/** Render a rejected value for an error message, without dumping huge objects. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
