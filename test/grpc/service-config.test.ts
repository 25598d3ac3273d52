/**
 * Migration from a grpc-js service config (src/grpc/service-config.ts): what each part of a
 * config becomes among weft's options, the ConfigError (naming the JSON path) for each part that
 * does not map, the user's own options winning, and, end to end against grpc-js servers, a
 * config's retryPolicy retrying a non-idempotent method on another endpoint.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { roundRobin } from '../../src/balance/strategies.js';
import type { ConfigError } from '../../src/core/errors.js';
import {
  checkGrpcClientOptions,
  type GrpcClientOptions,
  resolveGrpcSettings,
} from '../../src/grpc/options.js';
import {
  applyServiceConfig,
  type GrpcServiceConfig,
  serviceConfigOptions,
} from '../../src/grpc/service-config.js';
import { createGrpcChannel, createGrpcClient } from '../../src/grpc.js';
import { expectConfigError } from '../support/config-errors.js';
import { EchoClient, failWith, GrpcBackends, unary } from '../support/grpc-servers.js';

const UNARY = { service: 'weft.test.Echo', method: 'Unary' };

/** A retry policy as grpc-js users write it, with `overrides`. */
function retryPolicy(overrides: Record<string, unknown> = {}) {
  return {
    maxAttempts: 4,
    initialBackoff: '0.1s',
    maxBackoff: '1s',
    backoffMultiplier: 2,
    retryableStatusCodes: ['UNAVAILABLE'],
    ...overrides,
  };
}

/** The ConfigError the service config `config` throws, expected to name `path`. */
function refused(config: unknown, path: string): ConfigError {
  return expectConfigError(() => serviceConfigOptions(config as GrpcServiceConfig), path);
}

describe('what a service config becomes', () => {
  const config: GrpcServiceConfig = {
    methodConfig: [
      {
        name: [UNARY],
        timeout: '1.5s',
        retryPolicy: retryPolicy({ retryableStatusCodes: ['UNAVAILABLE', 8, 'unavailable'] }),
      },
      { name: [{ service: 'weft.test.Echo' }], timeout: { seconds: 2, nanos: 500_000_000 } },
      { name: [{}], waitForReady: true, timeout: '10s' },
    ],
    retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
    loadBalancingConfig: [{ round_robin: {} }],
  };

  it('methods keyed as grpc-js names them, a client-wide backoff, and a budget from retryThrottling', () => {
    expect(serviceConfigOptions(config)).toEqual({
      methods: {
        'weft.test.Echo/Unary': { timeoutMs: 1_500, maxAttempts: 4, retryableStatusCodes: [14, 8] },
        'weft.test.Echo': { timeoutMs: 2_500 },
        '': { timeoutMs: 10_000 },
      },
      // grpc-js waits around 0.1 s, 0.2 s, 0.4 s over its 3 retries: 0.4 s is the longest bound.
      retry: {
        backoffInitialMs: 100,
        backoffMaxMs: 400,
        // maxTokens / 2 retries over the budget's 10 s window; tokenRatio of calls.
        budget: { percentCanRetry: 0.1, minRetriesPerSecond: 0.5 },
      },
    });
  });

  it('takes the same config as JSON text, as grpc-js takes grpc.service_config, or typed as grpc-js types it', () => {
    expect(serviceConfigOptions(JSON.stringify(config))).toEqual(serviceConfigOptions(config));
    const typed: grpc.ServiceConfig = {
      loadBalancingConfig: [],
      methodConfig: [{ name: [UNARY], timeout: { seconds: 1, nanos: 0 } }],
    };
    expect(serviceConfigOptions(typed).methods).toEqual({ 'weft.test.Echo/Unary': { timeoutMs: 1_000 } });
  });

  it('caps maxAttempts at 5 as grpc-js does, and bounds the backoff at the longest grpc-js would wait', () => {
    const steady = serviceConfigOptions({
      methodConfig: [{ name: [UNARY], retryPolicy: retryPolicy({ maxAttempts: 9, backoffMultiplier: 1 }) }],
    });
    expect(steady.methods['weft.test.Echo/Unary']!.maxAttempts).toBe(5);
    // A multiplier of 1 is a constant backoff: weft's doubling bound stays at the initial one.
    expect(steady.retry).toEqual({ backoffInitialMs: 100, backoffMaxMs: 100 });
    const capped = serviceConfigOptions({
      methodConfig: [{ name: [UNARY], retryPolicy: retryPolicy({ maxAttempts: 5, backoffMultiplier: 3 }) }],
    });
    expect(capped.retry).toEqual({ backoffInitialMs: 100, backoffMaxMs: 1_000 });
  });

  it('a hedging policy: the method is idempotent, its non-fatal codes retryable, hedging on past its delay', () => {
    const hedged = serviceConfigOptions({
      methodConfig: [
        {
          name: [UNARY],
          hedgingPolicy: { maxAttempts: 3, hedgingDelay: '0.05s', nonFatalStatusCodes: ['UNAVAILABLE'] },
        },
      ],
    });
    expect(hedged).toEqual({
      methods: { 'weft.test.Echo/Unary': { idempotent: true, maxAttempts: 3, retryableStatusCodes: [14] } },
      hedge: { minDelayMs: 50 },
    });
    // No delay: hedging on with weft's own least delay.
    const atOnce = serviceConfigOptions({
      methodConfig: [{ name: [UNARY], hedgingPolicy: { maxAttempts: 2 } }],
    });
    expect(atOnce.hedge).toEqual({});
    expect(atOnce.methods['weft.test.Echo/Unary']).toEqual({ idempotent: true, maxAttempts: 2 });
  });

  it('pick_first and round_robin are left to weft; an entry without names sets nothing', () => {
    expect(
      serviceConfigOptions({
        loadBalancingPolicy: 'ROUND_ROBIN',
        loadBalancingConfig: [{ pick_first: {} }],
        methodConfig: [{ name: [], retryPolicy: retryPolicy() }],
      }),
    ).toEqual({ methods: {} });
  });
});

