/**
 * A reader for the YAML that kubeconfig files are written in, and nothing more: block mappings,
 * block sequences (indented or at the parent key's level, as kubectl writes them), plain, single-
 * and double-quoted scalars, comments, and the empty flow collections `{}` and `[]`. weft ships
 * no YAML dependency (none is installed, and a general parser is the largest part of
 * @kubernetes/client-node's weight); a kubeconfig that needs more (anchors, block scalars, flow
 * collections with content, several documents) is refused with an error that says which line,
 * and can be converted to JSON, which is read as such (`kubectl config view --raw -o json`).
 */

/** What the reader returns: a tree of mappings, sequences, strings, booleans and null. */
export type YamlValue = string | boolean | null | YamlValue[] | { [key: string]: YamlValue };

/** A kubeconfig line the reader does not accept; `line` is 1-based. */
export class KubeconfigSyntaxError extends Error {
  readonly line: number;

  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'KubeconfigSyntaxError';
    this.line = line;
  }
}

interface Line {
  readonly number: number;
  indent: number;
  content: string;
}

/** Parse `text` (JSON, or the YAML subset described above) into a {@link YamlValue}. */
export function parseKubeconfigText(text: string): YamlValue {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) return JSON.parse(trimmed) as YamlValue;
  const lines = splitLines(text);
  if (lines.length === 0) return null;
  const reader = { lines, at: 0 };
  const first = lines[0]!;
  const value = parseBlock(reader, first.indent);
  const rest = reader.lines[reader.at];
  if (rest !== undefined) throw new KubeconfigSyntaxError(rest.number, 'unexpected indentation');
  return value;
}

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const number = i + 1;
    if (raw.includes('\t') && /^\s*\t/.test(raw)) {
      throw new KubeconfigSyntaxError(number, 'tabs are not allowed for indentation');
    }
    const content = stripComment(raw).trimEnd();
    const body = content.trimStart();
    if (body === '' || body === '---') return;
    if (body === '...' || body.startsWith('%')) return;
    if (/^[&*!|>]/.test(body) || /:\s+[&*!|>]/.test(body) || /^-\s+[&*!|>]/.test(body)) {
      throw new KubeconfigSyntaxError(
        number,
        'anchors, aliases, tags and block scalars are not supported; convert the kubeconfig to JSON',
      );
    }
    lines.push({ number, indent: content.length - body.length, content: body });
  });
  return lines;
}

/** Drop a `#` comment that is not inside quotes (YAML: `#` at line start or after a space). */
function stripComment(raw: string): string {
  let quote: string | undefined;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"') i++;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#' && (i === 0 || raw[i - 1] === ' ')) return raw.slice(0, i);
  }
  return raw;
}

interface Reader {
  readonly lines: Line[];
  at: number;
}

function isSequenceItem(content: string): boolean {
  return content === '-' || content.startsWith('- ');
}

function parseBlock(reader: Reader, indent: number): YamlValue {
  const line = reader.lines[reader.at];
  if (line === undefined) return null;
  return isSequenceItem(line.content) ? parseSequence(reader, indent) : parseMapping(reader, indent);
}

function parseSequence(reader: Reader, indent: number): YamlValue[] {
  const items: YamlValue[] = [];
  for (let line = reader.lines[reader.at]; line !== undefined; line = reader.lines[reader.at]) {
    if (line.indent < indent) break;
    if (line.indent > indent) throw new KubeconfigSyntaxError(line.number, 'unexpected indentation');
    if (!isSequenceItem(line.content)) break;
    const rest = line.content.slice(1).trimStart();
    if (rest === '') {
      reader.at++;
      const next = reader.lines[reader.at];
      items.push(next !== undefined && next.indent > indent ? parseBlock(reader, next.indent) : null);
      continue;
    }
    if (splitKey(rest, line.number) !== undefined) {
      // "- key: value" opens a mapping whose keys sit where `key` starts.
      line.indent = indent + (line.content.length - rest.length);
      line.content = rest;
      items.push(parseMapping(reader, line.indent));
      continue;
    }
    reader.at++;
    items.push(scalar(rest, line.number));
  }
  return items;
}

function parseMapping(reader: Reader, indent: number): { [key: string]: YamlValue } {
  const mapping: { [key: string]: YamlValue } = {};
  for (let line = reader.lines[reader.at]; line !== undefined; line = reader.lines[reader.at]) {
    if (line.indent < indent || isSequenceItem(line.content)) break;
    if (line.indent > indent) throw new KubeconfigSyntaxError(line.number, 'unexpected indentation');
    const pair = splitKey(line.content, line.number);
    if (pair === undefined) throw new KubeconfigSyntaxError(line.number, 'expected "key: value"');
    const [key, rest] = pair;
    reader.at++;
    if (Object.hasOwn(mapping, key)) throw new KubeconfigSyntaxError(line.number, `duplicate key "${key}"`);
    if (rest !== '') {
      mapping[key] = scalar(rest, line.number);
      continue;
    }
    const next = reader.lines[reader.at];
    if (next !== undefined && next.indent > indent) mapping[key] = parseBlock(reader, next.indent);
    else if (next !== undefined && next.indent === indent && isSequenceItem(next.content)) {
      mapping[key] = parseSequence(reader, indent);
    } else mapping[key] = null;
  }
  return mapping;
}

/** `key: rest` → [key, rest]; undefined when the text is not a mapping entry. */
function splitKey(content: string, lineNumber: number): [string, string] | undefined {
  if (content.startsWith('"') || content.startsWith("'")) {
    const end = closingQuote(content, lineNumber);
    const after = content.slice(end + 1);
    if (!after.startsWith(':')) return undefined;
    const key = scalar(content.slice(0, end + 1), lineNumber);
    return [String(key), after.slice(1).trim()];
  }
  const match = /^([^:]*?)\s*:(?:\s+(.*)|)$/.exec(content);
  if (match === null || match[1] === '' || match[1]!.startsWith('{') || match[1]!.startsWith('[')) {
    return undefined;
  }
  return [match[1]!, (match[2] ?? '').trim()];
}

function closingQuote(text: string, lineNumber: number): number {
  const quote = text[0];
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '\\' && quote === '"') i++;
    else if (text[i] === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  throw new KubeconfigSyntaxError(lineNumber, 'unterminated quoted string');
}

function scalar(text: string, lineNumber: number): YamlValue {
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = closingQuote(text, lineNumber);
    if (end !== text.length - 1) throw new KubeconfigSyntaxError(lineNumber, 'text after a quoted string');
    if (text[0] === "'") return text.slice(1, -1).replaceAll("''", "'");
    try {
      return JSON.parse(text) as string;
    } catch {
      throw new KubeconfigSyntaxError(lineNumber, 'a double-quoted string with an escape weft does not read');
    }
  }
  if (text === '{}') return {};
  if (text === '[]') return [];
  if (text.startsWith('{') || text.startsWith('[')) {
    throw new KubeconfigSyntaxError(
      lineNumber,
      'flow collections with content are not supported; use block style or convert the kubeconfig to JSON',
    );
  }
  if (text === 'null' || text === '~' || text === 'Null' || text === 'NULL') return null;
  if (text === 'true' || text === 'True' || text === 'TRUE') return true;
  if (text === 'false' || text === 'False' || text === 'FALSE') return false;
  return text;
}
