// The byte scanner's WebAssembly kernel (src/engine/patterns/kernel/scan-kernel.c) must do exactly
// what the JS line loop does: same header verdicts, same records built (in the same order, with the
// same line numbers), same counts and incidents — on the fixtures and on input built to hit its
// edges. And the committed module must be the one built from the committed C source.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IncidentBook } from '../src/engine/incidents/incidents.js';
import { odooHeaderLevel } from '../src/engine/logs/header-bytes.js';
import { MAX_LINE_CHARS } from '../src/engine/logs/parser.js';
import { defaultPatternsDir, loadPatterns } from '../src/engine/patterns/load.js';
import { Matcher } from '../src/engine/patterns/matcher.js';
import { scanPlan, scanRange, type LineLoopKind, type ScanLimits } from '../src/engine/patterns/scan-file.js';
import { ScanKernel } from '../src/engine/patterns/scan-kernel.js';
import { clangVersion, compileKernel, kernelSourceHash, kernelSourcePath } from '../src/engine/patterns/scan-kernel-build.js';
import { KERNEL_COMPILER, KERNEL_SOURCE_SHA256, KERNEL_WASM_BASE64 } from '../src/engine/patterns/scan-kernel.generated.js';
import { Tally } from '../src/engine/patterns/scan-tally.js';
import type { LogRecord, Pattern } from '../src/engine/core/types.js';
import { ensureBuilt } from './helpers/cli.js';

