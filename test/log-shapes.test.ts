// Every log shape an admin has gives the same incidents as the plain --logfile: the real Odoo 18 logs
// of test/fixtures/logs, re-shaped here line by line the way each collector wraps them (docker
// compose, docker --timestamps, Kubernetes CRI with split lines, journalctl short/short-iso/
// short-precise/short-unix/cat/json, syslog, docker's json-file, TrueNAS's app log, CRLF, gzip), then scanned exactly
// as `detect` scans a file (the byte scanner for plain files, the decoded stream for the others).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseText } from '../src/engine/logs/parser.js';
import { loadPatterns, defaultPatternsDir } from '../src/engine/patterns/load.js';
import { Matcher } from '../src/engine/patterns/matcher.js';
import { scanSources } from '../src/engine/patterns/scan.js';
import type { LogRecord, OdooRecord, PostgresRecord, RawRecord } from '../src/engine/core/types.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const LOGS = join(FIXTURES, 'logs');
const tmp = mkdtempSync(join(tmpdir(), 'oh-shapes-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const matcher = new Matcher(loadPatterns(defaultPatternsDir()));
const NOW = Date.UTC(2026, 11, 1);

/** Lines of a fixture as the writer wrote them (the file's final newline ends the last line). */
function linesOf(file: string): string[] {
  const text = readFileSync(join(LOGS, file), 'utf8');
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

// A stamp that moves on per line, as a collector's would.
const BASE = Date.UTC(2026, 10, 28, 19, 53, 58);
const iso = (i: number): string => new Date(BASE + i * 1000).toISOString();
const isoNano = (i: number): string => `${iso(i).slice(0, -1)}123456Z`;
const short = (i: number, precise = false): string => {
  const d = new Date(BASE + i * 1000);
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()]!;
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${mon} ${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}${precise ? '.123456' : ''}`;
};

/** Each shape: how one line is wrapped (one line may become several, as CRI splits long lines). */
const SHAPES: Record<string, (line: string, i: number) => string[]> = {
  'compose v1 (name_1  | )': (l) => [`odoo_1  | ${l}`.trimEnd() === 'odoo_1  |' ? 'odoo_1  |' : `odoo_1  | ${l}`],
  'compose v2 (name-1  | )': (l) => [l === '' ? 'odoo-1  |' : `odoo-1  | ${l}`],
  'compose with --timestamps': (l, i) => [`web-1  | ${isoNano(i)} ${l}`],
  'docker logs --timestamps': (l, i) => [`${isoNano(i)} ${l}`],
  'Kubernetes CRI (long lines split P…F)': (l, i) => {
    const parts: string[] = [];
    for (let at = 0; at + 40 < l.length; at += 40) parts.push(`${isoNano(i)} stderr P ${l.slice(at, at + 40)}`);
    parts.push(`${isoNano(i)} stderr F ${l.slice(parts.length * 40)}`);
    return parts;
  },
  'journalctl -o short': (l, i) => [`${short(i)} srv odoo[8378]: ${l}`],
  'journalctl -o short-precise': (l, i) => [`${short(i, true)} srv odoo[8378]: ${l}`],
  'journalctl -o short-iso': (l, i) => [`${iso(i).slice(0, 19)}+0000 srv odoo[8378]: ${l}`],
  'journalctl -o short-iso-precise': (l, i) => [`${iso(i).slice(0, 19)}.123456+00:00 srv odoo[8378]: ${l}`],
  'journalctl -o short-unix': (l, i) => [`${(BASE + i * 1000) / 1000}.123456 srv odoo[8378]: ${l}`],
  'journalctl -o cat': (l) => [l],
  'TrueNAS app log (stamp glued to the line)': (l, i) => [`${iso(i).slice(0, 10)} ${iso(i).slice(11, 19)}.123456+00:00${l}`],
  'journalctl -o json (MESSAGE; every 3rd as bytes)': (l, i) => [
    JSON.stringify({
      __REALTIME_TIMESTAMP: String((BASE + i * 1000) * 1000),
      _HOSTNAME: 'srv',
      SYSLOG_IDENTIFIER: 'odoo',
      _PID: '8378',
      MESSAGE: i % 3 === 0 ? [...Buffer.from(l, 'utf8')] : l,
    }),
  ],
  'syslog RFC 3164 with PRI': (l, i) => [`<14>${short(i).replace(/ 0(\d) /, '  $1 ')} srv odoo[8378]: ${l}`],
  'syslog RFC 5424': (l, i) => [`<14>1 ${iso(i)} srv odoo 8378 - - ${l}`],
  "docker json-file driver": (l, i) => [JSON.stringify({ log: `${l}\n`, stream: 'stderr', time: `${iso(i).slice(0, -1)}123456789Z` })],
  'CRLF line endings': (l) => [`${l}\r`],
};

interface Seen {
  incidents: Array<{ fingerprint: string; count: number; sample: string }>;
  unmatched: { warning: number; error: number; critical: number };
}

async function scan(path: string): Promise<Seen> {
  const r = await scanSources([path], matcher, { now: () => NOW, parallelMinBytes: Infinity });
  expect(r.sources[0]!.error).toBeNull();
  return {
    incidents: r.book
      .list()
      .map((i) => ({ fingerprint: i.fingerprint, count: i.count, sample: i.sample?.exception ?? i.sample?.message ?? '' }))
      .sort((a, b) => a.fingerprint.localeCompare(b.fingerprint)),
    unmatched: r.unmatched,
  };
}

const files = readdirSync(LOGS).filter((f) => f.endsWith('.log'));

describe('the same log in any shape gives the same incidents', () => {
  it('has real logs to re-shape, with incidents among them', async () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    const withIncidents = await Promise.all(files.map(async (f) => (await scan(join(LOGS, f))).incidents.length));
    expect(withIncidents.filter((n) => n > 0).length).toBeGreaterThanOrEqual(8);
  });

  for (const [shape, wrap] of Object.entries(SHAPES)) {
    it(shape, async () => {
      for (const file of files) {
        const plain = await scan(join(LOGS, file));
        const lines = linesOf(file).flatMap((l, i) => wrap(l, i));
        const path = join(tmp, `${file}.${shape.replace(/\W+/g, '_')}`);
        writeFileSync(path, `${lines.join('\n')}\n`);
        const seen = await scan(path);
        expect({ file, ...seen }).toEqual({ file, ...plain });
      }
    });
  }

  it('gzip (rotated .gz, found by its magic bytes whatever its name), alone and re-shaped', async () => {
    for (const file of files) {
      const plain = await scan(join(LOGS, file));
      const gz = join(tmp, `${file}.2.gz`);
      writeFileSync(gz, gzipSync(readFileSync(join(LOGS, file))));
      expect({ file, ...(await scan(gz)) }).toEqual({ file, ...plain });
      const named = join(tmp, `${file}.rotated`);
      writeFileSync(named, gzipSync(`${linesOf(file).map((l) => `odoo-1  | ${l}`).join('\n')}\n`));
      expect({ file, ...(await scan(named)) }).toEqual({ file, ...plain });
    }
  });
});

describe('interleaved services each go to their own parser', () => {
  const pgLines = readFileSync(join(FIXTURES, 'postgres', 'pg15_stderr_debian_prefix.log'), 'utf8').trimEnd().split('\n');

  it('docker compose: Odoo and PostgreSQL lines interleaved line by line give Odoo the same incidents', async () => {
    for (const file of files) {
      const plain = await scan(join(LOGS, file));
      const odoo = linesOf(file);
      const mixed: string[] = [];
      for (let i = 0; i < Math.max(odoo.length, pgLines.length); i++) {
        if (i < odoo.length) mixed.push(`odoo-1  | ${odoo[i]}`);
        if (i < pgLines.length) mixed.push(`db-1    | ${pgLines[i]}`);
      }
      const path = join(tmp, `${file}.mixed`);
      writeFileSync(path, `${mixed.join('\n')}\n`);
      const seen = await scan(path);
      const odooOnly = seen.incidents.filter((i) => !i.fingerprint.startsWith('pg-'));
      expect({ file, incidents: odooOnly }).toEqual({ file, incidents: plain.incidents });
    }
  });

  it('no Odoo record takes in a PostgreSQL line, and PostgreSQL records keep their DETAIL lines', () => {
    const odoo = linesOf('db_connection_threaded.log');
    const mixed: string[] = [];
    for (let i = 0; i < odoo.length; i++) {
      mixed.push(`odoo-1  | ${odoo[i]}`);
      if (i < pgLines.length) mixed.push(`db-1    | ${pgLines[i]}`);
    }
    const records = parseText(mixed.join('\n'), 'c');
    const plain = parseText(odoo.join('\n'), 'p');
    const odooRecords = records.filter((r): r is OdooRecord => r.kind === 'odoo');
    expect(odooRecords.map((r) => r.lines)).toEqual(plain.filter((r) => r.kind === 'odoo').map((r) => r.lines));
    const pg = records.filter((r): r is PostgresRecord => r.kind === 'postgres');
    expect(pg.length).toBeGreaterThan(10);
    expect(records.flatMap((r) => (r.kind === 'postgres' ? [] : r.lines)).some((l) => / UTC \[\d+\] /.test(l))).toBe(false);
    const deadlock = pg.find((r) => r.message === 'deadlock detected')!;
    expect(deadlock.lines.some((l) => l.includes('HINT:  See server log for query details.'))).toBe(true);
    expect(deadlock.lines.some((l) => l.startsWith('\tProcess '))).toBe(true);
  });

  it('journald with several identifiers: each its own stream', () => {
    const odoo = linesOf('db_connection_threaded.log').slice(73, 103);
    const mixed: string[] = [];
    odoo.forEach((l, i) => {
      mixed.push(`Nov 28 19:54:00 srv odoo[8378]: ${l}`);
      mixed.push(`Nov 28 19:54:00 srv postgres[511]: ${pgLines[i % pgLines.length]}`);
    });
    const records = parseText(mixed.join('\n'), 'j');
    // (The slice ends with an empty line, which the wrapped text keeps: so does this.)
    const plain = parseText(`${odoo.join('\n')}\n`, 'p');
    expect(records.filter((r) => r.kind === 'odoo').map((r) => r.lines)).toEqual(plain.filter((r) => r.kind === 'odoo').map((r) => r.lines));
  });
});

describe('text pasted without any header', () => {
  /** A real traceback as Odoo logged it, without its header line: what a dialog or an email shows. */
  function bareTraceback(): string[] {
    const recs = parseText(readFileSync(join(LOGS, 'permission_denied_filestore.log'), 'utf8'), 'p');
    const withTb = recs.find((r): r is OdooRecord => r.kind === 'odoo' && r.exception !== null && r.lines.length > 5)!;
    return withTb.lines.slice(1);
  }

  it('a bare traceback is ONE record at ERROR with its exception', () => {
    const lines = bareTraceback();
    expect(lines[0]).toBe('Traceback (most recent call last):');
    const records = parseText(lines.join('\n'), '-');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ kind: 'raw', level: 'ERROR', exception: lines.at(-1) });
  });

  it("Odoo's error dialog text (title, traceback, then the client error) is ONE record at ERROR", () => {
    // The dialog's first lines verbatim from odoo/odoo#140242 (Odoo 17), then a real traceback and
    // the client part that Odoo 17/18 append.
    const text = [
      'RPC_ERROR',
      'Odoo Server Error',
      ...bareTraceback(),
      '',
      SERVER_TO_CLIENT,
      'RPC_ERROR: Odoo Server Error',
      '    RPCError@http://localhost:8069/web/assets/1/debug/web.assets_web.js:2816:19',
    ];
    const records = parseText(text.join('\n'), '-') as RawRecord[];
    expect(records).toHaveLength(1);
    expect(records[0]!.level).toBe('ERROR');
    expect(records[0]!.exception).toMatch(/^PermissionError: /);
  });

  it('detect on a bare traceback explains it like the logged record', async () => {
    const lines = bareTraceback();
    const path = join(tmp, 'pasted.txt');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const seen = await scan(path);
    expect(seen.incidents.map((i) => i.fingerprint.split('|')[0])).toEqual(['permission-denied']);
  });
});

const SERVER_TO_CLIENT = 'The above server error caused the following client error:';

describe('shapes pastes and exports give (held-out public logs, test/fixtures/public-logs)', () => {
  /** The real logged record with a traceback: header, frames, exception. */
  function loggedTraceback(): OdooRecord {
    const recs = parseText(readFileSync(join(LOGS, 'permission_denied_filestore.log'), 'utf8'), 'p');
    return recs.find((r): r is OdooRecord => r.kind === 'odoo' && r.exception !== null && r.lines.length > 5)!;
  }

  it("Synology's export (tab or markdown table, newest line first) still names the exception", async () => {
    const lines = loggedTraceback().lines.slice(1).reverse();
    for (const sep of ['\tstdout\t', ' | stdout | ']) {
      const path = join(tmp, `synology${sep.length}.txt`);
      writeFileSync(path, `${lines.map((l) => `2018-10-14 10:08:47${sep}${l}`).join('\n')}\n`);
      const seen = await scan(path);
      expect(seen.incidents.map((i) => i.fingerprint.split('|')[0])).toEqual(['permission-denied']);
    }
  });

  it('journald lines without the host name, indentation stripped, are still one Odoo record', () => {
    const rec = loggedTraceback();
    const text = rec.lines.map((l) => `Jun 08 04:19:17 odoo11[4673]: ${l.trimStart()}`).join('\n');
    const records = parseText(text, 'j');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ kind: 'odoo', level: rec.level, exception: rec.exception!.trimStart() });
  });

  it('a traceback pasted from its middle (frames, then the exception) is one record at ERROR', () => {
    const frames = loggedTraceback().lines.slice(2);
    const records = parseText(frames.join('\n'), '-');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ kind: 'raw', level: 'ERROR', exception: frames.at(-1) });
  });

  it('a dotted exception line alone (psycopg2.errors.X: ...) is an exception', () => {
    const records = parseText('psycopg2.errors.UndefinedTable: relation "ir_model" does not exist', '-');
    expect(records[0]!.exception).toMatch(/^psycopg2\.errors\.UndefinedTable: /);
  });

  it("a header behind markdown's quote or backtick, and Odoo.sh's log viewer line, are Odoo records", () => {
    const header = '2025-02-03 15:38:00,313 19191 ERROR ? odoo.sql_db: bad query: SELECT 1';
    for (const line of [`\`${header}`, `>  ${header}`]) {
      expect(parseText(line, 'q')[0]).toMatchObject({ kind: 'odoo', level: 'ERROR', logger: 'odoo.sql_db', message: 'bad query: SELECT 1' });
    }
    const sh = parseText('31/12/2025 07:14:59 | ERROR | server | Failed to load registry', 's')[0];
    expect(sh).toMatchObject({ kind: 'odoo', level: 'ERROR', logger: 'server', message: 'Failed to load registry' });
    expect(sh!.time).toBe(new Date(2025, 11, 31, 7, 14, 59).getTime());
    // A date-stamped line that is neither stays raw text.
    expect(parseText('31/12/2025 07:14:59 | NOTICE | server | hello', 's')[0]!.kind).toBe('raw');
  });
});

