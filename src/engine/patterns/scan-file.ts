// The byte scanner: one pass over a log file's bytes that decodes and matches only the records a
// pattern could match, and counts the rest without building them.
//
// Why: on a real log nearly every record is a one-line INFO line (werkzeug access lines) that no
// pattern matches. Decoding each line, building a LogRecord and trying every candidate pattern on it
// cost ~1.5 s per 100 MB; grep needs 0.15 s. Here, per line, only bytes are looked at: is it an Odoo
// header (header-bytes.ts), is the next line one too (then the record is a single line), and does the
// line contain a literal some pattern requires (LiteralScanner, one pass over the whole buffer).
//
// Exactness: every line that is not provably a one-line Odoo record — continuation lines, raw
// stderr text, journald prefixes, CRLF or over-long lines — is decoded and fed, in order, to the
// same parser that reads stdin (createAssembler), so those records are built exactly as before.
// A one-line record is either decoded and matched like any other (a literal hit, or its level has
// a pattern without literals) or provably unmatched (Matcher#oneLinePrefilter): then it is only
// counted, with the same `since` and unmatched-level bookkeeping as a built record.
//
// The per-line loop runs in WebAssembly (scan-kernel.ts, kernel/scan-kernel.c) wherever it can: it
// makes the same decisions at a fraction of the cost and leaves JS only the lines to decode. The
// JS loop (LineLoop#run) is its reference (test/scan-kernel.test.ts compares them) and runs where
// the kernel does not: under `since`, or without WebAssembly.
import { readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { LEVEL_ERROR, odooHeaderLevel } from '../logs/header-bytes.js';
import { createAssembler, MAX_LINE_CHARS, type AssemblerOptions, type LineAssembler } from '../logs/parser.js';
import { LogReadError, TextLineSplitter } from '../logs/read-records.js';
import { LiteralScanner } from './literal-scanner.js';
import type { LogRecord } from '../core/types.js';
import type { Matcher } from './matcher.js';
import { EV_ONE, EV_SKIP, EV_SLOW, ScanKernel } from './scan-kernel.js';
import type { Tally } from './scan-tally.js';

export interface ScanLimits {
  /** Read size. Big enough that per-read costs vanish, small enough to stay cache-friendly. */
  chunkBytes: number;
  /** The buffer grows (doubling) to hold two whole lines up to this size; a longer line sends the
   * rest of the range down the decoded-text path, which cuts over-long lines without holding them,
   * so memory stays bounded on a log without newlines. */
  maxBufferBytes: number;
}

export const DEFAULT_LIMITS: ScanLimits = { chunkBytes: 2 << 20, maxBufferBytes: 16 << 20 };

/**
 * Which per-line loop runs: the WebAssembly kernel (scan-kernel.ts) when it can, else the JS loop
 * (`auto`); or one of them (tests compare the two; `kernel` throws where the kernel cannot run).
 * The JS loop handles `since` itself; the kernel leaves it to the JS loop.
 */
export type LineLoopKind = 'auto' | 'kernel' | 'js';

const NL = 10;
const CR = 13;
/** `nextLevel` when there is no next line: the range ends, as if a header followed. */
const END = -2;
/** The next literal hit when there is none (beyond any buffer offset; a small integer for V8). */
const NO_HIT = 0x3fffffff;

export interface ScanPlan {
  /** Per level index: decode every one-line record at this level. */
  every: boolean[];
  /** Finds the literals one of which a one-line record's line must contain to be worth decoding. */
  scanner: LiteralScanner | null;
}

/**
 * What to decode. With `unclassified`, every ERROR/CRITICAL one-line record is decoded too (it
 * becomes an unclassified incident when no pattern matches it); records with a traceback are
 * multi-line and always decoded. (The line after each decoded record is also read, see LineLoop#peek.)
 */
export function scanPlan(matcher: Matcher, unclassified = false): ScanPlan {
  const p = matcher.oneLinePrefilter();
  if (unclassified) {
    p.every = p.every.map((on, level) => on || level >= LEVEL_ERROR);
  }
  const scanner = LiteralScanner.build(p.literals);
  // A literal too short to scan for: decode every one-line record (slower, still exact).
  if (p.literals.length > 0 && !scanner) return { every: p.every.map(() => true), scanner: null };
  return { every: p.every, scanner };
}

function read(fd: number, buf: Buffer, at: number, len: number, pos: number, path: string): number {
  try {
    return readSync(fd, buf, at, len, pos);
  } catch (err) {
    throw new LogReadError(path, err);
  }
}

/**
 * Scans `[from, to)` of the open file `fd` (`to` = Infinity: to the end, even if it grows) into
 * `tally`; `from` must be a line start where no record is in progress (0, or an Odoo header line).
 * Records are labelled `source`; their line numbers count from the range start. Returns the number
 * of lines read.
 */
export function scanRange(
  fd: number,
  from: number,
  to: number,
  source: string,
  plan: ScanPlan,
  tally: Tally,
  limits: ScanLimits = DEFAULT_LIMITS,
  loop: LineLoopKind = 'auto',
  asmOptions: AssemblerOptions = {},
): number {
  const scan = new ByteScan(source, plan, tally, limits, loop, asmOptions);
  let pos = from;
  let spare: Buffer | null = null;
  for (;;) {
    const want = Math.min(scan.free(), to - pos);
    let n = 0;
    if (want > 0 && scan.inPlace()) {
      // Straight into the scan buffer (the kernel's memory when it runs): no copy.
      n = read(fd, scan.buf, scan.len, want, pos, source);
      scan.filled(n);
    } else if (want > 0) {
      spare ??= Buffer.allocUnsafe(limits.chunkBytes);
      n = read(fd, spare, 0, Math.min(want, spare.length), pos, source);
      scan.write(spare.subarray(0, n));
    }
    if (n === 0) return scan.end();
    pos += n;
  }
}

/** Where scanChunks puts what it finds, and how (the defaults are scanRange's). */
export interface ChunkScan {
  source: string;
  plan: ScanPlan;
  tally: Tally;
  limits?: ScanLimits;
  loop?: LineLoopKind;
  asmOptions?: AssemblerOptions;
}

/**
 * The byte scanner over bytes handed to it in pieces (gunzip's output): the same records, matches
 * and counts as scanRange over the same bytes in a file, whatever the pieces' sizes. Returns the
 * number of lines read. When `chunks` fails (a damaged archive), the bytes it gave are scanned to
 * their end first, so the records read so far count, then its error is thrown.
 */
export async function scanChunks(chunks: AsyncIterable<Buffer>, to: ChunkScan): Promise<number> {
  const scan = new ByteScan(to.source, to.plan, to.tally, to.limits ?? DEFAULT_LIMITS, to.loop ?? 'auto', to.asmOptions ?? {});
  try {
    for await (const chunk of chunks) scan.write(chunk);
  } catch (err) {
    scan.end();
    throw err;
  }
  return scan.end();
}

/**
 * The buffer and loop behind scanRange and scanChunks. Bytes are appended to `buf` (read in place,
 * or copied by `write`); each time it is full, the lines that have their next line complete are
 * handled and the rest moves to the front. A buffer that holds no such line doubles, up to
 * `maxBufferBytes`; past that, everything from there on goes down the decoded-text path.
 */
class ByteScan {
  buf: Buffer;
  len = 0;
  private readonly lines: LineLoop;
  private readonly kernel: ScanKernel | null;
  /** Set once a line was too long to hold: the rest is decoded as text. */
  private text: TextRest | null = null;

  constructor(
    source: string,
    plan: ScanPlan,
    tally: Tally,
    private readonly limits: ScanLimits,
    loop: LineLoopKind,
    asmOptions: AssemblerOptions,
  ) {
    this.lines = new LineLoop(createAssembler(source, asmOptions), plan, tally, source);
    this.kernel = loop === 'js' || tally.opts.since !== null ? null : kernelFor(plan);
    if (loop === 'kernel' && !this.kernel) throw new Error('the WebAssembly scan kernel cannot run here');
    // With the kernel, bytes land straight in its memory.
    this.buf = this.kernel ? this.kernel.buffer(limits.chunkBytes) : Buffer.allocUnsafe(limits.chunkBytes);
  }

  /** Whether bytes may be read straight into `buf[len, len + free())`. */
  inPlace(): boolean {
    return this.text === null;
  }

  /** Room left in `buf` (a full chunk once the text path took over: bytes then go to `write`). */
  free(): number {
    return this.text ? this.limits.chunkBytes : this.buf.length - this.len;
  }

  /** `n` bytes were read into `buf` at `len`. */
  filled(n: number): void {
    this.len += n;
    if (this.len === this.buf.length) this.step(false);
  }

  write(bytes: Buffer): void {
    if (this.text) {
      this.text.write(bytes);
      return;
    }
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(this.buf.length - this.len, bytes.length - at);
      bytes.copy(this.buf, this.len, at, at + n);
      at += n;
      this.filled(n);
      if (!this.inPlace()) {
        // A line too long to hold: the text path takes the rest.
        this.write(bytes.subarray(at));
        return;
      }
    }
  }

  /** The bytes end: the last lines and the records in progress are complete. Returns the lines read. */
  end(): number {
    if (this.text) this.text.end();
    else this.step(true);
    return this.lines.count;
  }

  private step(eof: boolean): void {
    const { buf, len, lines } = this;
    const stop = eof ? len : chunkStop(buf, len);
    if (stop === 0 && !eof) {
      if (buf.length < this.limits.maxBufferBytes) {
        this.buf = this.kernel ? this.kernel.buffer(buf.length * 2) : grown(buf, len, buf.length * 2);
      } else {
        this.text = lines.textRest(buf.subarray(0, len));
        this.len = 0;
      }
      return;
    }
    if (this.kernel) lines.runKernel(this.kernel, buf, len, stop);
    else lines.run(buf, len, stop);
    if (eof) {
      lines.end();
      return;
    }
    buf.copy(buf, 0, stop, len);
    this.len = len - stop;
  }
}

