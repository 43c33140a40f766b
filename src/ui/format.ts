// Short, fixed-width renderings of numbers for narrow panes.

const UNITS = ['B', 'K', 'M', 'G', 'T', 'P'] as const;

/** 1536 → "1.5K", 734003200 → "700M" (binary units, at most 4 characters plus the unit). */
export function formatBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes) || bytes < 0) return '?';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)}${UNITS[unit]}`;
}

/** Seconds → "45s", "12m", "3h12m", "4d3h". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  const d = Math.floor(h / 24);
  return `${d}d${h % 24}h`;
}

export function formatPercent(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '?';
  return value >= 10 || value === 0 ? `${Math.round(value)}%` : `${value.toFixed(1)}%`;
}

export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '?';
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 10_000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A horizontal bar of `width` cells for a ratio in [0,1] (clamped); unknown ratios are dotted. */
export function bar(ratio: number | null, width: number): string {
  if (width <= 0) return '';
  if (ratio === null || !Number.isFinite(ratio)) return '·'.repeat(width);
  const filled = Math.round(Math.min(1, Math.max(0, ratio)) * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** Wall-clock HH:MM:SS of an epoch-ms time, in UTC (how Odoo stamps its log lines by default). */
export function clockUtc(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** Local wall-clock HH:MM for the header (minutes are enough there, and cost one frame a minute). */
export function clockLocal(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** Seconds → "<1m", "12m", "3h12m", "4d3h": formatDuration at minute resolution. */
export function formatMinutes(seconds: number | null): string {
  if (seconds !== null && Number.isFinite(seconds) && seconds >= 0 && seconds < 60) return '<1m';
  return formatDuration(seconds);
}

/** Pads or cuts to exactly `width` characters (for ASCII table cells; free text uses Ink's truncate). */
export function cell(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (text.length > width) return width > 1 ? `${text.slice(0, width - 1)}…` : text.slice(0, width);
  return align === 'left' ? text.padEnd(width) : text.padStart(width);
}
