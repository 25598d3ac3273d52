/**
 * Host name checks shared by the resolvers: a DNS name is dot-separated labels of 1–63 letters,
 * digits, `-` or `_` (not starting or ending with `-`), at most 253 characters, one trailing dot
 * allowed (RFC 1123 §2.1, RFC 1035 §2.3.4; `_` accepted because service names such as Docker
 * Compose's use it). A last label of digits only is refused, so `256.1.1.1` is not a name.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../core/errors.js';

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const DIGITS = /^[0-9]+$/;

/** Whether `name` is a syntactically valid DNS host name (not an IP literal). */
export function isValidHostname(name: string): boolean {
  if (typeof name !== 'string') return false;
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length === 0 || bare.length > 253) return false;
  const labels = bare.split('.');
  if (!labels.every((label) => LABEL.test(label))) return false;
  return !DIGITS.test(labels[labels.length - 1] ?? '');
}

/**
 * Return `value` if it is a valid DNS host name; otherwise throw a ConfigError naming `option`.
 * IP literals are refused: they need no resolution (use a static resolver).
 */
export function validateHostname(option: string, value: unknown): string {
  if (typeof value === 'string' && isIP(value) !== 0) {
    throw new ConfigError(
      option,
      value,
      'expected a DNS name, not an IP address (use staticResolver for addresses)',
    );
  }
  if (typeof value !== 'string' || !isValidHostname(value)) {
    throw new ConfigError(
      option,
      value,
      'expected a DNS host name: dot-separated labels of 1-63 letters, digits, "-" or "_", 253 characters at most',
    );
  }
  return value;
}

/** Whether `host` is an IPv4 literal, an IPv6 literal (brackets optional) or a valid host name. */
export function isValidHost(host: string): boolean {
  if (typeof host !== 'string') return false;
  if (host.startsWith('[') && host.endsWith(']')) return isIP(host.slice(1, -1)) === 6;
  return isIP(host) !== 0 || isValidHostname(host);
}
