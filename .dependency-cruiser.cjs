// @ts-check
/**
 * Which way weft's dependencies point, as rules that `npm run lint:deps` checks
 * (`depcruise src --config .dependency-cruiser.cjs`). The rules are the architecture of DESIGN.md:
 * "core imports nothing; discovery, balance and policies import only core; client imports those;
 * http, grpc, server and telemetry sit on top". CONTRIBUTING.md ("Which way dependencies point")
 * explains them for contributors.
 *
 * Type-only imports count (`tsPreCompilationDeps` below). `import type` vanishes from the build,
 * but it still makes one part of the design depend on another: a policy that names the type of
 * an assembly-layer piece cannot be read, reused or moved without it.
 *
 * A rule is not relaxed to let a new import through. Move the shared piece down instead (to
 * core/, or to the lowest layer that uses it), or change the rule here with its reason.
 */

/** The shared vocabulary: Service, Filter, Stack, CallContext, Clock, errors, option checks. */
const CORE = '^src/core/';
/** The three axes of a call, each on core alone: where endpoints come from, which one, what happens to a call. */
const AXES = '^src/(discovery|balance|policies)/';
/** The protocol-agnostic client every protocol shares. */
const CLIENT = '^src/client/';
/** Adapters to one thing outside weft each: a protocol, a server framework, a telemetry backend. */
const TOP = '^src/(http|grpc|server|telemetry)/';
/** The package's entries (package.json `exports`) and the load-time Node check they all import first. */
const ENTRIES =
  '^src/(index|policies|admin|testing|prometheus|opentelemetry|grpc|express|fastify|discovery|node-check)\\.ts$';
/** Ambient declarations for modules that ship no types (src/types/undici-readable.d.ts). */
const TYPE_SHIMS = '^src/types/';
/**
 * Files of the named packages. Matched anywhere in the path: where node_modules is a link (a git
 * worktree's link to the main checkout's), the resolved path lies outside the project.
 */