describe('what does not map: a ConfigError naming the JSON path', () => {
  const at = 'serviceConfig.methodConfig[0]';

  it('retry policy values grpc-js would refuse too', () => {
    refused(
      { methodConfig: [{ name: [UNARY], retryPolicy: retryPolicy({ maxAttempts: 1 }) }] },
      `${at}.retryPolicy.maxAttempts`,
    );
    refused(
      { methodConfig: [{ name: [UNARY], retryPolicy: retryPolicy({ initialBackoff: '100ms' }) }] },
      `${at}.retryPolicy.initialBackoff`,
    );
    refused(
      { methodConfig: [{ name: [UNARY], retryPolicy: retryPolicy({ maxBackoff: undefined }) }] },
      `${at}.retryPolicy.maxBackoff`,
    );
    refused(
      { methodConfig: [{ name: [UNARY], retryPolicy: retryPolicy({ backoffMultiplier: 0 }) }] },
      `${at}.retryPolicy.backoffMultiplier`,
    );
    refused(
      { methodConfig: [{ name: [UNARY], retryPolicy: retryPolicy({ retryableStatusCodes: [] }) }] },
      `${at}.retryPolicy.retryableStatusCodes`,
    );
    refused(
      {
        methodConfig: [
          { name: [UNARY], retryPolicy: retryPolicy({ retryableStatusCodes: ['UNAVAILABLE', 'NOPE'] }) },
        ],
      },
      `${at}.retryPolicy.retryableStatusCodes[1]`,
    );
    refused(
      { methodConfig: [{ name: [UNARY], retryPolicy: retryPolicy({ maxAttemps: 3 }) }] },
      `${at}.retryPolicy.maxAttemps`,
    );
    refused(
      { methodConfig: [{ name: [UNARY], retryPolicy: retryPolicy(), hedgingPolicy: { maxAttempts: 2 } }] },
      `${at}.hedgingPolicy`,
    );
    refused(
      { retryThrottling: { maxTokens: 2_000, tokenRatio: 0.1 } },
      'serviceConfig.retryThrottling.maxTokens',
    );
    refused({ retryThrottling: { maxTokens: 10 } }, 'serviceConfig.retryThrottling.tokenRatio');
  });

  it('values weft cannot honour say why', () => {
    expect(
      refused(
        { methodConfig: [{ name: [UNARY], retryPolicy: retryPolicy({ retryableStatusCodes: ['OK'] }) }] },
        `${at}.retryPolicy.retryableStatusCodes[0]`,
      ).message,
    ).toMatch(/OK is a success/);
    expect(refused({ methodConfig: [{ name: [UNARY], timeout: '0s' }] }, `${at}.timeout`).message).toMatch(
      /zero timeout fails every call/,
    );
    expect(
      refused({ methodConfig: [{ name: [UNARY], maxRequestBytes: 1024 }] }, `${at}.maxRequestBytes`).message,
    ).toMatch(/channelOptions\["grpc.max_send_message_length"\]/);
    expect(
      refused({ healthCheckConfig: { serviceName: 'x' } }, 'serviceConfig.healthCheckConfig').message,
    ).toMatch(/failureAccrual/);
    expect(
      refused(
        { loadBalancingConfig: [{ ring_hash_experimental: {} }] },
        'serviceConfig.loadBalancingConfig[0].ring_hash_experimental',
      ).message,
    ).toMatch(/weft balances itself/);
    refused({ loadBalancingPolicy: 'grpclb' }, 'serviceConfig.loadBalancingPolicy');
  });

  it('names: a method needs its service, and no name twice', () => {
    refused({ methodConfig: [{ name: [{ method: 'Unary' }] }] }, `${at}.name[0].method`);
    refused({ methodConfig: [{ name: [{ service: 'bad service' }] }] }, `${at}.name[0].service`);
    refused({ methodConfig: [{ timeout: '1s' }] }, `${at}.name`);
    const twice = refused(
      { methodConfig: [{ name: [{}, UNARY] }, { name: [{ service: 'weft.test.Echo', method: 'Unary' }] }] },
      'serviceConfig.methodConfig[1].name[0]',
    );
    expect(twice.message).toContain(`${at}.name[1]`);
  });

  it('unknown keys with the closest known one, JSON that does not parse, a list of choices', () => {
    expect(refused({ methodConfigs: [] }, 'serviceConfig.methodConfigs').message).toContain(
      'did you mean `serviceConfig.methodConfig`',
    );
    refused('{"methodConfig": [', 'serviceConfig');
    refused([{ serviceConfig: {} }], 'serviceConfig');
    refused({ methodConfig: [{ name: [UNARY], retryPolicy: 'yes' }] }, `${at}.retryPolicy`);
  });

  it("policies whose backoffs differ, unless the user's retry option chooses", () => {
    const config = {
      methodConfig: [
        { name: [UNARY], retryPolicy: retryPolicy() },
        { name: [{ service: 'weft.test.Other' }], retryPolicy: retryPolicy({ initialBackoff: '0.2s' }) },
      ],
    };
    expect(refused(config, 'serviceConfig.methodConfig[1].retryPolicy').message).toMatch(
      /retry.backoffInitialMs/,
    );
    const chosen = applyServiceConfig({
      serviceConfig: config,
      retry: { backoffInitialMs: 5, backoffMaxMs: 50 },
    });
    expect(chosen.retry).toEqual({ backoffInitialMs: 5, backoffMaxMs: 50 });
    const delays = {
      methodConfig: [
        { name: [UNARY], hedgingPolicy: { maxAttempts: 2, hedgingDelay: '0.01s' } },
        { name: [{ service: 'weft.test.Other' }], hedgingPolicy: { maxAttempts: 2, hedgingDelay: '0.02s' } },
      ],
    };
    refused(delays, 'serviceConfig.methodConfig[1].hedgingPolicy.hedgingDelay');
    expect(applyServiceConfig({ serviceConfig: delays, hedge: { minDelayMs: 15 } }).hedge).toEqual({
      minDelayMs: 15,
    });
  });

  it('the client constructor throws them, and checks the rest of the options as before', () => {
    expectConfigError(
      () =>
        createGrpcChannel({
          endpoints: ['127.0.0.1:1'],
          serviceConfig: { methodConfig: [{ name: [UNARY], timeout: 'soon' as never }] },
        }),
      `${at}.timeout`,
    );
    expectConfigError(
      () =>
        createGrpcChannel({
          endpoints: ['127.0.0.1:1'],
          serviceConfig: { methodConfig: [] },
          methods: { 'weft.test.Echo/Unary': { maxAttempts: 9 } },
        }),
      'methods["weft.test.Echo/Unary"].maxAttempts',
    );
  });
});