const ROOT = join(import.meta.dirname, '..');
const LOGS = join(ROOT, 'test', 'fixtures', 'logs');
const tmp = mkdtempSync(join(tmpdir(), 'oh-scan-kernel-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const fixtureNames = readdirSync(LOGS).sort();
const allFixtures = Buffer.concat(fixtureNames.filter((n) => n.endsWith('.log')).map((n) => readFileSync(join(LOGS, n))));
const bundled = loadPatterns(defaultPatternsDir());
const matcher = new Matcher(bundled);

/** Deterministic pseudo-random numbers (a failure must repeat). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('generated kernel module', () => {
  it('is up to date with kernel/scan-kernel.c and its build flags (regenerate: npm run build:kernel)', () => {
    expect(KERNEL_SOURCE_SHA256).toBe(kernelSourceHash(readFileSync(kernelSourcePath(), 'utf8')));
  });

  // Byte for byte only with the compiler that made it (another clang emits other, equivalent code).
  const local = clangVersion();
  it.skipIf(local !== KERNEL_COMPILER)(`is what ${KERNEL_COMPILER} builds from the source`, () => {
    expect(compileKernel().toString('base64')).toBe(KERNEL_WASM_BASE64);
  });
});

/** The JS loop's verdict on a line (scan-file.ts headerLevel). */
function jsLevel(b: Buffer, end: number): number {
  if (end > MAX_LINE_CHARS) return -1;
  const lv = odooHeaderLevel(b, 0, end);
  return lv >= 0 && b[end - 1] !== 13 ? lv : -1;
}

describe('kernel header check', () => {
  const kernel = ScanKernel.create([], [false, false, false, false, false], MAX_LINE_CHARS)!;
  const junk = [Buffer.alloc(0), Buffer.from('\n'), Buffer.from(' x: y ERROR \n2026-11-28 19:59:44,307 1 '), Buffer.from('0123456789'.repeat(8)), Buffer.from(': : : ')];
  const same = (line: string | Buffer, after = 0): void => {
    const b = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
    const withJunk = Buffer.concat([b, junk[after % junk.length]!]);
    const want = jsLevel(withJunk, b.length);
    // Twice: the kernel remembers the last stamp minute it found valid, and must not remember a bad one.
    expect(kernel.lineLevel(withJunk, b.length), JSON.stringify(b.toString('latin1'))).toBe(want);
    expect(kernel.lineLevel(withJunk, b.length), `${JSON.stringify(b.toString('latin1'))} again`).toBe(want);
  };

  it('agrees with odooHeaderLevel on every fixture line, whatever follows the line', () => {
    allFixtures
      .toString('utf8')
      .split('\n')
      .forEach((line, k) => same(line, k));
  });

  it('agrees on mutated, cut and stretched header lines', () => {
    const headers = allFixtures
      .toString('utf8')
      .split('\n')
      .filter((l) => odooHeaderLevel(Buffer.from(l), 0, Buffer.byteLength(l)) >= 0);
    const swaps = ['0', '9', '1', '2', '3', '5', '6', ' ', '-', ':', ',', 'a', '\r', '\t', 'é', '\u00a0', '?', 'I', 'E', 'C', 'W', 'D', '/', '\x00', '\xff'];
    const rand = rng(11);
    let n = 0;
    for (const h of headers.slice(0, 300)) {
      for (let i = 0; i < Math.min(h.length, 80); i++) {
        same(h.slice(0, i), n++);
        same(h.slice(0, i) + swaps[Math.floor(rand() * swaps.length)]! + h.slice(i + 1), n++);
        same(h.slice(0, i) + h.slice(i + 1), n++);
        same(`${h.slice(0, i)}${swaps[Math.floor(rand() * swaps.length)]!}${h.slice(i)}`, n++);
      }
      same(`${h}\r`, n++);
    }
    const stamp = '2026-11-28 19:59:44,307';
    const odd = [
      // Every boundary of every stamp field.
      ...['00', '01', '09', '10', '12', '13', '19', '20', '99'].map((mo) => `2026-${mo}-28 19:59:44,307 1 INFO d l: m`),
      ...['00', '01', '29', '30', '31', '32', '39', '40'].map((d) => `2026-11-${d} 19:59:44,307 1 INFO d l: m`),
      ...['00', '09', '19', '20', '23', '24', '29', '30'].map((h) => `2026-11-28 ${h}:59:44,307 1 INFO d l: m`),
      ...['00', '59', '60', '69'].map((mi) => `2026-11-28 19:${mi}:44,307 1 INFO d l: m`),
      ...['00', '59', '60', '61', '69', '70'].map((se) => `2026-11-28 19:59:${se},307 1 INFO d l: m`),
      // Level words whole, cut, at the end of the line, followed by other bytes.
      ...['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'].flatMap((w) => [
        `${stamp} 1 ${w} d l: m`,
        `${stamp} 1 ${w}  l: m`,
        `${stamp} 1 ${w}x d l: m`,
        `${stamp} 1 ${w.slice(0, -1)} d l: m`,
        `${stamp} 1 ${w} d l:`,
        `${stamp} 1 ${w} d l: `,
        `${stamp} 1 ${w} d :: m`,
        `${stamp} 123456 ${w}`,
        `${stamp} 123456 ${w} `,
        `${stamp} 1 ${w.toLowerCase()} d l: m`,
      ]),
      // PIDs and names longer than a vector, spaces and colons in odd places.
      `${stamp} ${'7'.repeat(15)} INFO d l: m`,
      `${stamp} ${'7'.repeat(16)} INFO d l: m`,
      `${stamp} ${'7'.repeat(17)} INFO d l: m`,
      `${stamp} ${'7'.repeat(40)} INFO d l: m`,
      `${stamp} ${'7'.repeat(40)}`,
      `${stamp} 1 INFO ${'d'.repeat(31)} l: m`,
      `${stamp} 1 INFO ${'d'.repeat(32)} l: m`,
      `${stamp} 1 INFO ${'d'.repeat(33)} ${'l'.repeat(70)}: m`,
      `${stamp} 1 INFO ${'d'.repeat(100)}`,
      `${stamp} 1 INFO d ${'l'.repeat(100)}:`,
      `${stamp} 1 INFO d l:x: m`,
      `${stamp} 1 INFO d l : m`,
      `${stamp} 1 INFO d a:: m`,
      `${stamp} 1 INFO d : m`,
      `${stamp} 1 INFO d a: m`,
      `${stamp}  1 INFO d l: m`,
      `${stamp} INFO d l: m`,
      `${stamp}1 INFO d l: m`,
    ];
    odd.forEach((l, k) => {
      for (let j = 0; j < junk.length; j++) same(l, k + j);
    });
  });

  it('leaves over-long lines to the parser, exactly at its limit', () => {
    const h = '2026-11-28 19:59:44,307 8378 INFO healdb odoo.x: ';
    for (const len of [MAX_LINE_CHARS - 1, MAX_LINE_CHARS, MAX_LINE_CHARS + 1]) same(h + 'x'.repeat(len - h.length));
  });
});

/** Everything one run of the byte scanner gives: records built (in order), lines, counts, incidents. */
function scan(path: string, m: Matcher, loop: LineLoopKind, limits?: ScanLimits): unknown {
  const built: LogRecord[] = [];
  class Collecting extends Tally {
    override record(r: LogRecord): void {
      built.push(r);
      super.record(r);
    }
  }
  const tally = new Collecting(m, new IncidentBook(), { since: null, now: () => 0 });
  const fd = openSync(path, 'r');
  try {
    const lines = scanRange(fd, 0, Infinity, path, scanPlan(m), tally, limits, loop);
    return { built, lines, records: tally.records, unmatched: tally.unmatched, book: tally.book.list() };
  } finally {
    closeSync(fd);
  }
}

function expectKernelLikeJs(path: string, m: Matcher = matcher, limits?: ScanLimits): void {
  expect(scan(path, m, 'kernel', limits), path).toEqual(scan(path, m, 'js', limits));
}

/** A log mixing real records with every edge the kernel has to get right. */
function mutatedLog(seed: number): Buffer {
  const rand = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const lines = allFixtures.toString('utf8').split('\n');
  const header = '2026-11-28 19:54:00,681 8378 INFO healdb odoo.sql_db: ';
  const lits = ['Connection to the database failed', ') timeout after ', 'CPU time limit exceeded', "Couldn't load module ", 'invalid module names, ignored: '];
  const extras: (() => string | Buffer)[] = [
    () => `${pick(lines)}\r`,
    () => '',
    () => '\r',
    () => `${header}${pick(lits)}`,
    // A literal cut by a newline, or starting at the end of a line.
    () => {
      const lit = pick(lits);
      const cut = 1 + Math.floor(rand() * (lit.length - 1));
      return `${header}${lit.slice(0, cut)}\n${lit.slice(cut)}`;
    },
    () => `${header}${'é'.repeat(Math.floor(rand() * 40))}${pick(lits)}${'€'.repeat(Math.floor(rand() * 5))}`,
    () => `${header}${'x'.repeat(MAX_LINE_CHARS - header.length - 1 + Math.floor(rand() * 3))}${pick(['', pick(lits)])}`,
    () => `${pick(lines).replace(/^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \d+/, (_, s: string) => `${s} ${'9'.repeat(1 + Math.floor(rand() * 40))}`)}`,
    () => {
      // A header with one byte changed: a near miss the kernel must not take for a header.
      const l = pick(lines.filter((x) => x.length > 40));
      const i = Math.floor(rand() * 40);
      return l.slice(0, i) + pick(['a', ' ', '-', ':', '9', '\t', 'é']) + l.slice(i + 1);
    },
    () => Buffer.from([0xc3, 0xff, 0xfe, 0x00, 0xe2, 0x82]),
    () => `2026-11-28T19:54:00+0000 srv odoo[8378]: ${pick(lines)}`,
    () => `Exception in thread odoo.service.cron.cron${Math.floor(rand() * 9)}:\nTraceback (most recent call last):\n  File "x.py", line 1, in y\nMemoryError`,
    () => `${'2026-11-28 19:54:00,681 8378 CRITICAL healdb odoo.modules.module: '}Couldn't load module ${'web'.repeat(1 + Math.floor(rand() * 3))}`,
  ];
  const parts: (string | Buffer)[] = [];
  for (let k = 0; k < 1500; k++) {
    const r = rand();
    if (r < 0.6) {
      const from = Math.floor(rand() * lines.length);
      parts.push(lines.slice(from, from + 1 + Math.floor(rand() * 30)).join('\n'));
    } else {
      parts.push(pick(extras)());
    }
    parts.push(rand() < 0.05 ? '\r\n' : '\n');
  }
  if (rand() < 0.5) parts.pop(); // sometimes no final newline
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
}

describe('kernel scan = JS loop scan', () => {
  it('on every fixture', () => {
    for (const name of fixtureNames) expectKernelLikeJs(join(LOGS, name));
  });

  it('on mutated logs, with chunk boundaries everywhere', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const path = join(tmp, `mutated-${seed}.log`);
      writeFileSync(path, mutatedLog(seed));
      expectKernelLikeJs(path);
      for (const chunkBytes of [37, 101, 4093, 65536]) expectKernelLikeJs(path, matcher, { chunkBytes, maxBufferBytes: 1 << 20 });
      // Lines longer than the buffer may grow: the rest of the range goes down the decoded-text path.
      expectKernelLikeJs(path, matcher, { chunkBytes: 64, maxBufferBytes: 4096 });
    }
  });

  it('when the events of one chunk overflow the kernel event array', () => {
    // Every other line a one-line record with a literal: thousands of events per chunk.
    const one = '2026-11-28 19:54:00,681 8378 INFO healdb odoo.sql_db: Connection to the database failed\n';
    const skip = '2026-11-28 19:54:00,681 8378 INFO healdb werkzeug: GET / 200\n';
    const cont = '  continued\n';
    const path = join(tmp, 'dense.log');
    writeFileSync(path, (one + skip + one + cont).repeat(5000));
    expectKernelLikeJs(path);
    expectKernelLikeJs(path, matcher, { chunkBytes: 4096, maxBufferBytes: 1 << 20 });
  });

  it('with levels decoded whole, odd literals and no literal at all', () => {
    const base = { title: 't', severity: 'warning' as const, category: 'other' as const, hint: 'h', fingerprint: [] as string[] };
    const path = join(tmp, 'mutated-custom.log');
    writeFileSync(path, mutatedLog(99));
    const sets: Pattern[][] = [
      [{ ...base, id: 'any-info', match: { levels: ['INFO'], message: '^\\S+ \\S+$' } }, ...bundled],
      [{ ...base, id: 'fffd', match: { levels: ['INFO'], message: '\uFFFD\uFFFD' } }, ...bundled],
      [{ ...base, id: 'short', match: { message: 'x' } }, ...bundled],
      [{ ...base, id: 'two', match: { message: 'ab|database' } }],
      [{ ...base, id: 'exc', match: { exception: 'MemoryError' } }],
    ];
    for (const set of sets) {
      const m = new Matcher(set);
      expectKernelLikeJs(path, m);
      expectKernelLikeJs(path, m, { chunkBytes: 257, maxBufferBytes: 1 << 20 });
    }
  });

  it('gives up to the JS loop where it cannot run', () => {
    // More literals than its tables take.
    const many = Array.from({ length: 2000 }, (_, k) => new Uint8Array(Buffer.from(`literal number ${k}`)));
    expect(ScanKernel.create(many, [false, false, false, false, false], MAX_LINE_CHARS)).toBeNull();
    expect(ScanKernel.create([new Uint8Array([65])], [false, false, false, false, false], MAX_LINE_CHARS)).toBeNull();
    expect(ScanKernel.create([], [false, false, false, false, false], MAX_LINE_CHARS)).not.toBeNull();
  });
});

