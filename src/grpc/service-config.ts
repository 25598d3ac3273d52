/**
 * Migration from a grpc-js service config: the `serviceConfig` option takes the JSON that grpc-js
 * takes as `grpc.service_config` (grpc/grpc `service_config.proto`, gRFC A6 for retries and
 * hedging) and maps it onto weft's own options, checked as strictly as grpc-js checks it
 * (`service-config.ts` in grpc-js). What weft cannot honour throws a ConfigError naming the JSON
 * path (`serviceConfig.methodConfig[1].retryPolicy.initialBackoff`) and why, never silently.
 *
 *   methodConfig[].name[]             `methods` keys: `service/method`, `service`, or `''` (every method),
 *                                     chosen as grpc-js does: the most specific name, whole
 *   timeout                           the method's `timeoutMs`
 *   retryPolicy.maxAttempts           the method's `maxAttempts` (above 5: 5, as gRFC A6 and grpc-js)
 *   retryPolicy.retryableStatusCodes  the method's `retryableStatusCodes` (retried whatever its
 *                                     idempotency, before the commit: A6's rule)
 *   retryPolicy backoff               `retry.backoffInitialMs` and `retry.backoffMaxMs` (one per client)
 *   hedgingPolicy                     `hedge` on, `hedge.minDelayMs` = hedgingDelay; the method is
 *                                     declared idempotent, its nonFatalStatusCodes retryable
 *   retryThrottling                   `retry.budget` (percentCanRetry, minRetriesPerSecond)
 *   waitForReady                      accepted; weft never parks a call (grpc-js ignores it too)
 *   loadBalancing*                    pick_first and round_robin accepted: weft's balancer decides
 *
 * The user's own `methods`, `retry` and `hedge` options win over what the service config says,
 * field by field. docs/grpc.md ("Migrating from a grpc-js service config") explains each choice.
 */
import type { RetryOptions } from '../client/options.js';
import { ConfigError } from '../core/errors.js';
import { grpcStatusCode } from '../core/grpc-status.js';
import { objectOption, optionKeys, rejectUnknownKeys } from '../core/options.js';
import type { HedgeOptions } from '../policies/hedge.js';
import { MAX_ATTEMPTS_LIMIT } from '../policies/retry.js';
import { RETRY_BUDGET_DEFAULTS, type RetryBudgetOptions } from '../policies/retry-budget.js';

/** A duration as the service config writes it: `"0.1s"` (seconds, up to 9 decimals). */
export type ServiceConfigDuration = string;

/** A status code by name (`"UNAVAILABLE"`) or number (14). */
export type ServiceConfigStatusCode = string | number;

/** gRFC A6's retry policy of a method. Every field is required. */
export interface GrpcRetryPolicy {
  /** Attempts, the first included: 2 or more (above 5 means 5). */
  maxAttempts: number;
  initialBackoff: ServiceConfigDuration;
  maxBackoff: ServiceConfigDuration;
  backoffMultiplier: number;
  /** The codes that are retried; not empty. */
  retryableStatusCodes: readonly ServiceConfigStatusCode[];
}

/** gRFC A6's hedging policy of a method. */
export interface GrpcHedgingPolicy {
  /** Copies of the call, the first included: 2 or more (above 5 means 5). */
  maxAttempts: number;
  /** The wait before each further copy. Default `"0s"`. */
  hedgingDelay?: ServiceConfigDuration;
  /** Codes after which the next copy goes at once, instead of the call failing. */
  nonFatalStatusCodes?: readonly ServiceConfigStatusCode[];
}

/** A method config's name: both empty for every method, no method for a whole service. */
export interface GrpcMethodConfigName {
  service?: string;
  method?: string;
}

/** One entry of `methodConfig`. */
export interface GrpcMethodConfig {
  name: readonly GrpcMethodConfigName[];
  waitForReady?: boolean;
  timeout?: ServiceConfigDuration | { seconds: number; nanos: number };
  maxRequestBytes?: number;
  maxResponseBytes?: number;
  retryPolicy?: GrpcRetryPolicy;
  hedgingPolicy?: GrpcHedgingPolicy;
}