describe("the user's own options win", () => {
  const serviceConfig: GrpcServiceConfig = {
    methodConfig: [
      { name: [UNARY], timeout: '1s', retryPolicy: retryPolicy() },
      { name: [{ service: 'weft.test.Echo', method: 'IdempotentUnary' }], hedgingPolicy: { maxAttempts: 2 } },
      { name: [{}], timeout: '9s' },
    ],
    retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
  };

  it('field by field, in methods, retry and hedge', () => {
    const o = applyServiceConfig({
      serviceConfig,
      methods: {
        '/weft.test.Echo/Unary': { maxAttempts: 2 },
        'weft.test.Echo': { idempotent: false },
        'weft.test.Other': { attemptTimeoutMs: 100 },
      },
      retry: { backoffMaxMs: 300, budget: { ttlMs: 20_000, percentCanRetry: 0.3 } },
      hedge: { maxExtraLoad: 0.05 },
    });
    expect(o.methods).toEqual({
      'weft.test.Echo/Unary': { timeoutMs: 1_000, maxAttempts: 2, retryableStatusCodes: [14] },
      // The user's service-wide entry wins over the config's entry for one of its methods.
      'weft.test.Echo/IdempotentUnary': { idempotent: false, maxAttempts: 2 },
      'weft.test.Echo': { timeoutMs: 9_000, idempotent: false },
      'weft.test.Other': { timeoutMs: 9_000, attemptTimeoutMs: 100 },
      '': { timeoutMs: 9_000 },
    });
    // The budget's reserve is maxTokens / 2 over the user's window.
    expect(o.retry).toEqual({
      backoffInitialMs: 100,
      backoffMaxMs: 300,
      budget: { ttlMs: 20_000, percentCanRetry: 0.3, minRetriesPerSecond: 0.25 },
    });
    expect(o.hedge).toEqual({ maxExtraLoad: 0.05 });
  });

  it('retry: false and hedge: false stay off; no service config leaves the options as they are', () => {
    const off = applyServiceConfig({ serviceConfig, retry: false, hedge: false });
    expect(off.retry).toBe(false);
    expect(off.hedge).toBe(false);
    const on = applyServiceConfig({ serviceConfig, retry: true, hedge: true });
    expect(on.retry).toMatchObject({ backoffInitialMs: 100 });
    expect(on.hedge).toEqual({});
    const plain = { methods: { 'a.B': {} }, retry: true };
    expect(applyServiceConfig(plain)).toBe(plain);
  });

  it('a call finds its method the way grpc-js finds its method config: own, service, then every method', () => {
    const settings = resolveGrpcSettings(
      checkGrpcClientOptions({
        endpoints: ['127.0.0.1:1'],
        serviceConfig: {
          methodConfig: [
            { name: [UNARY], retryPolicy: retryPolicy({ retryableStatusCodes: ['ABORTED'] }) },
            { name: [{ service: 'weft.test.Other' }], hedgingPolicy: { maxAttempts: 2 } },
            { name: [{}], timeout: '3s' },
          ],
        },
      } as GrpcClientOptions),
    );
    const unaryMethod = settings.methodAt('/weft.test.Echo/Unary');
    expect([...(unaryMethod.retryableCodes ?? [])]).toEqual([grpc.status.ABORTED]);
    expect(unaryMethod.call?.maxAttempts).toBe(4);
    // Its own config names no timeout, so the empty name's does not apply (as in grpc-js).
    expect(unaryMethod.call?.timeoutMs).toBeUndefined();
    expect(settings.methodAt('/weft.test.Other/Any').method.idempotent).toBe(true);
    const other = settings.methodAt('/weft.test.Echo/ClientStream');
    expect(other.call?.timeoutMs).toBe(3_000);
    expect(other.retryableCodes).toBeUndefined();
  });
});

