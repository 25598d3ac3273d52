/**
 * The HTTP request as it travels down a weft stack: method, path, headers and body, in a
 * weft-owned object created per call, so that filters may write headers (deadline, attempt) on it
 * without touching the caller's objects. The response is undici's `ResponseData`.
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ConfigError } from '../../core/errors.js';

/** A request body weft can send. Strings and byte arrays can be replayed; streams cannot. */
export type HttpBody = string | Uint8Array | Readable | AsyncIterable<Uint8Array> | FormData | Blob | null;

/** The headers of an {@link HttpRequest}: names are lower-case; repeated headers are arrays. */
export type HttpHeaders = Record<string, string | string[]>;

/**
 * The request as filters and classifiers see it: weft's own copy, made per call from what the
 * caller passed, so a filter may write headers on it without touching the caller's objects.
 */
export interface HttpRequest {
  method: string;
  /** Path and query, e.g. `/users?id=1`. */
  path: string;
  headers: HttpHeaders;
  body: HttpBody | undefined;
  /** undici's headers timeout for this request, in ms (undefined: the transport's). */
  headersTimeout?: number | undefined;
  /** undici's body timeout for this request, in ms (undefined: the transport's). */
  bodyTimeout?: number | undefined;
}

/** The response: undici's, with a streaming body. */
export type HttpResponse = Dispatcher.ResponseData<unknown>;

/** Header input accepted from callers: an object, `[name, value]` pairs, a flat raw array, or `Headers`. */
export type HeadersInput =
  | Record<string, string | readonly string[] | number | undefined | null>
  | Iterable<readonly [string, string]>
  | readonly (string | Buffer)[]
  | null
  | undefined;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Copy caller headers into a fresh weft-owned object with lower-case names. */
export function copyHeaders(input: HeadersInput, option = 'headers'): HttpHeaders {
  const out: HttpHeaders = {};
  if (input == null) return out;
  if (Array.isArray(input)) {
    if (input.length > 0 && !Array.isArray(input[0])) {
      // Flat raw form: [name, value, name, value, ...]
      for (let i = 0; i + 1 < input.length; i += 2) {
        addHeader(out, String(input[i]), String(input[i + 1]), option);
      }
      return out;
    }
  }
  if (typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of input as Iterable<readonly [string, string]>) {
      if (!Array.isArray(pair) || pair.length !== 2)
        throw new ConfigError(option, pair, 'expected [name, value] pairs');
      addHeader(out, pair[0], pair[1], option);
    }
    return out;
  }
  const record = input as Record<string, string | readonly string[] | number | undefined | null>;
  for (const name in record) {
    const value = record[name];
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      for (const v of value) addHeader(out, name, v, option);
    } else {
      addHeader(out, name, typeof value === 'number' ? String(value) : (value as string), option);
    }
  }
  return out;
}

function addHeader(out: HttpHeaders, name: string, value: unknown, option: string): void {
  if (typeof name !== 'string' || !TOKEN.test(name))
    throw new ConfigError(option, name, 'invalid header name');
  if (typeof value !== 'string')
    throw new ConfigError(`${option}.${name}`, value, 'expected a string header value');
  if (value.includes('\r') || value.includes('\n') || value.includes('\0')) {
    throw new ConfigError(`${option}.${name}`, value, 'header values must not contain CR, LF or NUL');
  }
  const key = name.toLowerCase();
  const existing = out[key];
  if (existing === undefined) out[key] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else out[key] = [existing, value];
}
