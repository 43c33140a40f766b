// The byte scanner (src/engine/patterns/scan-file.ts) must give exactly what the decoded-text path
// gives: same records for everything it builds, same counts, same incidents. Checked on the real
// fixtures and on input built to hit its edges (CRLF, journald prefixes, over-long lines, a line
// longer than the buffer, invalid UTF-8, chunk boundaries everywhere), on two threads, and fed in
// pieces as gunzip hands them out.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentBook } from '../src/engine/incidents/incidents.js';
import { odooHeaderLevel } from '../src/engine/logs/header-bytes.js';
import { parseOdooHeader } from '../src/engine/logs/parser.js';
import { readRecords } from '../src/engine/logs/read-records.js';
import { LiteralScanner } from '../src/engine/patterns/literal-scanner.js';
import { defaultPatternsDir, loadPatterns } from '../src/engine/patterns/load.js';
import { Matcher } from '../src/engine/patterns/matcher.js';
import { scanSources, type ScanOptions } from '../src/engine/patterns/scan.js';
import { scanChunks, scanPlan, scanRange, type ScanLimits } from '../src/engine/patterns/scan-file.js';
import { Tally } from '../src/engine/patterns/scan-tally.js';
import { UnclassifiedGrouper } from '../src/engine/unclassified/grouper.js';
import { isUnclassifiedCandidate } from '../src/engine/incidents/signature.js';
import { LEVELS, type LogRecord, type Pattern } from '../src/engine/core/types.js';

const ROOT = join(import.meta.dirname, '..');
const LOGS = join(ROOT, 'test', 'fixtures', 'logs');
const tmp = mkdtempSync(join(tmpdir(), 'oh-scan-bytes-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const fixtures = readdirSync(LOGS)
  .filter((n) => n.endsWith('.log'))
  .sort()
  .map((n) => readFileSync(join(LOGS, n)));
const allFixtures = Buffer.concat(fixtures);
const bundled = loadPatterns(defaultPatternsDir());

/** Deterministic pseudo-random numbers (the test must fail the same way every time). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function file(name: string, bytes: Buffer | string): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

describe('odooHeaderLevel', () => {
  const same = (line: string): void => {
    const want = parseOdooHeader(line, 0);
    const b = Buffer.from(line, 'utf8');
    expect(odooHeaderLevel(b, 0, b.length), JSON.stringify(line)).toBe(want ? LEVELS.indexOf(want.level) : -1);
  };

  it('accepts exactly the lines parseOdooHeader accepts, on every fixture line', () => {
    for (const line of allFixtures.toString('utf8').split('\n')) same(line);
  });

  it('agrees on mutated and cut header lines', () => {
    const headers = allFixtures
      .toString('utf8')
      .split('\n')
      .filter((l) => parseOdooHeader(l, 0));
    const swaps = ['0', '9', '1', '3', ' ', '-', ':', ',', 'a', '\r', '\t', 'é', '\u00a0', '?', 'I', 'E'];
    const rand = rng(7);
    for (const h of headers.slice(0, 200)) {
      for (let i = 0; i < Math.min(h.length, 70); i++) {
        same(h.slice(0, i));
        same(h.slice(0, i) + swaps[Math.floor(rand() * swaps.length)]! + h.slice(i + 1));
        same(h.slice(0, i) + h.slice(i + 1));
      }
    }
    for (const odd of ['2026-13-28 19:59:44,307 1 INFO d l: m', '2026-11-28 24:59:44,307 1 INFO d l: m', '2026-11-28 19:59:61,307 1 INFO d l: m', '2026-11-28 19:59:60,307 1 INFO d l: m', '2026-11-00 19:59:44,307 1 INFO d l: m', '2026-11-28 19:59:44,307 1 INFO  l: m', '2026-11-28 19:59:44,307 1 INFO d  l: m', '2026-11-28 19:59:44,307 1 INFO d :: m', '2026-11-28 19:59:44,307 1 INFO d l:x: m', '2026-11-28 19:59:44,307 1 INFOd l: m', '2026-11-28 19:59:44,307 INFO d l: m']) {
      same(odd);
    }
  });
});

describe('LiteralScanner', () => {
  it('finds every occurrence, overlapping ones and ones at the buffer edges included', () => {
    const lits = ['abcab', 'bcabx', 'zzz', 'ünï'];
    const scanner = LiteralScanner.build(lits)!;
    const rand = rng(3);
    const alphabet = ['a', 'b', 'c', 'x', 'z', 'ü', 'n', 'ï'];
    for (let t = 0; t < 300; t++) {
      const text = Array.from({ length: Math.floor(rand() * 60) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
      const b = Buffer.from(text, 'utf8');
      const want: number[] = [];
      for (let i = 0; i < b.length; i++) for (const l of lits) if (b.subarray(i).indexOf(Buffer.from(l)) === 0) want.push(i);
      const got: number[] = [];
      scanner.findAll(b, 0, b.length, got);
      expect(got, text).toEqual(want);
    }
    expect(LiteralScanner.build(['x'])).toBeNull();
  });
});

/** Records as the decoded-text path builds them. */
async function referenceRecords(path: string): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const r of readRecords(path)) out.push(r);
  return out;
}

