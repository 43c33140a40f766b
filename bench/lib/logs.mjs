// Builds big Odoo logs out of the REAL sample records in test/fixtures/logs: every record is kept
// byte for byte except its timestamp, which is rewritten to a fresh one. About 1 record in 100 is
// an error record (a record a pattern explains, or ERROR/CRITICAL, or a raw stderr traceback).
import { openSync, readdirSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { distImport, fixtures, patternsDir } from './dist.mjs';

/** `{ normal: string[][], error: string[][] }`: the sample records as arrays of lines. */
export async function sampleRecords() {
  const { parseText } = await distImport('engine/logs/parser.js');
  const { loadPatterns } = await distImport('engine/patterns/load.js');
  const { Matcher } = await distImport('engine/patterns/matcher.js');
  const matcher = new Matcher(loadPatterns(patternsDir));
  const dir = join(fixtures, 'logs');
  const normal = [];
  const error = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.log')).sort()) {
    const text = readFileSync(join(dir, name), 'utf8');
    for (const r of parseText(text, name)) {
      // A cut record (no final newline in the sample) keeps its lines; empty trailing lines go.
      const lines = r.lines.slice();
      while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
      const isError =
        matcher.match(r).length > 0 || r.kind === 'raw' || r.level === 'ERROR' || r.level === 'CRITICAL';
      (isError ? error : normal).push({ lines, stamped: r.kind === 'odoo' });
    }
  }
  return { normal, error };
}

const pad2 = (n) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** `YYYY-MM-DD HH:MM:SS,mmm` in UTC, Odoo's header format. */
export function odooStamp(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(
    d.getUTCMinutes(),
  )}:${pad2(d.getUTCSeconds())},${pad3(d.getUTCMilliseconds())}`;
}

/** The text of one record with its header time replaced (raw records have none). */
export function recordText(rec, timeMs) {
  const first = rec.stamped ? odooStamp(timeMs) + rec.lines[0].slice(23) : rec.lines[0];
  return rec.lines.length === 1 ? `${first}\n` : `${first}\n${rec.lines.slice(1).join('\n')}\n`;
}

/**
 * An endless, deterministic stream of records: normal ones in turn, and every `1/errorRate`-th
 * record an error one (also in turn, so every kind of incident shows up).
 */
export function recordStream(pool, errorRate = 0.01) {
  let i = 0;
  let n = 0;
  let e = 0;
  const every = Math.round(1 / errorRate);
  return () => {
    i++;
    if (i % every === 0) return { rec: pool.error[e++ % pool.error.length], error: true };
    return { rec: pool.normal[n++ % pool.normal.length], error: false };
  };
}

/** Writes about `targetBytes` of log to `path`, timestamps spread over the last `spanMs`. */
export async function buildLog(path, targetBytes, { errorRate = 0.01, spanMs = 24 * 3600_000 } = {}) {
  const pool = await sampleRecords();
  const next = recordStream(pool, errorRate);
  // Average record size decides how many records fit, hence the time step between them.
  const avg = [...pool.normal, ...pool.error].reduce((n, r) => n + recordText(r, 0).length, 0) / (pool.normal.length + pool.error.length);
  const estRecords = Math.ceil(targetBytes / avg);
  const end = Date.now();
  const start = end - spanMs;
  const step = spanMs / estRecords;
  const fd = openSync(path, 'w');
  let bytes = 0;
  let records = 0;
  let errors = 0;
  let lines = 0;
  let chunk = [];
  let chunkBytes = 0;
  try {
    while (bytes < targetBytes) {
      const { rec, error } = next();
      const text = recordText(rec, Math.min(end, start + records * step));
      chunk.push(text);
      chunkBytes += Buffer.byteLength(text);
      bytes += Buffer.byteLength(text);
      records++;
      lines += rec.lines.length;
      if (error) errors++;
      if (chunkBytes > 1 << 20) {
        writeSync(fd, chunk.join(''));
        chunk = [];
        chunkBytes = 0;
      }
    }
    if (chunk.length) writeSync(fd, chunk.join(''));
  } finally {
    closeSync(fd);
  }
  return { path, bytes, records, errorRecords: errors, lines };
}