describe('without WebAssembly', () => {
  it('detect gives the same answer through the JS loop (node --jitless has no WebAssembly)', () => {
    ensureBuilt(['src/engine/patterns/scan-file.ts', 'src/engine/patterns/scan-kernel.ts', 'src/engine/patterns/scan-kernel.generated.ts', 'src/cli/commands/detect.ts']);
    const path = join(tmp, 'all.log');
    writeFileSync(path, Buffer.concat([allFixtures, mutatedLog(5)]));
    const detect = (flags: string[]): unknown => {
      const r = spawnSync(process.execPath, [...flags, join(ROOT, 'bin', 'odoo-heal'), 'detect', path, '--json'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(r.status, r.stderr).toBeLessThanOrEqual(2);
      const out = JSON.parse(r.stdout) as { generatedAt?: string; incidents: { firstSeen: string; lastSeen: string }[] };
      // Raw records without a time are stamped with the clock: not part of the comparison.
      const now = out.generatedAt;
      delete out.generatedAt;
      for (const i of out.incidents) {
        if (i.firstSeen === now) i.firstSeen = '<now>';
        if (i.lastSeen === now) i.lastSeen = '<now>';
      }
      return out;
    };
    expect(detect(['--jitless'])).toEqual(detect([]));
  }, 60_000);
});