/** A tally that keeps every record it is given (unclassified incidents on, as scanSources has them). */
function collectingTally(matcher: Matcher, since: number | null = null): { built: LogRecord[]; tally: Tally } {
  const built: LogRecord[] = [];
  class Collecting extends Tally {
    override record(r: LogRecord): void {
      built.push(r);
      super.record(r);
    }
  }
  return { built, tally: new Collecting(matcher, new IncidentBook(), { since, now: () => 0, grouper: new UnclassifiedGrouper() }) };
}

/** Runs the byte scanner over `path`, collecting every record it builds. */
function byteScan(path: string, matcher: Matcher, limits?: ScanLimits, since: number | null = null): { built: LogRecord[]; tally: Tally; lines: number } {
  const { built, tally } = collectingTally(matcher, since);
  const fd = openSync(path, 'r');
  try {
    const lines = scanRange(fd, 0, Infinity, path, scanPlan(matcher, true), tally, limits);
    return { built, tally, lines };
  } finally {
    closeSync(fd);
  }
}

/** The byte scanner builds records identical to the reference ones and skips only one-line Odoo
 * records that no pattern matches; counts and incidents are the reference's. */
async function expectSameAsReference(path: string, matcher: Matcher, limits?: ScanLimits): Promise<number> {
  const ref = await referenceRecords(path);
  const { built, tally, lines } = byteScan(path, matcher, limits);
  const refByLine = new Map(ref.map((r) => [r.line, r]));
  for (const r of built) expect(r).toEqual(refByLine.get(r.line));
  const builtLines = new Set(built.map((r) => r.line));
  for (const r of ref) {
    if (builtLines.has(r.line)) continue;
    expect(r.kind === 'odoo' && r.lines.length === 1, `line ${r.line} not built`).toBe(true);
    expect(matcher.match(r), `line ${r.line} skipped but matches`).toEqual([]);
    expect(isUnclassifiedCandidate(r), `line ${r.line} skipped but is an unclassified error`).toBe(false);
  }
  expect(lines).toBe(ref.reduce((n, r) => Math.max(n, r.line + r.lines.length - 1), 0));
  const legacy = await scanSources([path], matcher, { now: () => 0, onRecord: () => {} });
  expect(tally.records).toBe(legacy.sources[0]!.records);
  expect(tally.unmatched).toEqual(legacy.unmatched);
  expect(tally.book.list()).toEqual(legacy.book.list());
  // The fixtures hold unexplained errors: the fast path must group them exactly as the slow one.
  return legacy.book.list().filter((i) => i.origin.kind === 'unclassified').length;
}

/** A log with every edge the byte scanner has to get right. */
function edgeLog(): Buffer {
  const text = allFixtures.toString('utf8');
  const lines = text.split('\n');
  const header = '2026-11-28 19:54:00,681 8378 INFO healdb odoo.sql_db: ';
  const parts: (string | Buffer)[] = [
    text,
    // CRLF lines, a journald-wrapped stretch, raw starters right after an Odoo record.
    `${lines.slice(0, 40).join('\r\n')}\r\n`,
    `${lines.slice(200, 260).map((l) => `2026-11-28T19:54:00+0000 srv odoo[8378]: ${l}`).join('\n')}\n`,
    `${header}Connection to the database failed\nException in thread odoo.service.cron.cron9:\nTraceback (most recent call last):\n  File "x.py", line 1, in y\nMemoryError\n`,
    // Over-long lines (cut at MAX_LINE_CHARS by the parser), with a literal before and after the cut.
    `${header}Connection to the database failed ${'x'.repeat(70_000)}\n`,
    `${header}${'é'.repeat(40_000)} Connection to the database failed\n`,
    `${header}plain\n${'y'.repeat(70_000)}\n`,
    // Invalid UTF-8 and NULs inside and between records; a header made invalid by a byte.
    Buffer.from([0xc3, 0x0a, 0xff, 0xfe, 0x00, 0x0a]),
    `${header.replace('19:54', '19:5\u00e9')}Connection to the database failed\n`,
    `${header}Connection to the database failed\u0000\n`,
    `${'2026-11-28 19:54:00,681 8378 WARNING healdb odoo.x: '}multi\ncontinued line with ') timeout after '\n`,
    // Last line without a newline.
    `${header}Connection to the database failed`,
  ];
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
}

