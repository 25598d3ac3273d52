/**
 * Which requests admission leaves alone: the `exclude` option's exact paths (and, in Fastify,
 * route templates) and RegExps. Health checks and metrics scrapes must be answered whatever the
 * load: a health check nacked under load would have the orchestrator restart a busy replica,
 * the commonest request in @fastify/under-pressure's issues (#211).
 */

/** A request's path: its URL up to the query string. */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** The compiled `exclude` option. */
export class Exclusion {
  readonly #exact: ReadonlySet<string>;
  readonly #patterns: readonly RegExp[];
  /** Nothing is excluded: the per-request check costs one branch. */
  readonly empty: boolean;

  constructor(entries: ReadonlyArray<string | RegExp>) {
    this.#exact = new Set(entries.filter((e): e is string => typeof e === 'string'));
    // A global or sticky RegExp keeps `lastIndex` between tests: a copy without those flags does not.
    this.#patterns = entries
      .filter((e): e is RegExp => e instanceof RegExp)
      .map((e) => new RegExp(e.source, e.flags.replace(/[gy]/g, '')));
    this.empty = entries.length === 0;
  }

  /** Is the request at `path` (with the matched route's template `route`, when known) excluded? */
  excludes(path: string, route?: string): boolean {
    if (this.empty) return false;
    if (this.#exact.has(path) || (route !== undefined && this.#exact.has(route))) return true;
    for (const pattern of this.#patterns) if (pattern.test(path)) return true;
    return false;
  }
}
