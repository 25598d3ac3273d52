/**
 * The public API as the TypeScript compiler sees it, entry by entry (package.json `exports`):
 * - every name an entry exports has a documentation comment (`/** … *\/`) on its declaration,
 *   followed through re-exports to where it is declared; a file's opening comment describes the
 *   file, so it does not count for the declaration that happens to follow it;
 * - the root entry (`weft`) exports exactly the names in ROOT_EXPORTS: adding to the root is a
 *   deliberate change, made here too (what builds custom stacks goes to `weft/policies`);
 * - the built declarations (dist/*.d.ts) and the built modules agree: every name the types offer
 *   as a value exists at run time, in ESM and in CommonJS, and nothing else does (a class named
 *   only as a type in src/ must not come out of the declaration bundle as something to `new`).
 * The last part reads dist/, which `npm test`'s pretest keeps current (`npm run build` otherwise).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<
    string,
    string | { import: { types: string; default: string }; require: { default: string } }
  >;
};

interface Entry {
  /** The subpath in package.json `exports`: `.`, `./policies`, … */
  readonly subpath: string;
  /** Its source, e.g. src/index.ts. */
  readonly source: string;
  readonly esm: string;
  readonly cjs: string;
  readonly types: string;
}

/** Every entry of package.json `exports` (not `./package.json`), with its source and built files. */
const ENTRIES: Entry[] = Object.entries(packageJson.exports).flatMap(([subpath, target]) => {
  if (typeof target === 'string') return [];
  const name = /^\.\/dist\/([\w-]+)\.js$/.exec(target.import.default)?.[1];
  if (name === undefined) throw new Error(`${subpath}: unexpected import target ${target.import.default}`);
  return [
    {
      subpath,
      source: join(root, 'src', `${name}.ts`),
      esm: join(root, target.import.default),
      cjs: join(root, target.require.default),
      types: join(root, target.import.types),
    },
  ];
});

/** What `import … from 'weft'` offers, sorted (code point order, as `Array.prototype.sort`). */
const ROOT_EXPORTS = [
  'AccrualState',
  'AdaptiveThrottleStats',
  'AdminHandler',
  'AdminHandlerOptions',
  'AdminServer',
  'AdminServerOptions',
  'AmbientContext',
  'AttemptRecord',
  'AttemptTimeoutError',
  'BalancerStrategy',
  'CallErrorDetails',
  'CircuitBreakerHandle',
  'CircuitOpenError',
  'CircuitState',
  'CircuitStateChange',
  'ClientClosedError',
  'ClientView',
  'Clock',
  'ConfigError',
  'DEADLINE_HEADER',
  'DeadlineExceededError',
  'DispatcherFactory',
  'DnsLookupError',
  'DnsResolverOptions',
  'Endpoint',
  'EndpointSetSnapshot',
  'EndpointSetState',
  'EndpointStats',
  'HTTP_CLIENT_DEFAULTS',
  'HedgeLostError',
  'HedgeStats',
  'HttpCallOptions',
  'HttpClassifier',
  'HttpClient',
  'HttpClientOptions',
  'HttpRequest',
  'HttpRequestOptions',
  'HttpResponse',
  'IGNORABLE',
  'IncomingDeadlineOptions',
  'NextCalledTwiceError',
  'NoEndpointsError',
  'Outcome',
  'OverloadedError',
  'P2cLeastLoadedOptions',
  'P2cPeakEwmaOptions',
  'RequestFailedError',
  'Resolver',
  'ResponseClass',
  'RetryBudget',
  'RetryBudgetExhaustedError',
  'RetryOptions',
  'RoutingAgent',
  'RoutingAgentOptions',
  'SUCCESS',
  'StaticResolver',
  'StaticResolverOptions',
  'StaticTarget',
  'TlsOptions',
  'UnknownRoleError',
  'UnsupportedNodeError',
  'WeftError',
  'WeftErrorCode',
  'createAdminHandler',
  'createEndpoint',
  'createHttpClient',
  'createRoutingAgent',
  'currentAmbientContext',
  'defaultHttpClassifier',
  'dnsResolver',
  'failure',
  'getGlobalDispatcher',
  'leastLoaded',
  'p2cLeastLoaded',
  'p2cPeakEwma',
  'retryable',
  'roundRobin',
  'runWithAmbientContext',
  'runWithIncomingDeadline',
  'setGlobalDispatcher',
  'startAdminServer',
  'staticResolver',
];