/** A gRPC service config, in the JSON form grpc-js takes (`grpc.service_config`). */
export interface GrpcServiceConfig {
  methodConfig?: readonly GrpcMethodConfig[];
  retryThrottling?: { maxTokens: number; tokenRatio: number };
  loadBalancingConfig?: readonly Record<string, unknown>[];
  loadBalancingPolicy?: string;
  healthCheckConfig?: unknown;
}

/** What a service config sets on one method: a `methods` entry of the gRPC client. */
export interface ServiceConfigMethodSettings {
  idempotent?: boolean;
  timeoutMs?: number;
  maxAttempts?: number;
  retryableStatusCodes?: readonly number[];
}

/** What weft makes of a service config: the options it sets (see {@link serviceConfigOptions}). */
export interface ServiceConfigOptions {
  /** Per-method settings, keyed `package.Service/Method`, `package.Service`, or `''` for every method. */
  methods: Record<string, ServiceConfigMethodSettings>;
  /** Backoff and budget, when the config has a retry policy or retry throttling. */
  retry?: RetryOptions;
  /** Hedging, when the config has a hedging policy. */
  hedge?: HedgeOptions;
}

/** The options of a client that a service config touches (a structural view of GrpcClientOptions). */
export interface ServiceConfigTarget {
  serviceConfig?: unknown;
  methods?: Readonly<Record<string, unknown>>;
  retry?: RetryOptions | boolean;
  hedge?: HedgeOptions | boolean;
}

const SERVICE_CONFIG_KEYS = optionKeys<GrpcServiceConfig>({
  methodConfig: true,
  retryThrottling: true,
  loadBalancingConfig: true,
  loadBalancingPolicy: true,
  healthCheckConfig: true,
});
const METHOD_CONFIG_KEYS = optionKeys<GrpcMethodConfig>({
  name: true,
  waitForReady: true,
  timeout: true,
  maxRequestBytes: true,
  maxResponseBytes: true,
  retryPolicy: true,
  hedgingPolicy: true,
});
const NAME_KEYS = optionKeys<GrpcMethodConfigName>({ service: true, method: true });
const RETRY_POLICY_KEYS = optionKeys<GrpcRetryPolicy>({
  maxAttempts: true,
  initialBackoff: true,
  maxBackoff: true,
  backoffMultiplier: true,
  retryableStatusCodes: true,
});
const HEDGING_POLICY_KEYS = optionKeys<GrpcHedgingPolicy>({
  maxAttempts: true,
  hedgingDelay: true,
  nonFatalStatusCodes: true,
});
const RETRY_THROTTLING_KEYS = optionKeys<{ maxTokens: number; tokenRatio: number }>({
  maxTokens: true,
  tokenRatio: true,
});

/** grpc-js's duration syntax (`DURATION_REGEX` in its service-config.ts). */
const DURATION = /^\d+(\.\d{1,9})?s$/;
/** A service or method name, as the `methods` option keys them. */
const SERVICE_NAME = /^[\w.]+$/;
const METHOD_NAME = /^\w+$/;

/** The balancing policies a config may name: weft's balancer does what they ask, and more. */
const BALANCING_ACCEPTED: ReadonlySet<string> = new Set(['pick_first', 'round_robin']);

/**
 * The options a service config sets, before the user's own are laid over them: what weft makes
 * of `config` (JSON text or the parsed object). Throws ConfigError naming the JSON path of the
 * first thing that does not map.
 */
export function serviceConfigOptions(config: GrpcServiceConfig | string): ServiceConfigOptions {
  const parsed = parseServiceConfig(config, 'serviceConfig');
  return {
    methods: Object.fromEntries(parsed.methods),
    ...optionalEntry('retry', retryFromConfig(parsed, undefined)),
    ...optionalEntry('hedge', hedgeFromConfig(parsed, undefined)),
  };
}

/**
 * `o` with its `serviceConfig` mapped onto `methods`, `retry` and `hedge`; what the user set in
 * those wins, field by field. Returns `o` itself when it has no service config.
 */
