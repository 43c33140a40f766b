/// <reference path="./asciichart.d.ts" />
// Small history charts as plain strings (Ink shows strings; blessed-contrib widgets cannot mount).
// `sparkline` is one row, used at 80x24; `lineChart` (asciichart) gives an axed chart when a pane
// has rows to spare. Both take an explicit range so that a quiet series does not look like a storm
// (auto-scaling 1%..2% CPU to full height would) and values outside it are clamped, never dropped.
import asciichart from 'asciichart';

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

export interface Range {
  min: number;
  max: number;
}

/** The newest `width` values, newest last. */
function lastN(values: readonly number[], width: number): number[] {
  return values.length > width ? values.slice(values.length - width) : values.slice();
}

/** A range for series with no natural maximum (latency): 0 up to the largest value seen. */
export function rangeOf(values: readonly number[], floorMax = 1): Range {
  let max = floorMax;
  for (const v of values) if (Number.isFinite(v) && v > max) max = v;
  return { min: 0, max };
}

/**
 * One-row chart of the newest `width` values, right-aligned (padded with spaces on the left so
 * time always flows to the right edge). Non-finite values (missed samples) show as a space.
 */
export function sparkline(values: readonly number[], width: number, range: Range): string {
  if (width <= 0) return '';
  const span = range.max - range.min;
  const cells = lastN(values, width).map((v) => {
    if (!Number.isFinite(v)) return ' ';
    if (span <= 0) return BLOCKS[0];
    const ratio = Math.min(1, Math.max(0, (v - range.min) / span));
    // 8 levels: 0 → ▁, max → █; the lowest block still shows that a sample exists.
    return BLOCKS[Math.min(BLOCKS.length - 1, Math.floor(ratio * BLOCKS.length))] ?? BLOCKS[0];
  });
  return ' '.repeat(width - cells.length) + cells.join('');
}

/**
 * A multi-row line chart (asciichart) exactly `width` columns wide and `height` rows tall (labels
 * included). Returns [] when there is nothing to draw or no room.
 */
export function lineChart(
  values: readonly number[],
  opts: { width: number; height: number; range: Range; format?: (v: number) => string },
): string[] {
  const format = opts.format ?? ((v: number) => v.toFixed(0));
  const labelWidth = Math.max(format(opts.range.max).length, format(opts.range.min).length) + 1;
  // asciichart draws `offset` columns of axis after the label: label + ' ┤' = labelWidth + 2.
  const plotWidth = opts.width - labelWidth - 2;
  const finite = values.filter((v) => Number.isFinite(v));
  if (plotWidth < 4 || opts.height < 2 || finite.length === 0) return [];
  const series = lastN(finite, plotWidth).map((v) => Math.min(opts.range.max, Math.max(opts.range.min, v)));
  const text = asciichart.plot(series, {
    height: opts.height - 1, // asciichart draws height + 1 rows
    min: opts.range.min,
    max: opts.range.max,
    offset: 2,
    padding: ' '.repeat(labelWidth),
    format: (v: number) => format(v).padStart(labelWidth),
  });
  return text.split('\n').map((line) => line.padEnd(opts.width).slice(0, opts.width));
}
