/**
 * The Node.js floor check on version strings: the floor is package.json engines.node, a version
 * below it gets UnsupportedNodeError naming both versions, and nothing at or above it does. The
 * built package on a real old Node is test/node-check.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UnsupportedNodeError, WeftError } from '../../src/core/errors.js';
import {
  assertSupportedNode,
  leastNodeVersion,
  parseNodeVersion,
  SUPPORTED_NODE,
  unsupportedNode,
} from '../../src/core/node-version.js';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  engines: { node: string };
};

describe('Node.js floor', () => {
  it('is package.json engines.node', () => {
    expect(SUPPORTED_NODE).toBe(packageJson.engines.node);
    expect(SUPPORTED_NODE).toBe('>=22.19.0');
    expect(leastNodeVersion(SUPPORTED_NODE)).toEqual([22, 19, 0]);
  });

  it.each([['20.20.2'], ['18.0.0'], ['22.18.99'], ['22.0.0'], ['v21.7.3']])(
    'rejects %s, naming what is needed and what runs',
    (running) => {
      const error = unsupportedNode(running, '>=22.19.0', '/usr/bin/node');
      expect(error).toBeInstanceOf(UnsupportedNodeError);
      expect(error).toBeInstanceOf(WeftError);
      expect(error?.code).toBe('WEFT_UNSUPPORTED_NODE');
      expect(error?.required).toBe('>=22.19.0');
      expect(error?.running).toBe(running);
      expect(error?.message).toBe(
        `weft needs Node.js >=22.19.0, but runs on Node.js ${running} (/usr/bin/node). undici 8, the HTTP client weft is built on, does not load on older versions: upgrade Node.js.`,
      );
    },
  );

  it.each([['22.19.0'], ['22.19.1'], ['22.20.0'], ['23.0.0'], ['24.21.0'], ['v100.0.0'], ['25.0.0-pre']])(
    'accepts %s',
    (running) => {
      expect(unsupportedNode(running, '>=22.19.0')).toBeUndefined();
    },
  );

  it('passes the Node.js running this test', () => {
    expect(() => assertSupportedNode()).not.toThrow();
  });

  it('parses versions with or without the v, and nothing else', () => {
    expect(parseNodeVersion('v20.20.2')).toEqual([20, 20, 2]);
    expect(parseNodeVersion('23.0.0-nightly2024')).toEqual([23, 0, 0]);
    expect(parseNodeVersion('twenty')).toBeUndefined();
  });

  it('refuses an engines range it does not understand, naming it', () => {
    expect(() => leastNodeVersion('^22.19.0 || >=24')).toThrow(/engines\.node is "\^22\.19\.0 \|\| >=24"/);
  });
});
