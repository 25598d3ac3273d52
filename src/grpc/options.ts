/**
 * The options of a weft gRPC client: the ones every client shares (src/client/options.ts) and
 * gRPC's own (credentials, authority, grpc-js channel options, the service definitions that say
 * each method's kind, and per-method settings), with one check for unknown keys against both lists.
 * Validated once, at construction. Defaults and their sources: docs/grpc.md.
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  credentials as grpcCredentials,
  type status as Status,
} from '@grpc/grpc-js';
import {
  type CallOptions,
  CLIENT_OPTION_KEYS,
  type ClientOptions,
  resolveCallOptions,
} from '../client/options.js';
import { ConfigError } from '../core/errors.js';
import { grpcStatusCode } from '../core/grpc-status.js';
import { booleanOption, objectOption, optionKeys, rejectUnknownKeys } from '../core/options.js';
import { DEFAULT_GRPC_REPLAY_BUFFER_BYTES } from './message-log.js';
import {
  type GrpcMethod,
  grpcMethod,
  type MethodDefinitionLike,
  type ServiceDefinitionLike,
  splitPath,
} from './method.js';
import type { GrpcRequest, GrpcResponse } from './request.js';
import { applyServiceConfig, type GrpcServiceConfig } from './service-config.js';
import type { GrpcTransportSettings } from './transport.js';

/** A status code by number (14) or by name (`'UNAVAILABLE'`, as in a gRPC service config). */
export type StatusCodeLike = number | keyof typeof Status;

/** Settings of one method, or of every method of a service. */
export interface GrpcMethodOptions {
  /** Safe to send twice, whatever the proto says. Default: the proto's `idempotency_level`. */
  idempotent?: boolean;
  /** Total time for a call of this method, in ms (a call's own deadline, if sooner, wins). Default: the client's. */
  timeoutMs?: number;
  /** Time for one attempt, in ms. Default: the client's. */
  attemptTimeoutMs?: number;
  /** Most attempts, 1 to 5. Default: the client's `retry.maxAttempts`. */
  maxAttempts?: number;
  /**
   * Status codes to retry for this method whatever its idempotency, before the call commits (gRFC
   * A6's `retryableStatusCodes`). Default: none beyond the default classifier's (docs/grpc.md).
   */
  retryableStatusCodes?: readonly StatusCodeLike[];
}

/** The keys of {@link GrpcMethodOptions}. */
export const GRPC_METHOD_OPTION_KEYS = optionKeys<GrpcMethodOptions>({
  idempotent: true,
  timeoutMs: true,
  attemptTimeoutMs: true,
  maxAttempts: true,
  retryableStatusCodes: true,
});

/** gRPC's own options. */
export interface GrpcTransportOptions {
  /** Channel credentials for every endpoint: `credentials.createSsl(...)` for TLS. Default: insecure. */
  credentials?: ChannelCredentials;
  /**
   * The service's name, sent as `:authority` and checked against the server's TLS certificate.
   * Default: `name`, when given.
   */
  authority?: string;
  /** grpc-js channel options for every endpoint's channel (`grpc.keepalive_time_ms`, ...). No service config. */
  channelOptions?: ChannelOptions;
  /** Service definitions (`MyServiceClient.service`), so weft knows each method's kind and idempotency. */
  services?: readonly ServiceDefinitionLike[];
  /** Per-method settings, keyed `package.Service/Method` (or `/package.Service/Method`), or `package.Service` for all of its methods. */
  methods?: Readonly<Record<string, GrpcMethodOptions>>;
  /**
   * A grpc-js service config (JSON text or object: `methodConfig`, `retryThrottling`, ...), mapped
   * onto `methods`, `retry` and `hedge` (./service-config.ts); those options, when set, win.
   */
  serviceConfig?: GrpcServiceConfig | string;
}

/** Options of {@link createGrpcChannel} and {@link createGrpcClient}. Exactly one of `endpoints` and `resolver` is required. */
export interface GrpcClientOptions extends ClientOptions<GrpcRequest, GrpcResponse>, GrpcTransportOptions {}

/** The keys of {@link GrpcTransportOptions}. */
export const GRPC_TRANSPORT_OPTION_KEYS = optionKeys<GrpcTransportOptions>({
  credentials: true,
  authority: true,
  channelOptions: true,
  services: true,
  methods: true,
  serviceConfig: true,
});

/** The keys of {@link GrpcClientOptions}; any other key throws a ConfigError. */
export const GRPC_CLIENT_OPTION_KEYS: ReadonlySet<string> = new Set([
  ...CLIENT_OPTION_KEYS,
  ...GRPC_TRANSPORT_OPTION_KEYS,
]);

/** Defaults of the gRPC client's own options; the shared ones are CLIENT_DEFAULTS'. */
export const GRPC_CLIENT_DEFAULTS = {
  /** grpc-js's own per-call retry buffer, `grpc.per_rpc_retry_buffer_size`. */
  replayBufferBytes: DEFAULT_GRPC_REPLAY_BUFFER_BYTES,
} as const;

/** Channel options weft sets itself, or that would undo what it does. */
const CHANNEL_OPTIONS_REFUSED: Readonly<Record<string, string>> = {
  'grpc.service_config':
    'weft retries, hedges and balances itself: a retry policy here would retry inside each weft attempt; set retry, hedge and methods instead',
  'grpc.lb_policy_name': 'weft balances itself: choose with the balancer option',
  'grpc.default_authority': 'set the authority option',
};

/**
 * `options` as an object whose every key the gRPC client knows, with its service config laid
 * under `methods`, `retry` and `hedge`; throws ConfigError otherwise.
 */