const packages = (names) => `(^|/)node_modules/(${names})/`;
/** Runtime dependencies with nothing protocol- or backend-specific in them. */
const NEUTRAL_PACKAGES = packages('cockatiel|lru-cache');

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment:
        'A cycle makes two modules one: neither can be read, tested or moved alone, and the order ' +
        'in which they load decides what each sees. Type-only cycles count too: they tie the ' +
        'design together just the same.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-imports-only-core',
      severity: 'error',
      comment:
        'core is the vocabulary every layer shares (Service, Filter, Stack, CallContext, Clock, ' +
        'errors). If it imported a policy, a protocol or a package, every layer would depend on ' +
        'that too. Node built-ins are allowed (AsyncLocalStorage for the ambient context), and so ' +
        'is package.json: core/node-version.ts reads the Node floor from `engines`, so the floor ' +
        'is written in one place.',
      from: { path: CORE },
      to: {
        pathNot: [CORE, '^package\\.json$'],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'discovery-balance-policies-import-only-core',
      severity: 'error',
      comment:
        'Discovery (where endpoints come from), balance (which endpoint) and policies (what ' +
        'happens to a call) are three independent axes, as in Finagle and tower: each is written, ' +
        'tested and replaced with core alone, so a change in one never reaches the others. What ' +
        'two of them share belongs in core (a listener set, the endpoint layer type, the endpoint ' +
        'type). Of the runtime dependencies only the protocol-neutral ones are allowed here: ' +
        'cockatiel (backoff and breaker primitives) and lru-cache (bounded per-key state); ' +
        'undici, prom-client and @opentelemetry/api belong to the adapters on top.',
      from: { path: AXES },
      to: {
        pathNot: ['^src/$1/', CORE, NEUTRAL_PACKAGES],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'client-imports-only-the-layers-below',
      severity: 'error',
      comment:
        'The client assembles what every protocol shares: the call stack, the balancer, the ' +
        'endpoint stack, discovery and the telemetry hooks. A protocol passes its transport and ' +
        'its ProtocolAdapter in, and telemetry backends plug in through the hooks, so the client ' +
        'imports no protocol and no backend: gRPC gets the same stack as HTTP without a copy.',
      from: { path: CLIENT },
      to: {
        pathNot: [CLIENT, CORE, AXES, NEUTRAL_PACKAGES],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'adapters-do-not-import-each-other',
      severity: 'error',
      comment:
        'http, grpc, server and telemetry sit on top and may import anything below them, but not ' +
        'one another. Each adapts weft to one outside thing (a protocol, a server framework, a ' +
        'metrics or tracing backend); a piece two of them need is not specific to either and ' +
        'belongs below. In particular telemetry reads clients through a protocol-neutral view, ' +
        'not through http types, so metrics, traces and the admin page serve gRPC clients as ' +
        'well. The entries (src/index.ts, …) put the adapters together.',
      from: { path: TOP },
      to: { path: TOP, pathNot: '^src/$1/' },
    },
    {
      name: 'only-entries-import-entries',
      severity: 'error',
      comment:
        'The entries (src/index.ts, src/policies.ts, src/admin.ts, src/testing.ts, ' +
        'src/prometheus.ts, src/opentelemetry.ts, src/grpc.ts, src/express.ts, src/fastify.ts, src/discovery.ts and ' +
        'the src/node-check.ts they load first) are ' +
        'the top of the graph: they may import anything, and nothing but another entry imports ' +
        'them. A layer that imported an entry would depend on every layer the entry gathers.',
      from: { pathNot: ENTRIES },
      to: { path: ENTRIES },
    },
    {
      name: 'undici-only-in-http',
      severity: 'error',
      comment:
        'undici is the HTTP transport. Below http/ the code is protocol-agnostic, and grpc/, ' +
        'server/ and telemetry/ have no business with it. The type shim for its unexported ' +
        'readable module (src/types/) and the entries that re-export http/ may name it too.',
      from: { pathNot: ['^src/http/', TYPE_SHIMS, ENTRIES] },
      to: { path: packages('undici') },
    },
    {
      name: 'optional-peers-only-in-telemetry',
      severity: 'error',
      comment:
        'prom-client and @opentelemetry/api are optional peer dependencies: a user who installs ' +
        'neither must be able to load weft. Only telemetry/ imports them, and only the ' +
        'weft/prometheus and weft/opentelemetry entries load those files.',
      from: { pathNot: '^src/telemetry/' },
      to: { path: packages('prom-client|@opentelemetry/api') },
    },
    {
      name: 'grpc-js-only-in-grpc',
      severity: 'error',
      comment:
        '@grpc/grpc-js is an optional peer dependency: a user who only calls HTTP must be able ' +
        'to load weft without it. Only grpc/ (the client) and the gRPC files of server/ import ' +
        'it, and only the weft/grpc entry loads them.',
      from: { pathNot: ['^src/grpc/', '^src/server/grpc-', '^src/grpc\\.ts$'] },
      to: { path: packages('@grpc/grpc-js') },
    },
    {
      name: 'grpc-js-not-reachable-from-the-other-entries',
      severity: 'error',
      comment:
        'Every entry but weft/grpc must load without @grpc/grpc-js, types included (a .d.ts ' +
        "naming grpc-js's types would fail for a TypeScript user without it).",
      from: { path: ENTRIES, pathNot: '^src/grpc\\.ts$' },
      to: { path: packages('@grpc/grpc-js'), reachable: true },
    },
    {
      name: 'express-only-in-server-express',
      severity: 'error',
      comment:
        'express is an optional peer dependency: a user who does not serve with Express must be ' +
        'able to load weft without it. Only the Express files of server/ import it (they need ' +
        "none of its code today: they are typed with node:http's types, which Express's extend), " +
        'and only the weft/express entry loads them.',
      from: { pathNot: ['^src/server/express', '^src/express\\.ts$'] },
      to: { path: packages('express|@types/express|express-serve-static-core') },
    },
    {
      name: 'fastify-only-in-server-fastify',
      severity: 'error',
      comment:
        'fastify is an optional peer dependency, and fastify-plugin is for the Fastify plugin ' +
        'alone: only the Fastify files of server/ import them, and only the weft/fastify entry ' +
        'loads those files.',
      from: { pathNot: ['^src/server/fastify', '^src/fastify\\.ts$'] },
      to: { path: packages('fastify|fastify-plugin') },
    },
    {
      name: 'server-frameworks-not-reachable-from-the-other-entries',
      severity: 'error',
      comment:
        'Every entry but weft/express loads without express, and every entry but weft/fastify ' +
        "without fastify and fastify-plugin, types included (a .d.ts naming a framework's types " +
        'would fail for a TypeScript user without it).',
      from: { path: ENTRIES, pathNot: '^src/(express|fastify)\\.ts$' },
      to: { path: packages('express|fastify|fastify-plugin'), reachable: true },
    },
    {
      name: 'optional-peers-not-reachable-from-the-root-entries',
      severity: 'error',
      comment:
        "`import 'weft'`, `weft/policies`, `weft/admin` and `weft/testing` must load without the " +
        'optional peers, so nothing these entries reach may import prom-client or ' +
        "@opentelemetry/api. A type-only path counts as well: the entry's .d.ts would name the " +
        "peer's types, and a TypeScript user without the peer would get errors.",
      from: { path: '^src/(index|policies|admin|testing)\\.ts$' },
      to: { path: packages('prom-client|@opentelemetry/api'), reachable: true },
    },
    {
      name: 'every-folder-has-a-layer',
      severity: 'error',
      comment:
        'Every folder of src/ has a place in the layers above. A new one (routing/ is planned) ' +
        'gets its rule here before its first import, so nothing joins the tree unplaced.',
      from: {
        path: '^src/',
        pathNot: [CORE, AXES, CLIENT, TOP, ENTRIES, TYPE_SHIMS],
      },
      to: {},
    },
  ],
  options: {
    // Check src/ only; packages are matched by path, never followed into.
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies of the design too (see the top of this file).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
