/**
 * The SVG chart renderer: every kind yields a well-formed standalone document that names every
 * series and point, escapes text, never prints NaN/Infinity (even for degenerate data), uses decade
 * ticks on log axes, draws one bar per non-zero value, and is deterministic.
 */
import { describe, expect, it } from 'vitest';
import { compactNumber, renderChart } from './charts.js';
import type { BarChart, ChartSpec, LineChart, ScatterChart } from './result.js';

const bars: BarChart = {
  kind: 'bars',
  title: 'Latency under a slow backend',
  unit: 'ms',
  groups: ['p50', 'p99', 'p99.9'],
  series: [
    { name: 'weft', values: [1.2, 4.5, 9.8] },
    { name: 'raw undici', values: [1.1, 40, 250] },
    { name: 'cockatiel', values: [1.3, 0, 120] },
  ],
};

const scatter: ScatterChart = {
  kind: 'scatter',
  title: 'Extra load against success rate',
  xLabel: 'extra load (%)',
  yLabel: 'success (%)',
  points: [
    { name: 'weft', x: 4, y: 99.9 },
    { name: 'naive retries', x: 210, y: 97 },
    { name: 'no retries', x: 0, y: 91.5 },
  ],
};

const lines: LineChart = {
  kind: 'lines',
  title: 'Pick time against endpoint count',
  xLabel: 'endpoints',
  yLabel: 'ns per pick',
  logX: true,
  series: [
    {
      name: 'p2c',
      points: [
        [10, 80],
        [100, 85],
        [1000, 90],
      ],
    },
    {
      name: 'least loaded',
      points: [
        [10, 120],
        [100, 900],
        [1000, 8800],
      ],
    },
  ],
};

const all: readonly ChartSpec[] = [bars, scatter, lines];

/** Text content of every <text> element with class `cls`, unescaped of nothing (raw). */
function texts(svg: string, cls: string): string[] {
  return [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]!);
}

