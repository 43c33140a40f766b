// The bundled real Odoo 18 logs (demo-data/logs) as records, and the two changes the replay makes to
// them: a fresh timestamp in Odoo's exact format, and the paths/port of the machine they were recorded
// on (/tmp/realodoo, PostgreSQL 127.0.0.1:55432) swapped for the sandbox's. Nothing else is altered:
// pid, level, database, logger and message text stay byte for byte what Odoo wrote.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** One Odoo log record: its header line and the continuation lines (traceback, multi-line message). */
export interface ReplayRecord {
  lines: string[];
}

/** demo-data/ at the package root (same depth from src/demo and dist/demo). */
export function demoDataDir(): string {
  return fileURLToPath(new URL('../../demo-data/', import.meta.url));
}

export type BundledLog =
  | 'baseline_threaded_server'
  | 'cron_deprecated_field'
  | 'db_connection_threaded'
  | 'permission_denied_filestore'
  | 'disk_full_filestore';

// `2026-11-28 19:52:31,146 ` — Odoo's asctime with milliseconds after a comma.
const HEADER = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} /;

/** Splits log text into records: a line with Odoo's timestamp starts one, every other line continues it. */
export function splitRecords(text: string): ReplayRecord[] {
  const out: ReplayRecord[] = [];
  for (const line of text.split('\n')) {
    if (HEADER.test(line) || out.length === 0) out.push({ lines: [line] });
    else out[out.length - 1]!.lines.push(line);
  }
  // The file's final newline leaves one empty continuation line.
  const last = out[out.length - 1];
  if (last && last.lines.length > 1 && last.lines[last.lines.length - 1] === '') last.lines.pop();
  if (last && last.lines.length === 1 && last.lines[0] === '') out.pop();
  return out;
}

const cache = new Map<BundledLog, ReplayRecord[]>();

export function loadBundledLog(name: BundledLog, dir = demoDataDir()): ReplayRecord[] {
  let records = cache.get(name);
  if (!records) {
    const path = join(dir, 'logs', `${name}.log`);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`demo data missing: ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    records = splitRecords(text);
    cache.set(name, records);
  }
  return records;
}

export function recordText(r: ReplayRecord): string {
  return r.lines.join('\n');
}

/** Index of the first record whose text contains `needle` (throws: the bundled data is fixed). */
export function findRecord(records: readonly ReplayRecord[], needle: string | RegExp, from = 0): number {
  for (let i = from; i < records.length; i++) {
    const t = recordText(records[i]!);
    if (typeof needle === 'string' ? t.includes(needle) : needle.test(t)) return i;
  }
  throw new Error(`demo data: no record matching ${String(needle)}`);
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Odoo's asctime: `YYYY-MM-DD HH:MM:SS,mmm` (UTC, as the sample logs and odoo-heal's parser use). */
export function odooTimestamp(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())},${pad(d.getUTCMilliseconds(), 3)}`
  );
}

/** werkzeug's access-log time inside the message: `28/Nov/2026 19:52:36`. */
export function werkzeugTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

const WERKZEUG_TIME = /\[\d{2}\/[A-Z][a-z]{2}\/\d{4} \d{2}:\d{2}:\d{2}\]/;

/** Text replacements applied to every replayed line (recorded machine → sandbox). */
export type Rewrites = ReadonlyArray<readonly [from: string, to: string]>;

export function rewriteLine(line: string, rewrites: Rewrites): string {
  let out = line;
  for (const [from, to] of rewrites) if (from !== to) out = out.split(from).join(to);
  return out;
}

/** The record as it would be written now: fresh header time (and werkzeug time), sandbox paths. */
export function restamp(record: ReplayRecord, now: number, rewrites: Rewrites): string[] {
  return record.lines.map((line, i) => {
    let out = rewriteLine(line, rewrites);
    if (i === 0 && HEADER.test(out)) {
      out = odooTimestamp(now) + out.slice(23);
      out = out.replace(WERKZEUG_TIME, `[${werkzeugTimestamp(now)}]`);
    }
    return out;
  });
}