/** The decoded-text path for the rest of a scan (same splitter and parser as stdin). */
interface TextRest {
  write(bytes: Buffer): void;
  end(): void;
}

/**
 * Lines of `buf[0, len)` starting before the returned offset can be handled now: each needs its
 * next line complete in the buffer. 0: none can (the buffer must grow, or the file end be reached).
 */
function chunkStop(buf: Buffer, len: number): number {
  const lastNl = buf.lastIndexOf(NL, len - 1);
  return lastNl > 0 ? buf.lastIndexOf(NL, lastNl - 1) + 1 : 0;
}

/** A buffer of `bytes` holding `buf[0, len)`. */
function grown(buf: Buffer, len: number, bytes: number): Buffer {
  const bigger = Buffer.allocUnsafe(bytes);
  buf.copy(bigger, 0, 0, len);
  return bigger;
}

/** The per-line work of scanRange, kept in one tight loop over locals (it runs ~9 M times per GB). */
class LineLoop {
  count = 0;
  /** The assembler holds a record in progress (it was fed a line since its last `finish`). */
  private pending = false;
  /** Lines handled here since the assembler last counted lines. */
  private uncounted = 0;
  private readonly hits: number[] = [];
  /** Records the assembler completed on the line just fed. */
  private readonly done: LogRecord[] = [];
  /** Unmatched one-line records per level index, in the chunk being handled (without `since`). */
  private readonly counts = new Int32Array(5);