describe('a line is not taken for a wrapper it only resembles', () => {
  it('a plain log keeps `word  | text` continuation lines inside its record', () => {
    const text = [
      '2026-11-28 19:54:00,681 8378 INFO healdb odoo.models: table dump',
      'name  | value',
      'odoo  | 42',
    ].join('\n');
    const records = parseText(text, 'p') as LogRecord[];
    expect(records).toHaveLength(1);
    expect(records[0]!.lines).toHaveLength(3);
  });

  it('a psycopg2 DETAIL line inside an Odoo traceback stays in the Odoo record', () => {
    const text = [
      '2026-11-28 19:54:00,681 8378 ERROR healdb odoo.sql_db: bad query: INSERT',
      'psycopg2.errors.UniqueViolation: duplicate key value violates unique constraint "x_pkey"',
      'DETAIL:  Key (id)=(1) already exists.',
    ].join('\n');
    const records = parseText(text, 'p');
    expect(records).toHaveLength(1);
    expect(records[0]!.lines).toHaveLength(3);
  });

  it("PostgreSQL's `%m` prefix (a space before the zone) is not taken for TrueNAS's glued stamp", () => {
    const records = parseText('2024-01-01 10:00:00.123 UTC [1] LOG:  checkpoint starting: time', 'p', { postgres: true });
    expect(records).toHaveLength(1);
    expect(records[0]!.kind).toBe('postgres');
  });
});

describe("TrueNAS's app log: the collector's stamp glued to Odoo's header", () => {
  it('the real Odoo 19 lines of truenas/apps#5242 are Odoo records with their levels and loggers', () => {
    const text = readFileSync(join(FIXTURES, 'public-logs', 'truenas-apps-5242-startup-v19.log'), 'utf8');
    const records = parseText(text, 'p') as OdooRecord[];
    expect(records.map((r) => [r.kind, r.level, r.logger])).toEqual([
      ['odoo', 'WARNING', 'odoo.tools.config'],
      ['odoo', 'WARNING', 'odoo.tools.config'],
      ['odoo', 'INFO', 'odoo'],
      ['odoo', 'INFO', 'odoo'],
      ['odoo', 'INFO', 'odoo'],
      ['odoo', 'INFO', 'odoo'],
    ]);
    expect(records[2]!.message).toBe('Odoo version 19.0-20260619');
  });
});