/** Every element opened is closed (or self-closing), in order, with one root <svg>. */
function expectWellFormed(svg: string): void {
  const stack: string[] = [];
  let roots = 0;
  for (const m of svg.matchAll(/<(\/?)([a-z]+)\b[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (closing) {
      expect(stack.pop()).toBe(name);
    } else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    }
  }
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  // No stray markup characters in text or attribute values.
  expect(svg.replace(/<[^<>]*>/g, '')).not.toMatch(/[<>]/);
  expect(svg.replace(/&(amp|lt|gt|quot|apos);/g, '')).not.toContain('&');
}

function expectClean(svg: string): void {
  expect(svg).not.toContain('NaN');
  expect(svg).not.toContain('Infinity');
  expect(svg).not.toContain('undefined');
  expectWellFormed(svg);
}

/** All numeric attribute values, to check they are finite and rounded to 0.1. */
function numbers(svg: string): number[] {
  return [...svg.matchAll(/ (?:x|y|x1|x2|y1|y2|cx|cy|width|height)="(-?[\d.]+)"/g)].map((m) => Number(m[1]));
}

describe('renderChart', () => {
  it.each(all)('renders a standalone SVG document for $kind', (spec) => {
    const svg = renderChart(spec);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg).toContain('viewBox="0 0 720 400"');
    expect(svg).toContain('<rect width="720" height="400" fill="#ffffff"/>');
    expect(svg).toMatch(/font-family="[^"]*sans-serif"/);
    expect(texts(svg, 'title')).toEqual([spec.title]);
    expectClean(svg);
    for (const v of numbers(svg)) {
      expect(Number.isFinite(v)).toBe(true);
      expect(Math.round(v * 10) / 10).toBe(v);
    }
  });

  it('is deterministic', () => {
    for (const spec of all) expect(renderChart(spec)).toBe(renderChart(structuredClone(spec)));
  });

  it('names every series, group and point', () => {
    const barSvg = renderChart(bars);
    expect(texts(barSvg, 'legend')).toEqual(['weft', 'raw undici', 'cockatiel']);
    expect(texts(barSvg, 'group')).toEqual(['p50', 'p99', 'p99.9']);
    expect(texts(barSvg, 'axis-label')).toEqual(['ms']);
    expect(texts(renderChart(scatter), 'point-label')).toEqual(['weft', 'naive retries', 'no retries']);
    const scatterLabels = texts(renderChart(scatter), 'axis-label');
    expect(scatterLabels).toEqual(['success (%)', 'extra load (%)']);
    const lineSvg = renderChart(lines);
    expect(texts(lineSvg, 'legend')).toEqual(['p2c', 'least loaded']);
    expect(lineSvg.match(/<polyline /g)).toHaveLength(2);
  });

  it('draws one bar per non-zero finite value and keeps the slot of the others', () => {
    const svg = renderChart(bars);
    expect(svg.match(/class="bar"/g)).toHaveLength(8); // 9 values, one zero
    const withGaps = renderChart({
      ...bars,
      series: [
        { name: 'a', values: [1, Number.NaN, 3] },
        { name: 'b', values: [2] },
      ],
    });
    expect(withGaps.match(/class="bar"/g)).toHaveLength(3);
    // Series b's only bar sits in the first group, right of a's: the slot is kept, not reflowed.
    const xs = [...withGaps.matchAll(/class="bar" x="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(xs[1]! - xs[0]!).toBeGreaterThan(0);
    expect(xs[2]! - xs[0]!).toBeGreaterThan(400);
  });

  it('colours series with the Okabe-Ito palette, in order', () => {
    const svg = renderChart(bars);
    const fills = [...svg.matchAll(/class="swatch"[^>]*fill="(#[0-9A-Fa-f]{6})"/g)].map((m) => m[1]);
    expect(fills).toEqual(['#0072B2', '#E69F00', '#009E73']);
  });

  it('uses 4–6 nice ticks on a linear axis, labelled compactly', () => {
    const svg = renderChart({ ...bars, series: [{ name: 'a', values: [0.1, 0.2, 0.3] }] });
    const ticks = texts(svg, 'tick');
    expect(ticks.length).toBeGreaterThanOrEqual(4);
    expect(ticks.length).toBeLessThanOrEqual(6);
    for (const t of ticks) expect(t).toMatch(/^-?\d+(\.\d{1,3})?[kMGT]?$/);
    expect(svg).not.toContain('0000000');
    const values = ticks.map(Number);
    const step = values[1]! - values[0]!;
    const mantissa = Number((step / 10 ** Math.floor(Math.log10(step))).toPrecision(6));
    expect([1, 2, 2.5, 5]).toContain(mantissa);

    const big = texts(renderChart({ ...bars, series: [{ name: 'a', values: [1200, 3_400_000] }] }), 'tick');
    expect(big).toContain('0');
    expect(big.some((t) => t.endsWith('M'))).toBe(true);
  });

  it('puts decade ticks on log axes', () => {
    const svg = renderChart({ ...bars, log: true });
    expect(texts(svg, 'tick')).toEqual(['1', '10', '100', '1k']);
    expect(texts(svg, 'axis-label')).toEqual(['ms (log scale)']);
    const lineTicks = texts(renderChart(lines), 'tick');
    expect(lineTicks).toEqual(expect.arrayContaining(['10', '100', '1k']));
  });

  it('clamps values ≤ 0 on a log axis to the smallest positive value', () => {
    const svg = renderChart({
      ...lines,
      logY: true,
      series: [
        {
          name: 'a',
          points: [
            [0, 0],
            [10, 5],
            [100, -3],
            [1000, 500],
          ],
        },
      ],
    });
    expectClean(svg);
    expect(texts(svg, 'tick').filter((t) => ['1', '10', '100', '1k'].includes(t)).length).toBeGreaterThan(0);
    // The zero and the negative y are drawn at the height of y = 5.
    const cys = [...svg.matchAll(/class="point" cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => m[1]);
    expect(cys[0]).toBe(cys[1]);
    expect(cys[2]).toBe(cys[1]);
  });

  it('escapes text in titles, labels and names', () => {
    const nasty = `a<b & "c" 'd'>`;
    const escaped = 'a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;';
    const specs: ChartSpec[] = [
      { ...bars, title: nasty, unit: nasty, groups: [nasty], series: [{ name: nasty, values: [1] }] },
      { ...scatter, title: nasty, xLabel: nasty, yLabel: nasty, points: [{ name: nasty, x: 1, y: 2 }] },
      { ...lines, title: nasty, xLabel: nasty, yLabel: nasty, series: [{ name: nasty, points: [[1, 2]] }] },
    ];
    for (const spec of specs) {
      const svg = renderChart(spec);
      expect(svg).not.toContain(nasty);
      expect(svg).toContain(escaped);
      expectClean(svg);
    }
  });

  describe('degenerate input renders without NaN or Infinity', () => {
    const cases: Array<[string, ChartSpec]> = [
      ['bars with no series', { ...bars, series: [] }],
      ['bars with no groups', { ...bars, groups: [], series: [] }],
      ['bars all zero', { ...bars, series: [{ name: 'a', values: [0, 0, 0] }] }],
      ['bars all zero on log', { ...bars, log: true, series: [{ name: 'a', values: [0, 0, 0] }] }],
      [
        'bars zeros and negatives on log',
        { ...bars, log: true, series: [{ name: 'a', values: [0, -1, 5] }] },
      ],
      ['bars all equal', { ...bars, series: [{ name: 'a', values: [7, 7, 7] }] }],
      ['bars negative', { ...bars, series: [{ name: 'a', values: [-3, 2, -0.5] }] }],
      [
        'bars NaN and Infinity',
        { ...bars, series: [{ name: 'a', values: [Number.NaN, Number.POSITIVE_INFINITY, 3] }] },
      ],
      ['scatter empty', { ...scatter, points: [] }],
      ['scatter single point', { ...scatter, points: [{ name: 'only', x: 3, y: 3 }] }],
      ['scatter at zero', { ...scatter, points: [{ name: 'zero', x: 0, y: 0 }] }],
      [
        'scatter equal',
        {
          ...scatter,
          points: [
            { name: 'a', x: 5, y: 5 },
            { name: 'b', x: 5, y: 5 },
          ],
        },
      ],
      [
        'scatter NaN',
        {
          ...scatter,
          points: [
            { name: 'a', x: Number.NaN, y: 1 },
            { name: 'b', x: 1, y: Number.NEGATIVE_INFINITY },
          ],
        },
      ],
      ['lines empty', { ...lines, series: [] }],
      ['lines empty series', { ...lines, series: [{ name: 'a', points: [] }] }],
      ['lines single point', { ...lines, series: [{ name: 'a', points: [[10, 3]] }] }],
      [
        'lines zeros on both log axes',
        {
          ...lines,
          logX: true,
          logY: true,
          series: [
            {
              name: 'a',
              points: [
                [0, 0],
                [0, 0],
              ],
            },
          ],
        },
      ],
      [
        'lines NaN',
        {
          ...lines,
          series: [
            {
              name: 'a',
              points: [
                [Number.NaN, 1],
                [2, Number.NaN],
                [3, 4],
              ],
            },
          ],
        },
      ],
      [
        'lines huge values',
        {
          ...lines,
          logX: false,
          series: [
            {
              name: 'a',
              points: [
                [-Number.MAX_VALUE, 1],
                [Number.MAX_VALUE, 2],
              ],
            },
          ],
        },
      ],
    ];
    it.each(cases)('%s', (_, spec) => {
      const svg = renderChart(spec);
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.endsWith('</svg>')).toBe(true);
      expectClean(svg);
      // An axis always has a non-zero span: at least two distinct tick labels.
      expect(new Set(texts(svg, 'tick')).size).toBeGreaterThanOrEqual(2);
    });

    it('draws no bar for zero values on a log axis but keeps names', () => {
      const svg = renderChart({ ...bars, log: true, series: [{ name: 'zero', values: [0, 0, 0] }] });
      expect(svg).not.toContain('class="bar"');
      expect(texts(svg, 'legend')).toEqual(['zero']);
    });
  });
});

describe('compactNumber', () => {
  it.each([
    [0, '0'],
    [0.5, '0.5'],
    [0.1 + 0.2, '0.3'],
    [12, '12'],
    [1234, '1.234k'],
    [3_400_000, '3.4M'],
    [-2500, '-2.5k'],
    [2.5e9, '2.5G'],
    [Number.NaN, ''],
    [Number.POSITIVE_INFINITY, ''],
  ])('%s → %s', (value, expected) => {
    expect(compactNumber(value)).toBe(expected);
  });

  it('rounds to the requested significant digits', () => {
    expect(compactNumber(1234, 2)).toBe('1.2k');
    expect(compactNumber(999.96, 3)).toBe('1k');
  });
});
