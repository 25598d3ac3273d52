/**
 * pick-cost: how long the balancer takes to choose an endpoint, at 10 to 10 000 endpoints, for
 * each strategy, and for P2C Peak EWMA with every tenth endpoint busy (its unhealthy path). No
 * client and no network: nodes are built as the balancer holds them (a stub service whose
 * `status` is read, the strategy's load metric seeded with 8 RTT samples of 2.5 to 55 ms), and a
 * timed pick is the balancer's hot path: `picker.pick(nodes, ctx, now)`, `load.start(now)`, and
 * `load.end` of the pick made 16 picks earlier, so pending counts vary as under load. One
 * CallContext serves every pick, with `tried` unset (a first attempt): nothing is allocated.
 *
 * Time: `now` is a number advanced 0.01 ms per pick, not a clock reading. Reading the clock costs
 * 50 to 100 ns here, as much as a pick, and the balancer takes `now` from the call's descent
 * stamp anyway. `process.hrtime.bigint()` is read around a whole round only. Each configuration
 * is warmed up twice (JIT), rounds interleave the configurations, and the figure is the median
 * ns per pick over rounds. A round is `picks` picks, fewer where it would pass 25 ms (scans).
 *
 * Measured here (200 000 picks, 5 rounds, a shared 2-core machine): P2C is O(1). P2C Peak EWMA
 * takes about 100 ns at 10 to 1 000 endpoints, most of it the metric's decay (a `Math.exp` per
 * cost read, two reads and an end per pick): P2C over pending requests makes the same picks in 30
 * to 40 ns. At 10 000 both take 2 to 4 times as long for the same work: the two random draws land
 * in megabytes of nodes (cache misses; round robin walks in order and stays at 12 to 16 ns), and
 * this figure moves most with other load on the machine. 10% busy costs 0 to 20% more.
 * Least-loaded scans every node, about 5 ns each: 0.5 µs at 100 endpoints, 50 µs at 10 000.
 * All strategies share one timing loop, so its call sites see three picker and two load classes;
 * timed alone, round robin takes 7 ns, the others about what they take here.
 */
import type { EndpointNode } from '../../../src/balance/endpoint-node.js';
import type { Picker } from '../../../src/balance/picker.js';
import {
  type BalancerStrategy,
  leastLoaded,
  p2cLeastLoaded,
  p2cPeakEwma,
  roundRobin,
} from '../../../src/balance/strategies.js';
import { SuccessWindow } from '../../../src/balance/success-window.js';
import { CallContext } from '../../../src/core/context.js';
import type { Service, ServiceStatus } from '../../../src/core/service.js';
import type { ChartSpec, ScenarioResult } from '../result.js';
import { median, round } from '../stats.js';

export interface PickCostOptions {
  /** Endpoint counts to measure, e.g. [10, 100, 1000, 10000]. */
  sizes: number[];
  /** Picks per timed round (fewer when a round would exceed {@link ROUND_BUDGET_MS}). */
  picks: number;
  /** Timed rounds per strategy and size; the figure is their median. */
  rounds: number;
}

/** Fake time advanced per pick, in ms: 100 000 picks per (virtual) second. */
const STEP_MS = 0.01;
/** Picks in flight: each pick settles the one made this many picks before it (a power of two). */
const IN_FLIGHT = 16;
/** A timed round stops short of `picks` when it would take longer than this (O(n) scans at 10 000). */
const ROUND_BUDGET_MS = 25;
/** Warm-up per configuration and pass: up to `picks` picks, or this long. */
const WARM_UP_MS = 25;
/** Fewest picks in a timed round, however slow a pick is. */
const MIN_ROUND_PICKS = 50;
/** RTT samples folded into each endpoint's load before timing starts. */
const SEED_SAMPLES = 8;
/** Virtual time between seed samples, in ms; timing starts after the last one. */
const SEED_SPACING_MS = 10;

interface Variant {
  /** Label in the table and chart. */
  readonly name: string;
  /** camelCase, for headline keys. */
  readonly key: string;
  readonly strategy: () => BalancerStrategy;
  /** Every tenth node `busy` (ejected): the pickers' unhealthy path. */
  readonly tenthBusy: boolean;
}