describe('byte scanner', () => {
  const matcher = new Matcher(bundled);

  it('gives the reference records, counts and incidents on every fixture', async () => {
    let unclassified = 0;
    for (const name of readdirSync(LOGS)) unclassified += await expectSameAsReference(join(LOGS, name), matcher);
    expect(unclassified).toBeGreaterThanOrEqual(4);
  });

  it('gives the reference result on the edge log, with chunk boundaries everywhere', async () => {
    const path = file('edge.log', edgeLog());
    await expectSameAsReference(path, matcher);
    for (const chunkBytes of [37, 101, 4096]) {
      await expectSameAsReference(path, matcher, { chunkBytes, maxBufferBytes: 1 << 20 });
    }
    // A line longer than the buffer may grow: the rest goes down the decoded-text path.
    await expectSameAsReference(path, matcher, { chunkBytes: 64, maxBufferBytes: 1024 });
  });

  it('builds every one-line record of a level whose patterns have no literal, and honours odd literals', async () => {
    const base = { title: 't', severity: 'warning' as const, category: 'other' as const, hint: 'h', fingerprint: [] as string[] };
    const custom: Pattern[] = [
      { ...base, id: 'any-info', match: { levels: ['INFO'], message: '^\\S+ \\S+$' } },
      { ...base, id: 'nl', match: { record: 'werkzeug: 127\\.0\\.0\\.1\\n' } },
      // A literal with U+FFFD cannot be looked for in bytes (it also stands for invalid bytes).
      { ...base, id: 'fffd', match: { levels: ['INFO'], message: '\uFFFD\uFFFD' } },
      ...bundled,
    ];
    const m = new Matcher(custom);
    expect(m.oneLinePrefilter().every).toEqual([false, true, false, false, false]);
    await expectSameAsReference(file('edge2.log', edgeLog()), m, { chunkBytes: 4096, maxBufferBytes: 1 << 20 });
  });

  it('applies --since to records it does not build', async () => {
    const path = join(LOGS, 'too_many_db_connections.log');
    const ref = await referenceRecords(path);
    const since = ref[Math.floor(ref.length / 2)]!.time!;
    const opts: ScanOptions = { since, now: () => 0 };
    const fast = await scanSources([path], matcher, opts);
    const legacy = await scanSources([path], matcher, { ...opts, onRecord: () => {} });
    expect(fast.sources).toEqual(legacy.sources);
    expect(fast.sources[0]!.skipped).toBeGreaterThan(0);
    expect(fast.unmatched).toEqual(legacy.unmatched);
    expect(fast.book.list()).toEqual(legacy.book.list());
  });
});

