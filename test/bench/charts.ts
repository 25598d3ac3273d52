/**
 * SVG charts for docs/benchmarks.md, drawn from the benchmark JSON (the `ChartSpec`s in result.ts):
 * grouped bars, labelled scatter points and lines. A pure function of the spec: the same spec gives
 * the same bytes, so regenerated charts diff cleanly. No dependency and no external service.
 * Sized for a GitHub page (720×400), Okabe-Ito colours (colour-blind safe), "nice" ticks
 * (1, 2, 2.5, 5 × 10^k) or decades on a log axis.
 */
import type { BarChart, ChartSpec, LineChart, ScatterChart } from './result.js';

const WIDTH = 720;
const HEIGHT = 400;
const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif';
const FONT_SIZE = 12;
/** Average glyph width as a share of the font size, to estimate label widths without a font. */
const GLYPH_WIDTH = 0.6;
/** Okabe & Ito, "Color Universal Design" (2008): distinguishable with every common colour blindness. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];
const GRID = '#e6e6e6';
const INK = '#333333';
const MARGIN_RIGHT = 24;
const MARGIN_BOTTOM = 52;
/** Ticks aimed for on a linear axis; 4 to 6 are accepted. */
const TARGET_TICKS = 5;
/** Most decade ticks shown on a log axis before every second (third…) decade is skipped. */
const MAX_DECADE_TICKS = 7;

/** The chart as a standalone SVG document. Never throws; non-finite values are skipped. */
export function renderChart(spec: ChartSpec): string {
  switch (spec.kind) {
    case 'bars':
      return renderBars(spec);
    case 'scatter':
      return renderScatter(spec);
    case 'lines':
      return renderLines(spec);
  }
}

// ---------------------------------------------------------------------------------------------
// Chart kinds

function renderBars(spec: BarChart): string {
  const log = spec.log === true;
  const values = spec.series.flatMap((s) => s.values.filter(Number.isFinite));
  const y = log ? logScale(values) : linearScale(values, 'bars');
  const legend = legendRows(spec.series.map((s) => s.name));
  const frame = plotFrame(y, legend.length);
  const yAt = positions(y, frame.bottom, frame.top);
  const groupCount = Math.max(spec.groups.length, ...spec.series.map((s) => s.values.length), 0);
  const out = open(spec.title);

  drawValueAxis(out, y, yAt, frame, 'y');
  drawAxisLabel(out, log ? `${spec.unit} (log scale)` : spec.unit, frame, 'y');

  const base = log ? frame.bottom : yAt(0);
  const groupWidth = groupCount > 0 ? (frame.right - frame.left) / groupCount : 0;
  const seriesCount = Math.max(spec.series.length, 1);
  const barWidth = Math.min((groupWidth * 0.8) / seriesCount, 56);
  for (let g = 0; g < groupCount; g++) {
    const groupLeft = frame.left + g * groupWidth;
    const firstBar = groupLeft + (groupWidth - barWidth * spec.series.length) / 2;
    spec.series.forEach((series, s) => {
      const value = series.values[g];
      if (value === undefined || value === 0 || !Number.isFinite(value)) return;
      const top = yAt(value);
      const x = firstBar + s * barWidth;
      const colour = colourOf(s);
      out.push(
        `<rect class="bar" x="${n(x)}" y="${n(Math.min(top, base))}" width="${n(Math.max(barWidth - 1, 1))}" height="${n(Math.abs(base - top))}" fill="${colour}"/>`,
      );
      const label = compactNumber(value, 3);
      if (textWidth(label) <= barWidth + 2) {
        const labelY = top <= base ? top - 4 : top + FONT_SIZE + 2;
        out.push(text(x + barWidth / 2, labelY, label, { cls: 'value', anchor: 'middle', fill: INK }));
      }
    });
    const name = fitText(spec.groups[g] ?? '', groupWidth - 4);
    out.push(text(groupLeft + groupWidth / 2, frame.bottom + 18, name, { cls: 'group', anchor: 'middle' }));
  }

  drawLegend(out, legend, 'swatch');
  return close(out);
}

function renderScatter(spec: ScatterChart): string {
  const points = spec.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const x = linearScale(
    points.map((p) => p.x),
    'points',
  );
  const y = linearScale(
    points.map((p) => p.y),
    'points',
  );
  const frame = plotFrame(y, 0);
  const xAt = positions(x, frame.left, frame.right);
  const yAt = positions(y, frame.bottom, frame.top);
  const out = open(spec.title);

  drawValueAxis(out, y, yAt, frame, 'y');
  drawValueAxis(out, x, xAt, frame, 'x');
  drawAxisLabel(out, spec.yLabel, frame, 'y');
  drawAxisLabel(out, spec.xLabel, frame, 'x');

  spec.points.forEach((point, i) => {
    if (!Number.isFinite(point.x) || !Number.isFinite(point.y)) return;
    const px = xAt(point.x);
    const py = yAt(point.y);
    const colour = colourOf(i);
    out.push(`<circle class="point" cx="${n(px)}" cy="${n(py)}" r="5" fill="${colour}"/>`);
    // Name to the right of the dot, or to its left when it would run off the chart.
    const fitsRight = px + 8 + textWidth(point.name) <= WIDTH - 4;
    out.push(
      text(fitsRight ? px + 8 : px - 8, py + 4, point.name, {
        cls: 'point-label',
        anchor: fitsRight ? 'start' : 'end',
        fill: colour,
      }),
    );
  });
  return close(out);
}

