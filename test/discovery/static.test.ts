/**
 * staticResolver: every target form (host:port, [v6]:port, http/https URLs with default ports,
 * { host, port, weight } and { address, weight }), errors that name endpoints[i] and the value,
 * synchronous delivery on subscribe, update() at runtime and close().
 */
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import type { EndpointSetState } from '../../src/discovery/resolver.js';
import { type StaticTarget, staticResolver } from '../../src/discovery/static.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('staticResolver parsing', () => {
  it('accepts every target form', () => {
    const resolver = staticResolver([
      '127.0.0.1:8080',
      'api.internal:9000',
      '[::1]:8443',
      'http://127.0.0.2:8081',
      'http://127.0.0.3',
      'https://api.example.com',
      'https://[2001:db8::1]:9443/',
      { host: '10.0.0.1', port: 80 },
      { host: '::2', port: 81, weight: 2 },
      { address: 'db.internal:5432', weight: 0.5 },
    ]);
    expect(resolver.endpoints.map((e) => [e.address, e.host, e.port, e.weight])).toEqual([
      ['127.0.0.1:8080', '127.0.0.1', 8080, 1],
      ['api.internal:9000', 'api.internal', 9000, 1],
      ['[::1]:8443', '::1', 8443, 1],
      ['127.0.0.2:8081', '127.0.0.2', 8081, 1],
      ['127.0.0.3:80', '127.0.0.3', 80, 1],
      ['api.example.com:443', 'api.example.com', 443, 1],
      ['[2001:db8::1]:9443', '2001:db8::1', 9443, 1],
      ['10.0.0.1:80', '10.0.0.1', 80, 1],
      ['[::2]:81', '::2', 81, 2],
      ['db.internal:5432', 'db.internal', 5432, 0.5],
    ]);
    expect(resolver.description).toBe('static');
  });

  it('keeps duplicates for the endpoint set to remove, and accepts an empty list', () => {
    expect(staticResolver(['a.test:1', 'a.test:1']).endpoints).toHaveLength(2);
    expect(staticResolver([]).endpoints).toEqual([]);
  });

  it.each<[unknown, string, string]>([
    ['127.0.0.1', 'endpoints[0]', 'missing port'],
    ['127.0.0.1:0', 'endpoints[0]', 'port from 1 to 65535'],
    ['127.0.0.1:65536', 'endpoints[0]', 'port from 1 to 65535'],
    ['127.0.0.1:80x', 'endpoints[0]', 'port from 1 to 65535'],
    ['::1:8080', 'endpoints[0]', 'needs brackets'],
    ['[not-v6]:80', 'endpoints[0]', 'valid IPv6'],
    ['bad_host!:80', 'endpoints[0]', 'host name'],
    [':80', 'endpoints[0]', 'host name'],
    ['ftp://files.test', 'endpoints[0]', 'http: or https:'],
    ['http://a.test/base', 'endpoints[0]', 'no path'],
    ['http://user:pw@a.test', 'endpoints[0]', 'credentials'],
    [42, 'endpoints[0]', 'expected "host:port"'],
    [null, 'endpoints[0]', 'expected "host:port"'],
    [{ hostname: 'a.test', port: 1 }, 'endpoints[0].hostname', 'did you mean `endpoints[0].host`?'],
    [{ host: 'a.test', port: 1, wieght: 2 }, 'endpoints[0].wieght', 'did you mean `endpoints[0].weight`?'],
    [{ host: 'a.test', port: 0 }, 'endpoints[0].port', 'port from 1 to 65535'],
    [{ host: 'a.test' }, 'endpoints[0].port', 'port from 1 to 65535'],
    [{ host: 'a b', port: 1 }, 'endpoints[0].host', 'host name'],
    [{ host: 'a.test', port: 1, weight: 0 }, 'endpoints[0].weight', '> 0'],
    [{ host: 'a.test', port: 1, weight: '2' }, 'endpoints[0].weight', '> 0'],
    [{ address: 'a.test:1', weight: -1 }, 'endpoints[0].weight', '> 0'],
    [{ address: 'a.test' }, 'endpoints[0].address', 'missing port'],
    [{ address: 'a.test:1', port: 2 }, 'endpoints[0]', 'not both'],
  ])('rejects %j naming %s', (target, option, expectation) => {
    const error = configError(() => staticResolver([target as StaticTarget]));
    expect(error.option).toBe(option);
    expect(error.message).toContain(expectation);
    expect(error.code).toBe('WEFT_CONFIG');
  });

  it('names the index of the bad entry and quotes the value', () => {
    const error = configError(() => staticResolver(['127.0.0.1:80', '127.0.0.1:80', 'nope']));
    expect(error.option).toBe('endpoints[2]');
    expect(error.value).toBe('nope');
    expect(error.message).toContain('"nope"');
  });

  it('rejects a non-array target list and a bad description', () => {
    expect(configError(() => staticResolver('a.test:1' as never)).option).toBe('endpoints');
    expect(configError(() => staticResolver([], { description: '' })).option).toBe('static.description');
    expect(staticResolver([], { description: 'seed-list' }).description).toBe('seed-list');
  });
});

describe('staticResolver publishing', () => {
  it('delivers one bound state synchronously on subscribe', () => {
    const resolver = staticResolver(['127.0.0.1:1', '127.0.0.1:2']);
    const states: EndpointSetState[] = [];
    resolver.subscribe((state) => states.push(state));
    expect(states).toHaveLength(1);
    expect(states[0]).toEqual({ kind: 'bound', endpoints: resolver.endpoints });
  });

  it('update() validates, then publishes the new list to every subscriber', () => {
    const resolver = staticResolver(['127.0.0.1:1']);
    const first: string[][] = [];
    const second: string[][] = [];
    const record = (into: string[][]) => (state: EndpointSetState) => {
      into.push(state.kind === 'bound' ? state.endpoints.map((e) => e.address) : [state.kind]);
    };
    resolver.subscribe(record(first));
    const off = resolver.subscribe(record(second));
    resolver.update(['127.0.0.1:2', { host: '127.0.0.1', port: 3, weight: 4 }]);
    off();
    expect(configError(() => resolver.update(['127.0.0.1:2', 'bad'])).option).toBe('endpoints[1]');
    resolver.update([]);
    expect(first).toEqual([['127.0.0.1:1'], ['127.0.0.1:2', '127.0.0.1:3'], []]);
    expect(second).toEqual([['127.0.0.1:1'], ['127.0.0.1:2', '127.0.0.1:3']]);
    expect(resolver.endpoints).toEqual([]);
  });

  it('isolates a throwing subscriber', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const resolver = staticResolver(['127.0.0.1:1']);
      const seen: number[] = [];
      expect(() =>
        resolver.subscribe(() => {
          throw new Error('boom');
        }),
      ).not.toThrow();
      resolver.subscribe((state) => seen.push(state.kind === 'bound' ? state.endpoints.length : -1));
      expect(() => resolver.update(['127.0.0.1:1', '127.0.0.1:2'])).not.toThrow();
      expect(seen).toEqual([1, 2]);
      expect(warn).toHaveBeenCalledTimes(2);
    } finally {
      warn.mockRestore();
    }
  });

  it('close() stops delivery and is idempotent', () => {
    const resolver = staticResolver(['127.0.0.1:1']);
    const states: EndpointSetState[] = [];
    resolver.subscribe((state) => states.push(state));
    resolver.close();
    resolver.close();
    resolver.update(['127.0.0.1:2']);
    resolver.subscribe((state) => states.push(state));
    expect(states).toHaveLength(1);
  });
});