const VARIANTS: readonly Variant[] = [
  { name: 'p2c-peak-ewma', key: 'p2cPeakEwma', strategy: p2cPeakEwma, tenthBusy: false },
  { name: 'p2c-peak-ewma, 10% busy', key: 'p2cPeakEwmaTenthBusy', strategy: p2cPeakEwma, tenthBusy: true },
  { name: 'p2c-least-loaded', key: 'p2cLeastLoaded', strategy: p2cLeastLoaded, tenthBusy: false },
  { name: 'round-robin', key: 'roundRobin', strategy: roundRobin, tenthBusy: false },
  { name: 'least-loaded', key: 'leastLoaded', strategy: leastLoaded, tenthBusy: false },
];

/** A node as the balancer holds it, plus the RTT its (imaginary) endpoint answers in. */
interface BenchNode extends EndpointNode {
  readonly baseRttMs: number;
}

/** One strategy at one size: its picker, nodes and in-flight ring, and its own fake clock. */
interface Bench {
  readonly variant: Variant;
  readonly size: number;
  readonly picker: Picker;
  readonly nodes: readonly BenchNode[];
  readonly ring: (BenchNode | undefined)[];
  now: number;
  tick: number;
  picksPerRound: number;
  readonly nsPerPick: number[];
}

/** Multipliers of a node's base RTT, cycled through as picks settle (0.5× to 2.5×, skewed low). */
const JITTER = Float64Array.from({ length: 256 }, (_, i) => 0.5 + (2 * ((i * 97) % 256) ** 2) / 65536);

/** First attempts: `tried` stays undefined, as on a call's first pick. One context, no allocation. */
const CONTEXT = new CallContext('bench');

/** Deterministic uniform numbers in [0, 1) (mulberry32), so every run seeds the same loads. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function stubService(status: ServiceStatus): Service<unknown, unknown> {
  return {
    status,
    call: () => Promise.reject(new Error('pick-cost: a benchmark node is never called')),
    close: () => Promise.resolve(),
  };
}

function buildBench(variant: Variant, size: number): Bench {
  const strategy = variant.strategy();
  const random = seededRandom(size);
  const nodes: BenchNode[] = [];
  for (let i = 0; i < size; i++) {
    const host = `10.0.${i >>> 8}.${i & 255}`;
    const address = `${host}:80`;
    // Base RTTs spread from 5 ms to about 22 ms, so the load-aware pickers have preferences.
    const baseRttMs = 5 * Math.exp(1.5 * random());
    const load = strategy.createLoad(0);
    for (let k = 0; k < SEED_SAMPLES; k++) {
      const t = k * SEED_SPACING_MS;
      const rtt = baseRttMs * (0.5 + 2 * random() ** 2);
      load.start(t);
      load.end(t + rtt, rtt, true);
    }
    nodes.push({
      address,
      endpoint: { address, host, port: 80, weight: 1 },
      service: stubService(variant.tenthBusy && i % 10 === 9 ? 'busy' : 'open'),
      load,
      outcomes: new SuccessWindow(),
      baseRttMs,
    });
  }
  return {
    variant,
    size,
    picker: strategy.createPicker(),
    nodes,
    ring: new Array<BenchNode | undefined>(IN_FLIGHT).fill(undefined),
    now: SEED_SAMPLES * SEED_SPACING_MS + 50,
    tick: 0,
    picksPerRound: 0,
    nsPerPick: [],
  };
}

/** Keeps the picks' results observable, so the JIT cannot drop the work. */
let sink = 0;

/**
 * `count` picks as the balancer makes them: pick, start the load, and settle the pick made
 * IN_FLIGHT picks earlier (after its endpoint's RTT). Returns the elapsed time in ns.
 */
function runPicks(bench: Bench, count: number): number {
  const { picker, nodes, ring } = bench;
  const ctx = CONTEXT;
  let now = bench.now;
  let tick = bench.tick;
  let acc = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    now += STEP_MS;
    const node = picker.pick(nodes, ctx, now) as BenchNode | undefined;
    if (node === undefined) throw new Error('pick-cost: the picker found no node');
    node.load.start(now);
    tick = (tick + 1) & 0xffff;
    const slot = tick & (IN_FLIGHT - 1);
    const settling = ring[slot];
    if (settling !== undefined) {
      const rtt = settling.baseRttMs * JITTER[tick & 255]!;
      settling.load.end(now, rtt, true);
    }
    ring[slot] = node;
    acc += node.load.pending;
  }
  const elapsed = Number(process.hrtime.bigint() - t0);
  bench.now = now;
  bench.tick = tick;
  sink = (sink + acc) % 1_000_003;
  return elapsed;
}