function renderLines(spec: LineChart): string {
  const finite = spec.series.map((s) =>
    s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py)),
  );
  const xs = finite.flatMap((points) => points.map(([px]) => px));
  const ys = finite.flatMap((points) => points.map(([, py]) => py));
  const x = spec.logX === true ? logScale(xs) : linearScale(xs, 'lines');
  const y = spec.logY === true ? logScale(ys) : linearScale(ys, 'lines');
  const legend = legendRows(spec.series.map((s) => s.name));
  const frame = plotFrame(y, legend.length);
  const xAt = positions(x, frame.left, frame.right);
  const yAt = positions(y, frame.bottom, frame.top);
  const out = open(spec.title);

  drawValueAxis(out, y, yAt, frame, 'y');
  drawValueAxis(out, x, xAt, frame, 'x');
  drawAxisLabel(out, spec.logY === true ? `${spec.yLabel} (log scale)` : spec.yLabel, frame, 'y');
  drawAxisLabel(out, spec.logX === true ? `${spec.xLabel} (log scale)` : spec.xLabel, frame, 'x');

  finite.forEach((points, s) => {
    const colour = colourOf(s);
    const coordinates = points.map(([px, py]) => `${n(xAt(px))},${n(yAt(py))}`);
    if (coordinates.length >= 2) {
      out.push(
        `<polyline class="line" points="${coordinates.join(' ')}" fill="none" stroke="${colour}" stroke-width="2" stroke-linejoin="round"/>`,
      );
    }
    for (const [px, py] of points) {
      out.push(`<circle class="point" cx="${n(xAt(px))}" cy="${n(yAt(py))}" r="3" fill="${colour}"/>`);
    }
  });

  drawLegend(out, legend, 'line');
  return close(out);
}

// ---------------------------------------------------------------------------------------------
// Scales: a domain, its tick values, and a way to map values to pixels

interface Scale {
  readonly log: boolean;
  /** Domain ends: values on a linear axis, exponents of ten on a log axis. */
  readonly lo: number;
  readonly hi: number;
  readonly ticks: readonly number[];
  readonly labels: readonly string[];
  /** Log axis only: what values ≤ 0 are drawn as (the smallest positive value present). */
  readonly floor: number;
}

/**
 * A linear axis over `values` with nice ticks. `bars` always includes 0 (bars grow from it);
 * `points` and `lines` include 0 only when the data is near it (the nearer end is within half the
 * span of 0), so a cluster around 95 % is not squashed against an axis starting at 0. `points` is
 * also padded by 5 % so that no dot sits on the frame.
 */
function linearScale(values: readonly number[], mode: 'bars' | 'points' | 'lines'): Scale {
  // Clamped so that the span of extreme values stays finite.
  const finite = values.filter(Number.isFinite).map((v) => Math.min(Math.max(v, -1e300), 1e300));
  let lo = finite.length > 0 ? Math.min(...finite) : 0;
  let hi = finite.length > 0 ? Math.max(...finite) : 1;
  if (mode === 'bars') {
    lo = Math.min(lo, 0);
    hi = Math.max(hi, 0);
    if (lo === hi) hi = 1;
    const headroom = (hi - lo) * 0.05; // room for the value labels above the tallest bar
    if (hi > 0) hi += headroom;
    if (lo < 0) lo -= headroom;
  } else {
    if (lo === hi) {
      const half = lo === 0 ? 1 : Math.abs(lo) / 2;
      lo -= half;
      hi += half;
    }
    const span = hi - lo;
    if (lo > 0 && lo < span / 2) lo = 0;
    if (hi < 0 && -hi < span / 2) hi = 0;
    const pad = mode === 'points' ? (hi - lo) * 0.05 : 0;
    if (lo !== 0) lo -= pad;
    if (hi !== 0) hi += pad;
  }
  return niceLinear(lo, hi);
}