export function checkGrpcClientOptions(options: GrpcClientOptions): Partial<GrpcClientOptions> {
  if (options === undefined)
    throw new ConfigError('options', options, 'expected { endpoints } or { resolver }');
  const o = objectOption<GrpcClientOptions>('options', options);
  rejectUnknownKeys('', o, GRPC_CLIENT_OPTION_KEYS);
  return applyServiceConfig(o);
}

/** One method as a call of it runs: what it is, its per-call settings, its retryable codes. */
export interface ResolvedMethod {
  readonly method: GrpcMethod;
  readonly call: CallOptions<GrpcRequest, GrpcResponse> | undefined;
  readonly retryableCodes: ReadonlySet<number> | undefined;
}

/** The gRPC settings, validated. */
export interface ResolvedGrpcSettings {
  readonly transport: GrpcTransportSettings;
  /** What weft knows of the method at `path`; made once per path. */
  readonly methodAt: (path: string) => ResolvedMethod;
}

/** Validate gRPC's own options and fill in their defaults. */
export function resolveGrpcSettings(o: Partial<GrpcClientOptions>): ResolvedGrpcSettings {
  const credentials = o.credentials ?? grpcCredentials.createInsecure();
  if (typeof (credentials as { _isSecure?: unknown })._isSecure !== 'function') {
    throw new ConfigError(
      'credentials',
      credentials,
      'expected grpc-js ChannelCredentials, e.g. credentials.createSsl()',
    );
  }
  const authority = o.authority ?? o.name;
  if (authority !== undefined && (typeof authority !== 'string' || authority.length === 0)) {
    throw new ConfigError(
      o.authority !== undefined ? 'authority' : 'name',
      authority,
      'expected a non-empty string',
    );
  }
  const channelOptions = objectOption<ChannelOptions>('channelOptions', o.channelOptions) as ChannelOptions;
  for (const key of Object.keys(channelOptions)) {
    const why = CHANNEL_OPTIONS_REFUSED[key];
    if (why !== undefined) throw new ConfigError(`channelOptions["${key}"]`, channelOptions[key], why);
  }
  const definitions = new Map<string, MethodDefinitionLike>();
  const services = o.services ?? [];
  if (!Array.isArray(services))
    throw new ConfigError('services', services, 'expected an array of service definitions');
  services.forEach((service, i) => {
    if (service === null || typeof service !== 'object') {
      throw new ConfigError(
        `services[${i}]`,
        service,
        'expected a service definition (MyServiceClient.service)',
      );
    }
    for (const [name, definition] of Object.entries(service as ServiceDefinitionLike)) {
      if (typeof definition?.path !== 'string') {
        throw new ConfigError(
          `services[${i}].${name}`,
          definition,
          'expected a method definition with a path',
        );
      }
      definitions.set(definition.path, definition);
    }
  });
  const methods = resolveMethodOptions(o.methods);
  const cache = new Map<string, ResolvedMethod>();
  return {
    transport: { credentials, authority, channelOptions },
    methodAt(path) {
      let resolved = cache.get(path);
      if (resolved === undefined) {
        const { service, name } = splitPath(path);
        const own = methods.get(`${service}/${name}`) ?? methods.get(service) ?? methods.get('');
        resolved = {
          method: grpcMethod(path, definitions.get(path), own?.idempotent),
          call: own?.call,
          retryableCodes: own?.retryableCodes,
        };
        cache.set(path, resolved);
      }
      return resolved;
    },
  };
}

interface MethodSettings {
  readonly idempotent: boolean | undefined;
  readonly call: CallOptions<GrpcRequest, GrpcResponse> | undefined;
  readonly retryableCodes: ReadonlySet<number> | undefined;
}

function resolveMethodOptions(value: unknown): Map<string, MethodSettings> {
  const out = new Map<string, MethodSettings>();
  const methods = objectOption<Record<string, GrpcMethodOptions>>('methods', value);
  for (const [key, raw] of Object.entries(methods)) {
    const option = `methods["${key}"]`;
    if (!/^(\/?[\w.]+(\/\w+)?)?$/.test(key)) {
      throw new ConfigError(
        option,
        raw,
        'expected a key "package.Service/Method", "package.Service", or "" for every method',
      );
    }
    const m = objectOption<GrpcMethodOptions>(option, raw, GRPC_METHOD_OPTION_KEYS);
    const { timeoutMs, attemptTimeoutMs, maxAttempts } = m;
    let call: CallOptions<GrpcRequest, GrpcResponse> | undefined;
    try {
      call = resolveCallOptions<GrpcRequest, GrpcResponse>({ timeoutMs, attemptTimeoutMs, maxAttempts });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const path = `${option}.${error.option}`;
      throw new ConfigError(
        path,
        error.value,
        '',
        error.message.replace(`option ${error.option}:`, `option ${path}:`),
      );
    }
    out.set(key.replace(/^\//, ''), {
      idempotent:
        m.idempotent === undefined ? undefined : booleanOption(`${option}.idempotent`, m.idempotent, false),
      call,
      retryableCodes:
        m.retryableStatusCodes === undefined
          ? undefined
          : statusCodes(`${option}.retryableStatusCodes`, m.retryableStatusCodes),
    });
  }
  return out;
}

/** A list of status codes, by number or name, as a set of numbers. */
export function statusCodes(option: string, value: unknown): ReadonlySet<number> {
  if (!Array.isArray(value)) throw new ConfigError(option, value, 'expected an array of status codes');
  const codes = new Set<number>();
  value.forEach((code, i) => {
    const number = grpcStatusCode(code);
    if (number === undefined || number === 0) {
      throw new ConfigError(
        `${option}[${i}]`,
        code,
        'expected a non-OK status code, 1 to 16 or its name (e.g. "UNAVAILABLE")',
      );
    }
    codes.add(number);
  });
  return codes;
}