  /** The line right after the record in progress, decoded (see `peek`), or null. */
  private next: string | null = null;
  private readonly peeking: boolean;

  constructor(
    private readonly asm: LineAssembler,
    private readonly plan: ScanPlan,
    private readonly tally: Tally,
    private readonly source: string,
  ) {
    this.peeking = !!tally.opts.grouper;
  }

  /**
   * Unclassified incidents name the request that failed from the record right after an error (a
   * werkzeug 500 line), which the byte scanner would skip undecoded. So after each record it
   * decodes (a few per thousand lines), the line that follows it is decoded too and handed to the
   * tally once that record is complete: the same "next record" the decoded-text path sees (it is
   * the next record's first line, complete in the buffer by chunkStop's rule).
   */
  private peek(buf: Buffer, at: number, len: number): void {
    if (!this.peeking) return;
    this.next = null;
    if (at >= len) return;
    let end = buf.indexOf(NL, at);
    if (end < 0 || end > len) end = len;
    if (end - at > MAX_LINE_CHARS) return;
    this.next = buf.toString('utf8', at, buf[end - 1] === CR ? end - 1 : end);
  }

  /**
   * Handles the lines of `buf` that start before `stop`; `buf[0, len)` holds whole lines after them.
   *
   * Written so that every comparison in the loop runs on every line: V8 optimises this loop while
   * the first INFO lines go by, and a comparison it has never seen run (say `level === 2`, first
   * reached at the first WARNING line) makes the optimised code bail out — at every chunk again,
   * which made the first 50 MB of a scan three times slower than the rest. Hence the per-level
   * counts in a typed array and the next literal hit kept in one always-compared number.
   */
  run(buf: Buffer, len: number, stop: number): void {
    const { tally, hits, counts } = this;
    const { every, scanner } = this.plan;
    const timed = tally.opts.since !== null;
    counts.fill(0);
    hits.length = 0;
    if (scanner) scanner.findAll(buf, 0, stop, hits);
    const nHits = hits.length;
    let h = 0;
    let nextHit = nHits > 0 ? hits[0]! : NO_HIT;
    let lines = 0;
    let start = 0;
    let end = buf.indexOf(NL, 0);
    if (end < 0 || end >= len) end = len;
    let level = headerLevel(buf, start, end);
    // The run of lines for the parser not yet fed: bytes [slowFrom, slowTo), or slowFrom = -1.
    let slowFrom = -1;
    let slowTo = 0;
    while (start < stop) {
      const next = end + 1;
      let nextEnd = next;
      let nextLevel = END;
      if (next < len) {
        nextEnd = buf.indexOf(NL, next);
        if (nextEnd < 0 || nextEnd >= len) nextEnd = len;
        nextLevel = headerLevel(buf, next, nextEnd);
      }
      lines++;
      while (nextHit < start) nextHit = ++h < nHits ? hits[h]! : NO_HIT;
      if (level >= 0 && nextLevel !== -1) {
        // A one-line Odoo record: the parser would complete whatever is pending, then this record.
        if (slowFrom >= 0) {
          this.feedBlock(buf.toString('utf8', slowFrom, slowTo));
          slowFrom = -1;
          this.peek(buf, start, len);
        }
        if (this.pending) this.finish();
        if (every[level] || nextHit < end) {
          this.feed(buf.toString('utf8', start, end));
          this.peek(buf, next, len);
          this.finish();
        } else {
          this.uncounted++;
          if (timed) tally.unmatchedOdoo(level, buf, start);
          else counts[level] = counts[level]! + 1;
        }
      } else {
        // Any other line goes to the parser; consecutive ones are decoded in one go.
        if (slowFrom < 0) slowFrom = start;
        slowTo = end;
      }
      start = next;
      end = nextEnd;
      level = nextLevel;
    }
    if (slowFrom >= 0) {
      this.feedBlock(buf.toString('utf8', slowFrom, slowTo));
      this.peek(buf, start, len);
    }
    this.count += lines;
    if (!timed) tally.unmatchedOdooCounts(counts[0]!, counts[1]!, counts[2]!, counts[3]!, counts[4]!);
  }