/** Extends [lo, hi] to multiples of a step of 1, 2, 2.5 or 5 × 10^k giving 4–6 ticks, nearest 5. */
function niceLinear(lo: number, hi: number): Scale {
  const span = hi - lo;
  if (!Number.isFinite(span) || span <= 0) {
    return {
      log: false,
      lo,
      hi: lo + 1,
      ticks: [lo, lo + 1],
      labels: [lo, lo + 1].map((v) => compactNumber(v)),
      floor: 0,
    };
  }
  let best: { step: number; start: number; count: number } | undefined;
  const decade = Math.floor(Math.log10(span));
  for (let k = decade - 2; k <= decade + 1; k++) {
    for (const mantissa of [1, 2, 2.5, 5]) {
      const step = mantissa * 10 ** k;
      const start = Math.floor(lo / step + 1e-9) * step;
      const end = Math.ceil(hi / step - 1e-9) * step;
      const count = Math.round((end - start) / step) + 1;
      const score = Math.abs(count - TARGET_TICKS) + (count < 4 || count > 6 ? 10 : 0);
      const bestScore = best
        ? Math.abs(best.count - TARGET_TICKS) + (best.count < 4 || best.count > 6 ? 10 : 0)
        : 99;
      if (score < bestScore) best = { step, start, count };
    }
  }
  const { step, start, count } = best!;
  const decimals = Math.min(Math.max(1 - Math.floor(Math.log10(step)), 0), 20);
  const ticks = Array.from({ length: count }, (_, i) => Number((start + i * step).toFixed(decimals)) || 0);
  const labels = ticks.map((t) => compactNumber(t, tickDigits(t, step)));
  return { log: false, lo: ticks[0]!, hi: ticks[ticks.length - 1]!, ticks, labels, floor: 0 };
}

/** A log axis from the decade below the smallest positive value to the decade above the largest. */
function logScale(values: readonly number[]): Scale {
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  const floor = positive.length > 0 ? Math.min(...positive) : 1;
  const top = positive.length > 0 ? Math.max(...positive) : floor;
  const lo = Math.floor(Math.log10(floor));
  let hi = Math.ceil(Math.log10(top));
  if (hi <= lo) hi = lo + 1;
  const every = Math.ceil((hi - lo + 1) / MAX_DECADE_TICKS);
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e += every) ticks.push(Number(`1e${e}`));
  return { log: true, lo, hi, ticks, labels: ticks.map((t) => compactNumber(t)), floor };
}

/** Maps values of `scale` onto pixels from `from` (domain start) to `to` (domain end). */
function positions(scale: Scale, from: number, to: number): (value: number) => number {
  const { lo, hi } = scale;
  return (value) => {
    const v = scale.log ? Math.log10(value > 0 ? value : scale.floor) : value;
    return from + ((v - lo) / (hi - lo)) * (to - from);
  };
}

// ---------------------------------------------------------------------------------------------
// Layout, axes and legend