export function applyServiceConfig<O extends ServiceConfigTarget>(o: O): O {
  if (o.serviceConfig === undefined) return o;
  const parsed = parseServiceConfig(o.serviceConfig, 'serviceConfig');
  const explicitRetry = o.retry;
  const explicitHedge = o.hedge;
  const out: O = { ...o, methods: mergeMethods(parsed.methods, o.methods) };
  if (explicitRetry === undefined || explicitRetry === true || isPlainObject(explicitRetry)) {
    const own = isPlainObject(explicitRetry) ? (explicitRetry as RetryOptions) : undefined;
    const fromConfig = retryFromConfig(parsed, own);
    if (fromConfig !== undefined) out.retry = mergeRetry(fromConfig, own);
  }
  if (explicitHedge === undefined || explicitHedge === true || isPlainObject(explicitHedge)) {
    const own = isPlainObject(explicitHedge) ? (explicitHedge as HedgeOptions) : undefined;
    const fromConfig = hedgeFromConfig(parsed, own);
    if (fromConfig !== undefined) out.hedge = { ...fromConfig, ...own };
  }
  return out;
}

// --- parsing ---------------------------------------------------------------------------------

/** A retry policy's backoff, as grpc-js would run it, and where it was written. */
interface Backoff {
  readonly path: string;
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  readonly maxAttempts: number;
}

/** A service config, checked; not yet laid over the user's options. */
interface ParsedServiceConfig {
  /** Per-method settings by `methods` key. */
  readonly methods: Map<string, ServiceConfigMethodSettings>;
  /** Every retry policy's backoff (of entries that name a method). */
  readonly backoffs: Backoff[];
  /** Every hedging policy's delay, in ms, and where it was written. */
  readonly hedgingDelays: { readonly path: string; readonly ms: number }[];
  /** `retryThrottling`, if any. */
  readonly throttling: { readonly maxTokens: number; readonly tokenRatio: number } | undefined;
}

function parseServiceConfig(value: unknown, option: string): ParsedServiceConfig {
  let config = value;
  if (typeof value === 'string') {
    try {
      config = JSON.parse(value);
    } catch (error) {
      throw new ConfigError(
        option,
        value,
        `expected a service config as JSON text: ${(error as Error).message}`,
      );
    }
  }
  if (Array.isArray(config)) {
    throw new ConfigError(
      option,
      config,
      'expected one service config object; this is a list of choices (the DNS TXT form): pass the serviceConfig of the choice you use',
    );
  }
  if (config === undefined) throw new ConfigError(option, config, 'expected a service config');
  const o = objectOption<GrpcServiceConfig>(option, config);
  rejectUnknownKeys(option, o, SERVICE_CONFIG_KEYS);
  if (o.healthCheckConfig !== undefined) {
    throw new ConfigError(
      `${option}.healthCheckConfig`,
      o.healthCheckConfig,
      '',
      `option ${option}.healthCheckConfig does not map: weft runs no gRPC health checks; failure accrual (the failureAccrual option) ejects failing endpoints and probes them back`,
    );
  }
  checkBalancing(o, option);
  const parsed: ParsedServiceConfig = {
    methods: new Map(),
    backoffs: [],
    hedgingDelays: [],
    throttling:
      o.retryThrottling === undefined
        ? undefined
        : parseThrottling(o.retryThrottling, `${option}.retryThrottling`),
  };
  if (o.methodConfig !== undefined) {
    if (!Array.isArray(o.methodConfig)) {
      throw new ConfigError(`${option}.methodConfig`, o.methodConfig, 'expected an array of method configs');
    }
    const namedAt = new Map<string, string>();
    o.methodConfig.forEach((entry, i) => {
      parseMethodConfig(entry, `${option}.methodConfig[${i}]`, parsed, namedAt);
    });
  }
  return parsed;
}