  /**
   * What `run` does, with the per-line work done by the WebAssembly kernel over `buf` (which must be
   * its buffer): JS only acts on the kernel's events, in the order `run` would have.
   */
  runKernel(kernel: ScanKernel, buf: Buffer, len: number, stop: number): void {
    kernel.begin(len, stop);
    for (;;) {
      const n = kernel.run();
      const ev = kernel.events;
      for (let e = 0; e < 4 * n; e += 4) {
        const kind = ev[e]!;
        this.event(kind, ev[e + 1]!, kind === EV_SKIP ? '' : buf.toString('utf8', ev[e + 2], ev[e + 3]), buf, ev[e + 3]! + 1, len);
      }
      if (kernel.done) break;
    }
    this.count += kernel.lines;
    this.tally.unmatchedOdooCounts(kernel.skipped(0), kernel.skipped(1), kernel.skipped(2), kernel.skipped(3), kernel.skipped(4));
  }

  /**
   * One kernel event (EV_*), in order: `skipped` one-line records were counted before it, then
   * `text` (the decoded lines of a SLOW run, or a ONE record's line) goes to the parser.
   */
  private event(kind: number, skipped: number, text: string, buf: Buffer, after: number, len: number): void {
    if (skipped > 0) {
      // Each skipped record ended the pending one, as in `run`.
      if (this.pending) this.finish();
      this.uncounted += skipped;
    }
    if (kind === EV_SLOW) {
      this.feedBlock(text);
      this.peek(buf, after, len);
    } else if (kind === EV_ONE) {
      if (this.pending) this.finish();
      this.feed(text);
      this.peek(buf, after, len);
      this.finish();
    }
  }

