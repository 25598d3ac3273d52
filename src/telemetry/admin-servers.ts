/**
 * The server half on the admin page: what it shows of each server (in flight, the concurrency
 * limit and its algorithm, draining, requests rejected by reason), what it accepts as a server,
 * and `adminServerTelemetry()`, the server telemetry plugin that counts the rejections for it.
 * An ObservedServer carries gauges only; its rejections are heard through the ServerObserver
 * hooks, so a server shows them once this plugin is attached to it (else `rejected` is null).
 * The counts live in a table keyed by the server object, on `globalThis` under a global symbol,
 * so that the plugin and the page from two copies of weft in one process see the same counts.
 */
import { ConfigError } from '../core/errors.js';
import {
  type ObservedServer,
  REJECTION_REASONS,
  type RejectionReason,
  type ServerObserver,
  type ServerTelemetryPlugin,
} from './server-view.js';

/** One server in the admin JSON (`servers`). */
export interface AdminObservedServerState {
  readonly name: string;
  /** Requests in flight now. */
  readonly inflight: number;
  /** The concurrency limit now; null when the server has no limiter. */
  readonly limit: number | null;
  /** The limit's algorithm (e.g. `gradient2`, `fixed`); null when the server has no limiter. */
  readonly algorithm: string | null;
  /** True while the server drains: new requests are nacked while in-flight ones finish. */
  readonly draining: boolean;
  /** Requests answered without their handler, by reason; null unless `adminServerTelemetry()` is attached. */
  readonly rejected: AdminRejections | null;
}

/** Requests a server answered without running their handler, by reason, since it started. */
export type AdminRejections = Readonly<Record<RejectionReason, number>>;

/** The server telemetry plugin of the admin page; `servers()` lists the servers it is attached to. */
export interface AdminServerTelemetry extends ServerTelemetryPlugin {
  /** The servers this plugin was attached to and that have not closed, in attach order. */
  servers(): readonly ObservedServer[];
}

/** The rejections of one server, counted by the hooks. */
class RejectionCounts implements ServerObserver {
  readonly counts: Record<RejectionReason, number> = { overload: 0, draining: 0, expired: 0 };

  constructor(private readonly onClose: () => void) {}

  requestRejected(_route: string, reason: RejectionReason): void {
    if (REJECTION_REASONS.includes(reason)) this.counts[reason]++;
  }

  close(): void {
    this.onClose();
  }
}

const COUNTS = Symbol.for('weft.admin.serverRejections');

/** The process-wide table of counted servers, shared by every copy of weft. */
function countsTable(): WeakMap<ObservedServer, RejectionCounts> {
  const holder = globalThis as unknown as Record<
    symbol,
    WeakMap<ObservedServer, RejectionCounts> | undefined
  >;
  let table = holder[COUNTS];
  if (table === undefined) {
    table = new WeakMap();
    holder[COUNTS] = table;
  }
  return table;
}

/**
 * Count each server's rejections for the admin page. Give it to the server half's middleware
 * beside any other server telemetry; the page then shows, for each server in its `servers`,
 * the requests rejected by reason. Attached twice to one server (by two plugins), the server is
 * counted once.
 *
 * @example
 * ```ts
 * const adminTelemetry = adminServerTelemetry();
 * // ... the middleware's telemetry: [prometheusServerMetrics({ registry }), adminTelemetry]
 * await startAdminServer({ clients: [users], servers: () => adminTelemetry.servers() });
 * ```
 */
export function adminServerTelemetry(): AdminServerTelemetry {
  const attached = new Set<ObservedServer>();
  return {
    attach(server) {
      const table = countsTable();
      attached.add(server);
      // Already counted (another plugin): only follow its close.
      if (table.has(server)) return { close: () => attached.delete(server) };
      const counts = new RejectionCounts(() => attached.delete(server));
      table.set(server, counts);
      return counts;
    },
    servers: () => [...attached],
  };
}

/** What the admin page shows of `server` now. */
export function serverState(server: ObservedServer): AdminObservedServerState {
  const counts = countsTable().get(server)?.counts;
  return {
    name: server.name,
    inflight: server.inflight,
    limit: finiteOrNull(server.limit),
    algorithm: server.algorithm ?? null,
    draining: server.draining,
    rejected: counts === undefined ? null : { ...counts },
  };
}

function finiteOrNull(value: number | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Whether `value` has the shape of an {@link ObservedServer}. */
export function isObservedServer(value: unknown): value is ObservedServer {
  const s = value as Partial<ObservedServer> | null | undefined;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.name === 'string' &&
    typeof s.inflight === 'number' &&
    typeof s.draining === 'boolean'
  );
}

/** The `servers` option: undefined (none), an array of servers, or a function returning one. */
export function serversOption(value: unknown): () => readonly ObservedServer[] {
  if (value === undefined) return () => [];
  if (typeof value === 'function') return value as () => readonly ObservedServer[];
  if (!Array.isArray(value)) {
    throw new ConfigError('servers', value, 'expected an array of servers or a function returning one');
  }
  value.forEach((server, i) => {
    if (!isObservedServer(server)) {
      throw new ConfigError(
        `servers[${i}]`,
        server,
        'expected a server as telemetry sees it: { name, inflight, limit, algorithm, draining }',
      );
    }
  });
  const servers = [...value] as ObservedServer[];
  return () => servers;
}
