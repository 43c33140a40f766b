// Small numeric and formatting helpers shared by the benches.
import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  // Nearest-rank: the smallest value with at least p% of the samples at or below it.
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export const median = (values) => percentile(values, 50);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or the deadline passes; returns the value or null. */
export async function waitFor(fn, { timeoutMs = 10_000, everyMs = 10 } = {}) {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (performance.now() > until) return null;
    await sleep(everyMs);
  }
}

export function machine() {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1].trim();
  } catch {
    /* not Linux */
  }
  let load = '';
  try {
    load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    /* not Linux */
  }
  return {
    nproc: cpus().length,
    cpu: model,
    ramGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    date: new Date().toISOString(),
    loadavg: load,
  };
}

/** `met` / `NOT met` for a figure against a ceiling. */
export function verdict(value, max) {
  return Number.isFinite(value) && value <= max ? 'met' : 'NOT met';
}

export const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

/** Prints rows as aligned columns. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map(String));
  const w = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
}

/** Prints a bench result: its figures, then each target with met / NOT met. */
export function printResult(result) {
  console.log(`\n== ${result.title}`);
  for (const line of result.lines ?? []) console.log(`  ${line}`);
  if (result.checks?.length) {
    console.log(
      table(
        ['  target', 'measured', 'limit', 'verdict'],
        result.checks.map((c) => [`  ${c.name}`, c.value, c.limit, c.met ? 'met' : 'NOT met']),
      ),
    );
  }
  for (const n of result.notes ?? []) console.log(`  note: ${n}`);
}

/** A target check row: `value` is a number compared with `max` (or `min` when given). */
export function check(name, value, { max, min, unit = '', digits = 1 }) {
  const met = Number.isFinite(value) && (max === undefined || value <= max) && (min === undefined || value >= min);
  const limit = max !== undefined ? `<= ${max}${unit}` : `>= ${min}${unit}`;
  return { name, value: `${fmt(value, digits)}${unit}`, limit, met, raw: value };
}

/** True when the module at `url` is the script node was started with. */
export function isMain(url) {
  return process.argv[1] !== undefined && new URL(url).pathname === process.argv[1];
}