describe('the byte scanner fed in pieces (what gunzip hands out)', () => {
  const matcher = new Matcher(bundled);

  /** `bytes` cut at random offsets, pieces of 1 to `max` bytes: the cut offsets too. */
  function pieces(bytes: Buffer, max: number, seed: number): { parts: Buffer[]; cuts: number[] } {
    const rand = rng(seed);
    const parts: Buffer[] = [];
    const cuts: number[] = [];
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + Math.floor(rand() * max);
      parts.push(bytes.subarray(at, at + n));
      at += n;
      cuts.push(at);
    }
    return { parts, cuts };
  }

  async function* yielded(parts: Buffer[]): AsyncGenerator<Buffer> {
    for (const p of parts) yield p;
  }

  it('builds the records, counts and incidents scanRange builds from the file, records cut across pieces included', async () => {
    const bytes = edgeLog();
    const path = file('pieces.log', bytes);
    // Byte offset where each line starts (line numbers count from 1).
    const lineStart = [0, 0];
    for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) lineStart.push(i + 1);
    for (const [limits, max, seed] of [
      [undefined, 70_000, 1],
      [{ chunkBytes: 4096, maxBufferBytes: 1 << 20 }, 9000, 2],
      [{ chunkBytes: 101, maxBufferBytes: 1 << 20 }, 300, 3],
      // A line longer than the buffer may grow: the rest goes down the decoded-text path.
      [{ chunkBytes: 64, maxBufferBytes: 1024 }, 50, 4],
    ] as const) {
      const want = byteScan(path, matcher, limits);
      const { parts, cuts } = pieces(bytes, max, seed);
      const got = collectingTally(matcher);
      const lines = await scanChunks(yielded(parts), { source: path, plan: scanPlan(matcher, true), tally: got.tally, limits });
      expect(got.built).toEqual(want.built);
      expect(lines).toBe(want.lines);
      expect(got.tally.records).toBe(want.tally.records);
      expect(got.tally.unmatched).toEqual(want.tally.unmatched);
      expect(got.tally.book.list()).toEqual(want.tally.book.list());
      // The case that matters: a traceback whose lines arrived in different pieces.
      const split = got.built.filter((r) => r.lines.length > 2 && cuts.some((c) => c > lineStart[r.line]! && c < lineStart[r.line + r.lines.length - 1]!));
      expect(split.length, `limits ${JSON.stringify(limits)}`).toBeGreaterThan(0);
    }
  });

  it('a real log gzipped gives what the plain file gives through detect (scanSources)', async () => {
    const plainPath = file('all.log', allFixtures);
    const gzPath = file('all.log.1.gz', gzipSync(allFixtures));
    const opts: ScanOptions = { now: () => 0, parallelMinBytes: Infinity };
    const plain = await scanSources([plainPath], matcher, opts);
    const gz = await scanSources([gzPath], matcher, opts);
    expect(gz.sources.map((x) => ({ ...x, path: '' }))).toEqual(plain.sources.map((x) => ({ ...x, path: '' })));
    expect(gz.unmatched).toEqual(plain.unmatched);
    const strip = (r: typeof plain): unknown =>
      r.book.list().map((i) => ({ ...i, sample: i.sample ? { ...i.sample, source: '' } : i.sample, sources: undefined }));
    expect(strip(gz)).toEqual(strip(plain));
    expect(gz.book.list().length).toBeGreaterThan(5);
  });

  it('a cut archive: the records read before the cut count, and the source says why it stopped', async () => {
    const whole = gzipSync(allFixtures);
    const cut = file('cut.log.gz', whole.subarray(0, Math.floor(whole.length / 2)));
    const r = await scanSources([cut], matcher, { now: () => 0 });
    expect(r.sources[0]!.error).toMatch(/gzip: unexpected end of file/);
    expect(r.sources[0]!.records).toBeGreaterThan(100);
    expect(r.book.list().length).toBeGreaterThan(0);
  });
});

describe('scan on two threads (built worker)', () => {
  const dist = join(ROOT, 'dist');
  const sources = [
    ...['scan.ts', 'scan-file.ts', 'scan-parallel.ts', 'scan-worker.ts', 'scan-tally.ts', 'matcher.ts', 'literal-scanner.ts', 'regex-tools.ts'].map((f) => `patterns/${f}`),
    'logs/header-bytes.ts',
    'logs/parser.ts',
    'logs/read-records.ts',
    'incidents/incidents.ts',
  ].map((f) => [join(ROOT, 'src/engine', f), join(dist, 'engine', f.replace(/\.ts$/, '.js'))]);
  beforeAll(() => {
    const stale = sources.some(([src, out]) => !existsSync(out!) || statSync(src!).mtimeMs > statSync(out!).mtimeMs);
    // Other areas may not compile yet; tsc still emits, so its exit code is ignored.
    if (stale) spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
  }, 120_000);

  it('merges the worker half into the same counts and incidents, sample line numbers included', async () => {
    const mod = (rel: string) => import(pathToFileURL(join(dist, rel)).href);
    const { scanSources: distScan } = (await mod('engine/patterns/scan.js')) as typeof import('../src/engine/patterns/scan.js');
    const { Matcher: DistMatcher } = (await mod('engine/patterns/matcher.js')) as typeof import('../src/engine/patterns/matcher.js');
    const m = new DistMatcher(bundled);
    // Repeated so that every pattern has matches in both halves, wherever the split falls.
    const path = file('twice.log', Buffer.concat([edgeLog(), Buffer.from('\n'), allFixtures, edgeLog(), Buffer.from('\n'), allFixtures]));
    const { splitPoint } = (await mod('engine/patterns/scan-parallel.js')) as typeof import('../src/engine/patterns/scan-parallel.js');
    const fd = openSync(path, 'r');
    expect(splitPoint(fd, statSync(path).size, path)).toBeGreaterThan(0); // the worker does get a half
    closeSync(fd);
    const two = await distScan([path, join(LOGS, 'worker_limit_time.log')], m, { now: () => 5, parallelMinBytes: 1 });
    const one = await distScan([path, join(LOGS, 'worker_limit_time.log')], m, { now: () => 5, onRecord: () => {} });
    expect(two.sources).toEqual(one.sources);
    expect(two.unmatched).toEqual(one.unmatched);
    expect(JSON.parse(JSON.stringify(two.book.list()))).toEqual(JSON.parse(JSON.stringify(one.book.list())));
    expect(one.book.list().some((i) => (i.sample?.line ?? 0) > 2000)).toBe(true);
  });
});
