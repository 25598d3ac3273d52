/**
 * The shape every benchmark scenario returns: what `--json` prints, what `npm run bench -- all`
 * writes to docs/bench/results.json, and what the report (docs/benchmarks.md) and the SVG charts
 * are generated from.
 */

/** A table of figures, as shown in docs/benchmarks.md. */
export interface ResultTable {
  readonly columns: readonly string[];
  /** One row per contender (or per size, per phase); cells are already rounded for display. */
  readonly rows: ReadonlyArray<ReadonlyArray<string | number>>;
}

/** Grouped bars: one group per label (e.g. p50, p99, p99.9), one bar per series (contender). */
export interface BarChart {
  readonly kind: 'bars';
  readonly title: string;
  /** Unit of the values, shown on the axis (e.g. "ms"). */
  readonly unit: string;
  readonly groups: readonly string[];
  readonly series: ReadonlyArray<{ readonly name: string; readonly values: readonly number[] }>;
  /** Logarithmic value axis (latencies spanning orders of magnitude). */
  readonly log?: boolean;
}

/** Labelled points, e.g. extra load (x) against success rate (y), one point per contender. */
export interface ScatterChart {
  readonly kind: 'scatter';
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly points: ReadonlyArray<{ readonly name: string; readonly x: number; readonly y: number }>;
}

/** Lines over a numeric x axis, e.g. pick time against endpoint count, attempts/s over time. */
export interface LineChart {
  readonly kind: 'lines';
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logX?: boolean;
  readonly logY?: boolean;
  readonly series: ReadonlyArray<{
    readonly name: string;
    readonly points: ReadonlyArray<readonly [number, number]>;
  }>;
}

export type ChartSpec = BarChart | ScatterChart | LineChart;

export interface ScenarioResult {
  /** The scenario's name, as given on the command line. */
  readonly scenario: string;
  /** One line: what was run (rounds, rate, sizes), for the report's heading. */
  readonly summary: string;
  readonly tables: readonly ResultTable[];
  /** Charts, each written as docs/bench/<scenario>-<index>.svg by `all`. */
  readonly charts: readonly ChartSpec[];
  /** The figures a closing note or README would quote, by name. */
  readonly headline: Readonly<Record<string, number>>;
  /**
   * Figures the project has committed to, each with its floor: `npm run bench` fails (exit
   * status 1) when one measures below it. E.g. `overhead`: weft with metrics and tracing keeps at
   * least 0.9 of raw undici Pool's throughput.
   */
  readonly floors?: readonly Floor[];
  /** Everything measured, for --json. */
  readonly details: unknown;
}

/** A committed figure: `headline[name]` must be at least `floor`. */
export interface Floor {
  /** A key of the result's headline. */
  readonly name: string;
  readonly floor: number;
  /** What it stands for, in words, for the message when it fails. */
  readonly meaning: string;
}

/** The floors a result falls below, with what it measured (a headline that is missing counts as below). */
export function belowFloors(result: ScenarioResult): Array<Floor & { measured: number }> {
  const below: Array<Floor & { measured: number }> = [];
  for (const floor of result.floors ?? []) {
    const measured = result.headline[floor.name] ?? Number.NaN;
    if (!(measured >= floor.floor)) below.push({ ...floor, measured });
  }
  return below;
}