function parseMethodConfig(
  value: unknown,
  path: string,
  parsed: ParsedServiceConfig,
  namedAt: Map<string, string>,
): void {
  if (value === undefined) throw new ConfigError(path, value, 'expected a method config object');
  const m = objectOption<GrpcMethodConfig>(path, value, METHOD_CONFIG_KEYS);
  if (!Array.isArray(m.name)) {
    throw new ConfigError(`${path}.name`, m.name, 'expected an array of names ({ service, method })');
  }
  const keys = m.name.map((name, j) => methodKey(name, `${path}.name[${j}]`, namedAt));
  if (m.waitForReady !== undefined && typeof m.waitForReady !== 'boolean') {
    throw new ConfigError(`${path}.waitForReady`, m.waitForReady, 'expected true or false');
  }
  for (const field of ['maxRequestBytes', 'maxResponseBytes'] as const) {
    if (m[field] === undefined) continue;
    const channelOption =
      field === 'maxRequestBytes' ? 'grpc.max_send_message_length' : 'grpc.max_receive_message_length';
    throw new ConfigError(
      `${path}.${field}`,
      m[field],
      '',
      `option ${path}.${field} does not map: weft has no per-method message size limit (grpc-js parses this field and ignores it too, so leaving it out changes nothing); for every method, set channelOptions["${channelOption}"]`,
    );
  }
  const settings: ServiceConfigMethodSettings = {};
  if (m.timeout !== undefined) settings.timeoutMs = timeoutMs(m.timeout, `${path}.timeout`);
  if (m.retryPolicy !== undefined && m.hedgingPolicy !== undefined) {
    throw new ConfigError(
      `${path}.hedgingPolicy`,
      m.hedgingPolicy,
      '',
      `option ${path}.hedgingPolicy: a method config has a retryPolicy or a hedgingPolicy, not both (gRFC A6)`,
    );
  }
  if (m.retryPolicy !== undefined) {
    const policy = parseRetryPolicy(m.retryPolicy, `${path}.retryPolicy`);
    settings.maxAttempts = policy.maxAttempts;
    settings.retryableStatusCodes = policy.retryableStatusCodes;
    if (keys.length > 0) parsed.backoffs.push(policy.backoff);
  }
  if (m.hedgingPolicy !== undefined) {
    const policy = parseHedgingPolicy(m.hedgingPolicy, `${path}.hedgingPolicy`);
    // A6: a hedged method is one the user deems safe to send more than once.
    settings.idempotent = true;
    settings.maxAttempts = policy.maxAttempts;
    if (policy.nonFatalStatusCodes.length > 0) settings.retryableStatusCodes = policy.nonFatalStatusCodes;
    if (keys.length > 0)
      parsed.hedgingDelays.push({ path: `${path}.hedgingPolicy.hedgingDelay`, ms: policy.delayMs });
  }
  for (const key of keys) parsed.methods.set(key, settings);
}

/** The `methods` key a name stands for; a name seen before throws, as in grpc-js. */
function methodKey(value: unknown, path: string, namedAt: Map<string, string>): string {
  if (value === undefined) throw new ConfigError(path, value, 'expected a name { service, method }');
  const n = objectOption<GrpcMethodConfigName>(path, value, NAME_KEYS);
  const service = n.service ?? '';
  const method = n.method ?? '';
  if (typeof service !== 'string' || (service !== '' && !SERVICE_NAME.test(service))) {
    throw new ConfigError(
      `${path}.service`,
      service,
      'expected a fully qualified service name, e.g. "package.Service"',
    );
  }
  if (typeof method !== 'string' || (method !== '' && !METHOD_NAME.test(method))) {
    throw new ConfigError(`${path}.method`, method, 'expected a method name, e.g. "GetFeature"');
  }
  if (service === '' && method !== '') {
    throw new ConfigError(`${path}.method`, method, 'a method needs its service: set service too');
  }
  const key = method === '' ? service : `${service}/${method}`;
  const before = namedAt.get(key);
  if (before !== undefined) {
    throw new ConfigError(
      path,
      value,
      '',
      `option ${path}: ${key === '' ? 'the empty name (every method)' : `"${key}"`} is named twice, here and at ${before} (grpc-js refuses this too)`,
    );
  }
  namedAt.set(key, path);
  return key;
}