describe('end to end, against grpc-js servers', () => {
  const backends = new GrpcBackends();
  const clients: grpc.Client[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await backends.closeAll();
  });

  it("a retryPolicy's retryableStatusCodes make a non-idempotent unary succeed on a second endpoint", async () => {
    const failing = await backends.start('failing', { unary: failWith(grpc.status.UNAVAILABLE) });
    const live = await backends.start('live');
    const make = (options: Partial<GrpcClientOptions>) => {
      const c = createGrpcClient(EchoClient, {
        endpoints: [failing.address, live.address],
        balancer: roundRobin(),
        ...options,
      }) as grpc.Client;
      clients.push(c);
      return c;
    };

    // Without the config: a non-idempotent call that reached a server is not sent again.
    const error = (await unary(make({}), 'unary', { message: 'order-1' }).catch(
      (e: unknown) => e,
    )) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(failing.seen).toHaveLength(1);
    expect(live.seen).toHaveLength(0);

    const withConfig = make({
      serviceConfig: JSON.stringify({
        methodConfig: [
          {
            name: [{ service: 'weft.test.Echo', method: 'Unary' }],
            retryPolicy: {
              maxAttempts: 2,
              initialBackoff: '0.001s',
              maxBackoff: '0.002s',
              backoffMultiplier: 2,
              retryableStatusCodes: ['UNAVAILABLE'],
            },
          },
        ],
      }),
    });
    const reply = await unary(withConfig, 'unary', { message: 'order-2' });
    expect(reply).toEqual({ message: 'order-2', server: 'live' });
    expect(failing.seen).toHaveLength(2);
    expect(live.seen).toHaveLength(1);
    expect(live.seen[0]!.metadata.get('grpc-previous-rpc-attempts')).toEqual(['1']);
  });
});