  /** End of the range: the records in progress (of every interleaved stream) are complete. */
  end(): void {
    this.pending = false;
    for (const r of this.asm.flush()) this.tally.record(r);
  }

  private feed(line: string): void {
    if (this.uncounted > 0) {
      this.asm.skipLines(this.uncounted);
      this.uncounted = 0;
    }
    const done = this.done;
    this.asm.feedTo(line, done);
    this.pending = true;
    if (done.length > 0) {
      for (const r of done) this.tally.record(r);
      done.length = 0;
    }
  }

  /** Lines decoded together (`\n` never occurs inside a UTF-8 sequence, so decoding the run and
   * splitting it gives the same strings as decoding each line). */
  private feedBlock(text: string): void {
    for (const line of text.split('\n')) this.feed(line);
  }

  private finish(): void {
    this.pending = false;
    const done = this.asm.finish();
    if (done) this.tally.record(done);
    if (this.next !== null) {
      this.tally.nextLine(this.next, this.source);
      this.next = null;
    }
  }

  /** The decoded-text path from `head` on, for the bytes written to what it returns. */
  textRest(head: Buffer): TextRest {
    const decoder = new StringDecoder('utf8');
    const splitter = new TextLineSplitter();
    const onLine = (line: string): void => {
      this.count++;
      this.feed(line);
    };
    splitter.write(decoder.write(head), onLine);
    return {
      write: (bytes) => splitter.write(decoder.write(bytes), onLine),
      end: () => {
        splitter.write(decoder.end(), onLine);
        splitter.end(onLine);
        this.end();
      },
    };
  }
}

/** A kernel for this plan, or null where it cannot run (the JS loop then does the same work). */
function kernelFor(plan: ScanPlan): ScanKernel | null {
  return ScanKernel.create(plan.scanner?.literals ?? [], plan.every, MAX_LINE_CHARS);
}

/** Level of an Odoo header line that the parser takes exactly as its bytes say; -1 otherwise (a
 * CR or an over-long line is left to the parser, which strips or cuts it). */
function headerLevel(buf: Buffer, start: number, end: number): number {
  if (end - start > MAX_LINE_CHARS) return -1;
  const lv = odooHeaderLevel(buf, start, end);
  return lv >= 0 && buf[end - 1] !== CR ? lv : -1;
}

/**
 * The offset of the first line at or after `at` (the line containing `at` excluded) that is an Odoo
 * header the parser reads as such: every record in progress ends there, so a range may start there.
 * Looks at most `window` bytes ahead; null when there is none.
 */
export function findRecordStart(fd: number, at: number, path: string, window = 1 << 20): number | null {
  const buf = Buffer.allocUnsafe(window);
  const len = read(fd, buf, 0, window, at, path);
  let start = buf.indexOf(NL) + 1;
  while (start > 0 && start < len) {
    const nl = buf.indexOf(NL, start);
    if (nl < 0 || nl >= len) return null;
    if (nl - start <= MAX_LINE_CHARS && odooHeaderLevel(buf, start, nl) >= 0 && buf[nl - 1] !== CR) return at + start;
    start = nl + 1;
  }
  return null;
}