function parseRetryPolicy(
  value: unknown,
  path: string,
): { maxAttempts: number; retryableStatusCodes: number[]; backoff: Backoff } {
  const p = objectOption<GrpcRetryPolicy>(path, value, RETRY_POLICY_KEYS);
  const maxAttempts = policyAttempts(p.maxAttempts, `${path}.maxAttempts`);
  const initialMs = positiveDurationMs(p.initialBackoff, `${path}.initialBackoff`);
  const maxMs = positiveDurationMs(p.maxBackoff, `${path}.maxBackoff`);
  const multiplier = p.backoffMultiplier;
  if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier <= 0) {
    throw new ConfigError(`${path}.backoffMultiplier`, multiplier, 'expected a number > 0 (required)');
  }
  const codes = statusCodeList(p.retryableStatusCodes, `${path}.retryableStatusCodes`, true);
  return {
    maxAttempts,
    retryableStatusCodes: codes,
    backoff: { path, initialMs, maxMs, multiplier, maxAttempts },
  };
}

function parseHedgingPolicy(
  value: unknown,
  path: string,
): { maxAttempts: number; delayMs: number; nonFatalStatusCodes: number[] } {
  const p = objectOption<GrpcHedgingPolicy>(path, value, HEDGING_POLICY_KEYS);
  return {
    maxAttempts: policyAttempts(p.maxAttempts, `${path}.maxAttempts`),
    delayMs: p.hedgingDelay === undefined ? 0 : durationMs(p.hedgingDelay, `${path}.hedgingDelay`),
    nonFatalStatusCodes:
      p.nonFatalStatusCodes === undefined
        ? []
        : statusCodeList(p.nonFatalStatusCodes, `${path}.nonFatalStatusCodes`, false),
  };
}

function parseThrottling(value: unknown, path: string): { maxTokens: number; tokenRatio: number } {
  const t = objectOption<{ maxTokens: number; tokenRatio: number }>(path, value, RETRY_THROTTLING_KEYS);
  const { maxTokens, tokenRatio } = t;
  if (typeof maxTokens !== 'number' || !(maxTokens > 0 && maxTokens <= 1000)) {
    throw new ConfigError(
      `${path}.maxTokens`,
      maxTokens,
      'expected a number from 0 (excluded) to 1000 (required)',
    );
  }
  if (typeof tokenRatio !== 'number' || !Number.isFinite(tokenRatio) || tokenRatio <= 0) {
    throw new ConfigError(`${path}.tokenRatio`, tokenRatio, 'expected a number > 0 (required)');
  }
  return { maxTokens, tokenRatio };
}

function checkBalancing(o: Partial<GrpcServiceConfig>, option: string): void {
  const refuse = (path: string, value: unknown, name: string) =>
    new ConfigError(
      path,
      value,
      '',
      `option ${path} does not map: weft balances itself (the balancer option: P2C Peak-EWMA by default, or roundRobin()), and failure accrual (failureAccrual) does what outlier_detection does; "${name}" has no weft equivalent. pick_first and round_robin are accepted and left to weft's balancer`,
    );
  if (o.loadBalancingPolicy !== undefined) {
    const name = o.loadBalancingPolicy;
    if (typeof name !== 'string')
      throw new ConfigError(`${option}.loadBalancingPolicy`, name, 'expected a policy name');
    if (!BALANCING_ACCEPTED.has(name.toLowerCase()))
      throw refuse(`${option}.loadBalancingPolicy`, name, name);
  }
  if (o.loadBalancingConfig !== undefined) {
    if (!Array.isArray(o.loadBalancingConfig)) {
      throw new ConfigError(`${option}.loadBalancingConfig`, o.loadBalancingConfig, 'expected an array');
    }
    o.loadBalancingConfig.forEach((entry: unknown, i) => {
      const path = `${option}.loadBalancingConfig[${i}]`;
      const keys =
        entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? Object.keys(entry) : [];
      if (keys.length !== 1)
        throw new ConfigError(path, entry, 'expected an object with one key, the policy name');
      if (!BALANCING_ACCEPTED.has(keys[0]!)) throw refuse(`${path}.${keys[0]}`, undefined, keys[0]!);
    });
  }
}

// --- values ----------------------------------------------------------------------------------

/** A duration string as milliseconds. */
function durationMs(value: unknown, path: string): number {
  if (typeof value !== 'string' || !DURATION.test(value)) {
    throw new ConfigError(path, value, 'expected a duration such as "0.1s" (seconds, up to 9 decimals)');
  }
  return Number(value.slice(0, -1)) * 1000;
}