interface Frame {
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

/** The plot area: left margin fits the y tick labels, top margin fits the title and legend rows. */
function plotFrame(y: Scale, legendRowCount: number): Frame {
  const widest = Math.max(0, ...y.labels.map(textWidth));
  return {
    left: Math.round(36 + widest + 8),
    right: WIDTH - MARGIN_RIGHT,
    top: legendRowCount > 0 ? 36 + legendRowCount * 18 + 18 : 48,
    bottom: HEIGHT - MARGIN_BOTTOM,
  };
}

/** Gridlines, tick labels and the axis line of a numeric axis. */
function drawValueAxis(
  out: string[],
  scale: Scale,
  at: (value: number) => number,
  frame: Frame,
  which: 'x' | 'y',
): void {
  scale.ticks.forEach((tick, i) => {
    const p = n(at(tick));
    const label = scale.labels[i] ?? '';
    if (which === 'y') {
      out.push(
        `<line class="grid" x1="${n(frame.left)}" y1="${p}" x2="${n(frame.right)}" y2="${p}" stroke="${GRID}"/>`,
      );
      out.push(text(frame.left - 6, Number(p) + 4, label, { cls: 'tick', anchor: 'end' }));
    } else {
      out.push(
        `<line class="grid" x1="${p}" y1="${n(frame.top)}" x2="${p}" y2="${n(frame.bottom)}" stroke="${GRID}"/>`,
      );
      out.push(text(Number(p), frame.bottom + 18, label, { cls: 'tick', anchor: 'middle' }));
    }
  });
  out.push(
    which === 'y'
      ? `<line class="axis" x1="${n(frame.left)}" y1="${n(frame.top)}" x2="${n(frame.left)}" y2="${n(frame.bottom)}" stroke="${INK}"/>`
      : `<line class="axis" x1="${n(frame.left)}" y1="${n(frame.bottom)}" x2="${n(frame.right)}" y2="${n(frame.bottom)}" stroke="${INK}"/>`,
  );
}

function drawAxisLabel(out: string[], label: string, frame: Frame, which: 'x' | 'y'): void {
  if (label === '') return;
  if (which === 'x') {
    out.push(
      text((frame.left + frame.right) / 2, HEIGHT - 12, label, { cls: 'axis-label', anchor: 'middle' }),
    );
    return;
  }
  const x = 14;
  const y = (frame.top + frame.bottom) / 2;
  out.push(
    `<text class="axis-label" x="${n(x)}" y="${n(y)}" text-anchor="middle" fill="${INK}" transform="rotate(-90 ${n(x)} ${n(y)})">${escapeXml(label)}</text>`,
  );
}

interface LegendEntry {
  readonly name: string;
  readonly colour: string;
  readonly x: number;
  readonly row: number;
}

/** Legend entries laid out left to right under the title, wrapping onto further rows. */
function legendRows(names: readonly string[]): LegendEntry[][] {
  const rows: LegendEntry[][] = [];
  let x = 64;
  names.forEach((name, i) => {
    const width = 22 + textWidth(name);
    if (rows.length === 0 || (x + width > WIDTH - MARGIN_RIGHT && x > 64)) {
      rows.push([]);
      x = 64;
    }
    rows[rows.length - 1]!.push({ name, colour: colourOf(i), x, row: rows.length - 1 });
    x += width + 18;
  });
  return rows;
}

function drawLegend(out: string[], rows: readonly LegendEntry[][], marker: 'swatch' | 'line'): void {
  for (const entry of rows.flat()) {
    const y = 45 + entry.row * 18;
    out.push(
      marker === 'swatch'
        ? `<rect class="swatch" x="${n(entry.x)}" y="${n(y - 6)}" width="12" height="12" fill="${entry.colour}"/>`
        : `<line class="swatch" x1="${n(entry.x - 2)}" y1="${n(y)}" x2="${n(entry.x + 14)}" y2="${n(y)}" stroke="${entry.colour}" stroke-width="2"/>`,
    );
    out.push(text(entry.x + 18, y + 4, entry.name, { cls: 'legend' }));
  }
}

// ---------------------------------------------------------------------------------------------
// SVG text helpers

function open(title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT}" font-size="${FONT_SIZE}" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(WIDTH / 2, 24, title, { cls: 'title', anchor: 'middle', size: 14, bold: true }),
  ];
}

function close(out: string[]): string {
  out.push('</svg>');
  return out.join('\n');
}

function text(
  x: number,
  y: number,
  content: string,
  options: { cls: string; anchor?: 'start' | 'middle' | 'end'; fill?: string; size?: number; bold?: boolean },
): string {
  const anchor = options.anchor && options.anchor !== 'start' ? ` text-anchor="${options.anchor}"` : '';
  const size = options.size !== undefined ? ` font-size="${options.size}"` : '';
  const weight = options.bold === true ? ' font-weight="bold"' : '';
  const fill = options.fill ?? INK;
  return `<text class="${options.cls}" x="${n(x)}" y="${n(y)}"${anchor}${size}${weight} fill="${fill}">${escapeXml(content)}</text>`;
}

function escapeXml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

/** Shortens `label` with an ellipsis to fit `width` pixels (estimated). */
function fitText(label: string, width: number): string {
  if (textWidth(label) <= width) return label;
  const chars = Math.max(1, Math.floor(width / (FONT_SIZE * GLYPH_WIDTH)) - 1);
  return `${label.slice(0, chars)}…`;
}

function textWidth(label: string, size = FONT_SIZE): number {
  return label.length * size * GLYPH_WIDTH;
}

function colourOf(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

/** A coordinate rounded to 0.1 px; anything non-finite becomes 0 so the SVG stays valid. */
function n(value: number): string {
  if (!Number.isFinite(value)) return '0';
  return String(Math.round(value * 10) / 10 || 0);
}

/** Significant digits a tick label needs so neighbouring ticks `step` apart stay distinct. */
function tickDigits(tick: number, step: number): number {
  if (tick === 0) return 1;
  const digits = Math.floor(Math.log10(Math.abs(tick))) - Math.floor(Math.log10(step)) + 2;
  return Math.min(Math.max(digits, 1), 15);
}

const SUFFIXES: ReadonlyArray<readonly [number, string]> = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** 0.5, 12, 1.2k, 3.4M: `digits` significant digits, trailing zeros dropped, '' if non-finite. */
export function compactNumber(value: number, digits = 4): string {
  if (!Number.isFinite(value)) return '';
  const rounded = Number(value.toPrecision(digits));
  if (rounded === 0) return '0';
  const sign = rounded < 0 ? '-' : '';
  const abs = Math.abs(rounded);
  for (const [size, suffix] of SUFFIXES) {
    if (abs >= size) return `${sign}${Number((abs / size).toPrecision(digits))}${suffix}`;
  }
  return `${sign}${abs}`;
}
