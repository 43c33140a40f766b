// Streams a log file (or stdin) into records, chunk by chunk, so a 100 MB log never sits in memory
// as one string. Records come out in batches (one per chunk): a per-record `await` would cost more
// than parsing the record.
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import type { LogRecord } from '../core/types.js';
import { isGzipMagic, openRegular } from './open-log.js';
import { createAssembler, MAX_LINE_CHARS, type AssemblerOptions } from './parser.js';

const CHUNK_BYTES = 1 << 20;

/** A log source could not be read. Not a UsageError: for `check`/`detect` this is UNKNOWN (exit 3). */
export class LogReadError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`${file}: cannot read log: ${describe(cause)}`);
    this.name = 'LogReadError';
  }
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTREG':
      return e.message;
    default:
      return e?.code ? `${e.code}` : String((err as Error)?.message ?? err);
  }
}

/** Splits decoded text into lines across chunk boundaries; over-long lines are cut, not buffered. */
export class TextLineSplitter {
  private carry = '';
  private overflow = false;

  /** Calls `onLine` for every complete line in `text`. */
  write(text: string, onLine: (line: string) => void): void {
    let start = 0;
    const n = text.length;
    while (start < n) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) {
        this.keep(text, start, n);
        return;
      }
      if (this.carry.length > 0 || this.overflow) {
        this.keep(text, start, nl);
        const line = this.carry;
        this.carry = '';
        this.overflow = false;
        onLine(line);
      } else {
        onLine(text.slice(start, nl));
      }
      start = nl + 1;
    }
  }

  end(onLine: (line: string) => void): void {
    // A file cut mid-line (full disk) ends without a newline: its last line still counts.
    if (this.carry.length > 0) onLine(this.carry);
    this.carry = '';
    this.overflow = false;
  }

  private keep(text: string, from: number, to: number): void {
    if (this.overflow) return;
    const room = MAX_LINE_CHARS - this.carry.length;
    if (to - from > room) {
      this.carry += text.slice(from, from + room);
      this.overflow = true;
    } else {
      this.carry += text.slice(from, to);
    }
  }
}

async function* decodeBatches(
  chunks: AsyncIterable<Buffer>,
  source: string,
  opts: AssemblerOptions = {},
): AsyncGenerator<LogRecord[]> {
  const decoder = new StringDecoder('utf8');
  const splitter = new TextLineSplitter();
  const asm = createAssembler(source, opts);
  let batch: LogRecord[] = [];
  const onLine = (line: string): void => asm.feedTo(line, batch);
  for await (const chunk of chunks) {
    splitter.write(decoder.write(chunk), onLine);
    if (batch.length > 0) {
      yield batch;
      batch = [];
    }
  }
  splitter.write(decoder.end(), onLine);
  splitter.end(onLine);
  for (const r of asm.flush()) batch.push(r);
  if (batch.length > 0) yield batch;
}

/**
 * The bytes of `chunks`, decompressed when they start with gzip's magic number (a rotated
 * `odoo.log.2.gz`, or `detect - < odoo.log.gz`): by content, not by name. Several gzip members one
 * after the other (`cat a.gz b.gz`) are read in turn. A damaged or cut archive ends the records
 * read so far with a LogReadError.
 */
export async function* gunzipIfNeeded(chunks: AsyncIterable<Buffer>, source: string, zopts: ZlibOptions = {}): AsyncGenerator<Buffer> {
  const it = chunks[Symbol.asyncIterator]();
  let first: Buffer = Buffer.alloc(0);
  // Two bytes tell; a pipe may deliver one at a time.
  while (first.length < 2) {
    const n = await it.next();
    if (n.done) break;
    first = first.length === 0 ? n.value : Buffer.concat([first, n.value]);
  }
  async function* rest(): AsyncGenerator<Buffer> {
    if (first.length > 0) yield first;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  }
  if (!isGzipMagic(first)) {
    yield* rest();
    return;
  }
  const gunzip = createGunzip(zopts);
  const input = Readable.from(rest());
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof LogReadError) throw err;
    throw new LogReadError(source, new Error(`gzip: ${(err as Error).message}`));
  } finally {
    input.destroy();
  }
}

async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  let fh;
  try {
    ({ fh } = await openRegular(path));
  } catch (err) {
    throw new LogReadError(path, err);
  }
  try {
    for (;;) {
      // A fresh buffer per chunk: the decoder may keep a reference to the tail of the previous one.
      const buf = Buffer.allocUnsafe(CHUNK_BYTES);
      let bytesRead: number;
      try {
        ({ bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, null));
      } catch (err) {
        throw new LogReadError(path, err);
      }
      if (bytesRead === 0) return;
      yield bytesRead === CHUNK_BYTES ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

async function* stdinChunks(): AsyncGenerator<Buffer> {
  for await (const chunk of process.stdin) {
    yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
  }
}

/** Batches of records from a file path, or from stdin when `path` is `-` (either may be gzip). */
export function readRecordBatches(path: string, opts: AssemblerOptions = {}): AsyncGenerator<LogRecord[]> {
  const chunks = path === '-' ? stdinChunks() : fileChunks(path);
  return decodeBatches(gunzipIfNeeded(chunks, path), path, opts);
}

/** Records from any byte stream (a child process's stdout, a socket), labelled `source`. */
export function readStreamBatches(stream: AsyncIterable<Buffer | string>, source: string): AsyncGenerator<LogRecord[]> {
  async function* buffers(): AsyncGenerator<Buffer> {
    for await (const c of stream) yield typeof c === 'string' ? Buffer.from(c) : c;
  }
  return decodeBatches(buffers(), source);
}

/** Records one by one (convenience over the batches). */
export async function* readRecords(path: string): AsyncGenerator<LogRecord> {
  for await (const batch of readRecordBatches(path)) yield* batch;
}