function positiveDurationMs(value: unknown, path: string): number {
  if (value === undefined)
    throw new ConfigError(path, value, 'expected a duration such as "0.1s" (required)');
  const ms = durationMs(value, path);
  if (ms <= 0) throw new ConfigError(path, value, 'expected a duration > 0 (gRFC A6)');
  return ms;
}

/** A method's timeout: a duration string, or `{ seconds, nanos }` as grpc-js also takes. */
function timeoutMs(value: unknown, path: string): number {
  let ms: number;
  if (value !== null && typeof value === 'object') {
    const { seconds, nanos } = value as { seconds?: unknown; nanos?: unknown };
    if (typeof seconds !== 'number' || typeof nanos !== 'number' || seconds < 0 || nanos < 0) {
      throw new ConfigError(path, value, 'expected a duration such as "1.5s" or { seconds, nanos }');
    }
    ms = seconds * 1000 + nanos / 1e6;
  } else {
    ms = durationMs(value, path);
  }
  if (ms <= 0) throw new ConfigError(path, value, 'expected a duration > 0: a zero timeout fails every call');
  return ms;
}

/** A policy's maxAttempts: an integer of at least 2; above 5 it means 5 (gRFC A6, grpc-js). */
function policyAttempts(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 2) {
    throw new ConfigError(path, value, 'expected an integer >= 2 (required)');
  }
  return Math.min(value, MAX_ATTEMPTS_LIMIT);
}

/** Status codes by name or number, as numbers; OK never fails, so it cannot be listed. */
function statusCodeList(value: unknown, path: string, required: boolean): number[] {
  if (!Array.isArray(value) || (required && value.length === 0)) {
    throw new ConfigError(path, value, `expected ${required ? 'a non-empty' : 'an'} array of status codes`);
  }
  const codes = new Set<number>();
  value.forEach((code: unknown, i) => {
    const number = grpcStatusCode(code);
    if (number === undefined) {
      throw new ConfigError(
        `${path}[${i}]`,
        code,
        'expected a status code, 1 to 16 or its name (e.g. "UNAVAILABLE")',
      );
    }
    if (number === 0) {
      throw new ConfigError(
        `${path}[${i}]`,
        code,
        '',
        `option ${path}[${i}]: OK is a success and is never sent again; leave it out`,
      );
    }
    codes.add(number);
  });
  return [...codes];
}

// --- laying the config under the user's options ----------------------------------------------

/**
 * The client-wide retry settings of the config: the backoff of its retry policies and the budget
 * of its retry throttling. weft's backoff is one per client, so the policies must agree on it,
 * unless the user's own `retry` sets both bounds.
 */
function retryFromConfig(
  parsed: ParsedServiceConfig,
  own: RetryOptions | undefined,
): RetryOptions | undefined {
  const retry: RetryOptions = {};
  const chosenByUser = own?.backoffInitialMs !== undefined && own.backoffMaxMs !== undefined;
  const [first, ...others] = parsed.backoffs;
  if (first !== undefined && !chosenByUser) {
    for (const other of others) {
      if (
        other.initialMs !== first.initialMs ||
        other.maxMs !== first.maxMs ||
        other.multiplier !== first.multiplier
      ) {
        throw new ConfigError(
          other.path,
          undefined,
          '',
          `option ${other.path}: its backoff differs from ${first.path}'s, and weft's backoff is one per client; set retry.backoffInitialMs and retry.backoffMaxMs to choose`,
        );
      }
    }
    const maxAttempts = Math.max(...parsed.backoffs.map((b) => b.maxAttempts));
    retry.backoffInitialMs = first.initialMs;
    retry.backoffMaxMs = longestBackoffMs(first, maxAttempts);
  }
  if (parsed.throttling !== undefined) {
    const ownTtl = own?.budget?.ttlMs;
    const ttlMs =
      typeof ownTtl === 'number' && Number.isFinite(ownTtl) && ownTtl > 0
        ? ownTtl
        : RETRY_BUDGET_DEFAULTS.ttlMs;
    retry.budget = budgetFromThrottling(parsed.throttling, ttlMs);
  }
  return Object.keys(retry).length === 0 ? undefined : retry;
}