/** A program over `files` with the project's compiler options (tsconfig.json). */
function program(files: readonly string[]): ts.Program {
  const configFile = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
  return ts.createProgram(files, options);
}

/** The names `file` exports, each with the symbol it resolves to through any re-exports. */
function exportsOf(p: ts.Program, file: string): Array<{ name: string; symbol: ts.Symbol }> {
  const checker = p.getTypeChecker();
  const sourceFile = p.getSourceFile(file);
  if (sourceFile === undefined) throw new Error(`not in the program: ${file}`);
  const module = checker.getSymbolAtLocation(sourceFile);
  if (module === undefined) throw new Error(`not a module: ${file}`);
  return checker.getExportsOfModule(module).map((symbol) => ({
    name: symbol.name,
    symbol: symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol,
  }));
}

/** Does one of the symbol's declarations carry a documentation comment with text (not only tags)? */
function isDocumented(symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some((declaration) => {
    const file = declaration.getSourceFile();
    // The file's opening comment is the file's description, not the first declaration's.
    const fileComment = file.getFullText().search(/\S/);
    return ts
      .getJSDocCommentsAndTags(declaration)
      .some(
        (doc) =>
          ts.isJSDoc(doc) &&
          doc.getStart(file) !== fileComment &&
          (ts.getTextOfJSDocComment(doc.comment) ?? '').trim() !== '',
      );
  });
}

describe('the public API in src/', () => {
  const p = program(ENTRIES.map((entry) => entry.source));

  it('lists the entries of package.json exports', () => {
    expect(ENTRIES.map((entry) => entry.subpath)).toEqual([
      '.',
      './policies',
      './admin',
      './testing',
      './prometheus',
      './opentelemetry',
      './grpc',
      './express',
      './fastify',
      './discovery',
    ]);
  });

  it('documents every export of every entry', () => {
    const undocumented = ENTRIES.flatMap((entry) =>
      exportsOf(p, entry.source)
        .filter(({ symbol }) => !isDocumented(symbol))
        .map(({ name }) => `${entry.subpath} ${name}`),
    );
    expect(undocumented, 'exports without a /** … */ comment on their declaration').toEqual([]);
  });

  it('exports exactly the pinned names from the root entry', () => {
    const names = exportsOf(p, join(root, 'src/index.ts'))
      .map(({ name }) => name)
      .sort();
    expect(names).toEqual(ROOT_EXPORTS);
  });

  it('keeps ROOT_EXPORTS sorted', () => {
    expect(ROOT_EXPORTS).toEqual([...ROOT_EXPORTS].sort());
  });
});

describe('the built declarations and modules', () => {
  beforeAll(() => {
    const missing = ENTRIES.flatMap((entry) => [entry.esm, entry.cjs, entry.types]).filter(
      (f) => !existsSync(f),
    );
    if (missing.length > 0) {
      throw new Error(`not built: ${missing.join(', ')}; run \`npm run build\` (npm test's pretest does)`);
    }
  });

  it('offers as values exactly the names each entry exports at run time (ESM and CommonJS)', async () => {
    const p = program(ENTRIES.map((entry) => entry.types));
    const require = createRequire(import.meta.url);
    for (const entry of ENTRIES) {
      const values = exportsOf(p, entry.types)
        .filter(({ symbol }) => symbol.flags & ts.SymbolFlags.Value)
        .map(({ name }) => name)
        .sort();
      const esm = Object.keys(await import(pathToFileURL(entry.esm).href)).sort();
      const cjs = Object.keys(require(entry.cjs) as object)
        .filter((name) => name !== '__esModule')
        .sort();
      expect(esm, `${entry.subpath}: the ESM build against its .d.ts`).toEqual(values);
      expect(cjs, `${entry.subpath}: the CommonJS build against its .d.ts`).toEqual(values);
    }
  });
});