/** Warm one configuration up (JIT) in doubling chunks; returns the last chunk's ns per pick. */
function warmUp(bench: Bench, maxPicks: number): number {
  let done = 0;
  let spentNs = 0;
  let chunk = 32;
  let nsPerPick = Number.NaN;
  while (done < maxPicks && spentNs < WARM_UP_MS * 1e6) {
    const n = Math.min(chunk, maxPicks - done);
    const ns = runPicks(bench, n);
    nsPerPick = ns / n;
    done += n;
    spentNs += ns;
    chunk *= 2;
  }
  return nsPerPick;
}

export async function pickCost(options: PickCostOptions): Promise<ScenarioResult> {
  const { sizes, picks, rounds } = options;
  const benches: Bench[] = [];
  for (const variant of VARIANTS) for (const size of sizes) benches.push(buildBench(variant, size));

  // Two warm-up passes: the first lets every configuration reach the loop's call sites (one
  // loop for all, so they see every picker and load class); the second runs on the code that
  // result and calibrates each round's length.
  for (const bench of benches) warmUp(bench, picks);
  for (const bench of benches) {
    const nsPerPick = warmUp(bench, picks);
    const fit = Math.floor((ROUND_BUDGET_MS * 1e6) / nsPerPick);
    bench.picksPerRound = Math.max(Math.min(MIN_ROUND_PICKS, picks), Math.min(picks, fit));
  }

  // Rounds interleave the configurations (reversed every other round) so drifts in machine load
  // spread over all of them.
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? benches : [...benches].reverse();
    for (const bench of order)
      bench.nsPerPick.push(runPicks(bench, bench.picksPerRound) / bench.picksPerRound);
  }

  const results = benches.map((b) => ({
    strategy: b.variant.name,
    size: b.size,
    busyShare: b.variant.tenthBusy ? 0.1 : 0,
    picksPerRound: b.picksPerRound,
    nsPerPick: round(median(b.nsPerPick), 1),
    nsPerPickMin: round(Math.min(...b.nsPerPick), 1),
    nsPerPickMax: round(Math.max(...b.nsPerPick), 1),
    perRound: b.nsPerPick.map((x) => round(x, 1)),
  }));
  const of = (variant: Variant) => results.filter((x) => x.strategy === variant.name);

  const chart: ChartSpec = {
    kind: 'lines',
    title: 'Balancer pick time by endpoint count',
    xLabel: 'endpoints',
    yLabel: 'ns per pick',
    logX: true,
    logY: true,
    series: VARIANTS.map((v) => ({
      name: v.name,
      points: of(v).map((x) => [x.size, x.nsPerPick] as const),
    })),
  };

  const first = sizes[0];
  const last = sizes[sizes.length - 1];
  const headline: Record<string, number> = {};
  for (const v of VARIANTS) {
    for (const x of of(v)) {
      if (x.size === first || x.size === last) headline[`${v.key}NsAt${x.size}`] = x.nsPerPick;
    }
  }

  const shortened = results.some((x) => x.picksPerRound < picks);
  return {
    scenario: 'pick-cost',
    summary:
      `${rounds} rounds of ${picks} picks per strategy and size` +
      (shortened ? ` (fewer where a round would pass ${ROUND_BUDGET_MS} ms)` : ''),
    tables: [
      {
        columns: ['strategy', ...sizes.map(String)],
        rows: VARIANTS.map((v) => [v.name, ...of(v).map((x) => x.nsPerPick)]),
      },
    ],
    charts: [chart],
    headline,
    details: {
      sizes,
      picks,
      rounds,
      stepMs: STEP_MS,
      inFlight: IN_FLIGHT,
      roundBudgetMs: ROUND_BUDGET_MS,
      results,
      sink,
    },
  };
}