/**
 * The longest wait grpc-js would draw its backoff around within `maxAttempts`: it starts at
 * `initial` and multiplies by `multiplier` after each retry, capped at `max` (A6). weft doubles its
 * bound instead, up to `retry.backoffMaxMs`; capping that at grpc-js's longest keeps a policy with
 * a multiplier below 2 (1 is a constant backoff) from waiting longer than it did.
 */
function longestBackoffMs(b: Backoff, maxAttempts: number): number {
  const retries = maxAttempts - 1;
  const grown = b.initialMs * b.multiplier ** (retries - 1);
  return Math.max(b.initialMs, Math.min(grown, b.maxMs));
}

/**
 * grpc-js's retry throttling as a weft budget. grpc-js keeps `maxTokens` tokens: a failed attempt
 * takes one, a success gives back `tokenRatio`, and retries stop at half (A6). So a burst of
 * `maxTokens / 2` retries goes, then about `tokenRatio` per call: weft's reserve is that burst over
 * the budget's window, and its share of calls is `tokenRatio` (at most 1, a retry per call).
 */
function budgetFromThrottling(
  throttling: { maxTokens: number; tokenRatio: number },
  ttlMs: number,
): RetryBudgetOptions {
  return {
    percentCanRetry: Math.min(1, throttling.tokenRatio),
    minRetriesPerSecond: throttling.maxTokens / 2 / (ttlMs / 1000),
  };
}

/** Hedging from the config's hedging policies: on, no sooner than their delay (one per client). */
function hedgeFromConfig(
  parsed: ParsedServiceConfig,
  own: HedgeOptions | undefined,
): HedgeOptions | undefined {
  const [first, ...others] = parsed.hedgingDelays;
  if (first === undefined) return undefined;
  if (own?.minDelayMs === undefined) {
    for (const other of others) {
      if (other.ms !== first.ms) {
        throw new ConfigError(
          other.path,
          undefined,
          '',
          `option ${other.path}: differs from ${first.path}, and weft's hedge delay is one per client; set hedge.minDelayMs to choose`,
        );
      }
    }
  }
  // weft never hedges sooner than 1 ms (Finagle's minSendBackupAfterMs); "0s" means at once.
  return first.ms > 0 ? { minDelayMs: first.ms } : {};
}

/**
 * The config's method settings under the user's: for every key either names, the entry grpc-js
 * would pick from the config (the key's own, its service's, the empty name's) with the entry weft
 * would pick from the user's (its own, its service's) laid over it, field by field.
 */
function mergeMethods(
  fromConfig: ReadonlyMap<string, ServiceConfigMethodSettings>,
  explicitValue: unknown,
): Record<string, unknown> {
  const explicit = new Map<string, unknown>();
  for (const [key, value] of Object.entries(
    objectOption<Record<string, unknown>>('methods', explicitValue),
  )) {
    explicit.set(key.replace(/^\//, ''), value);
  }
  const pick = <T>(map: ReadonlyMap<string, T>, key: string, withDefault: boolean): T | undefined => {
    const slash = key.indexOf('/');
    return (
      map.get(key) ??
      (slash > 0 ? map.get(key.slice(0, slash)) : undefined) ??
      (withDefault ? map.get('') : undefined)
    );
  };
  const merged: Record<string, unknown> = {};
  for (const key of new Set([...fromConfig.keys(), ...explicit.keys()])) {
    const base = pick(fromConfig, key, true);
    const own = pick(explicit, key, key === '');
    // Not an object: left as it is, for the methods option's own check to name it.
    merged[key] = own === undefined ? base : isPlainObject(own) ? { ...base, ...own } : own;
  }
  return merged;
}

function mergeRetry(fromConfig: RetryOptions, own: RetryOptions | undefined): RetryOptions {
  if (own === undefined) return fromConfig;
  const merged: RetryOptions = { ...fromConfig, ...own };
  if (fromConfig.budget !== undefined && own.budget !== undefined && isPlainObject(own.budget)) {
    merged.budget = { ...fromConfig.budget, ...own.budget };
  }
  return merged;
}

function isPlainObject(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function optionalEntry<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
