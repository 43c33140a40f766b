// Bytes in, complete lines out. One splitter per byte stream (a followed file, a command's stdout).
//
// Why split on bytes before decoding: `\n` (0x0A) never occurs inside a multi-byte UTF-8 sequence, so
// cutting the byte stream at 0x0A and decoding each whole line gives the same text a StringDecoder would,
// even when a chunk boundary falls inside a character; and working on bytes lets the length cap count
// bytes (what a runaway writer produces) and report exactly how many were dropped.

const NL = 0x0a;
const CR = 0x0d;
const NUL = 0x00;

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/** The text appended to a line cut at the cap. */
export function truncationMarker(droppedBytes: number): string {
  return ` …[truncated ${droppedBytes} bytes]`;
}

export class LineSplitter {
  /** Bytes of the current (incomplete) line that we keep, at most `maxLineBytes` in total. */
  private pieces: Buffer[] = [];
  private kept = 0;
  /** Bytes of the current line beyond the cap: counted, not stored. */
  private dropped = 0;
  /** Last byte appended to the current line was `\r` (so a following `\n` ends a CRLF line). */
  private lastWasCR = false;
  /** Discard bytes up to and including the next `\n` (start reading mid-file). */
  private skipping = false;

  constructor(readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 16) {
      throw new RangeError(`maxLineBytes must be an integer >= 16, got ${maxLineBytes}`);
    }
  }

  /** True when bytes of an unfinished line are pending. */
  get hasPartial(): boolean {
    return this.kept > 0 || this.dropped > 0;
  }

  /** Feeds a chunk; returns the lines it completed (without `\n` / `\r\n`). The chunk may be reused by the caller. */
  push(chunk: Uint8Array): string[] {
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // NULs come from sparse regions after copytruncate and from binary garbage; they carry no text and
    // must not count towards the cap (a 1 MB hole would otherwise truncate the real line after it).
    if (buf.includes(NUL)) buf = stripNul(buf);
    const out: string[] = [];
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(NL, start);
      if (this.skipping) {
        if (nl === -1) return out;
        this.skipping = false;
        start = nl + 1;
        continue;
      }
      const end = nl === -1 ? buf.length : nl;
      if (nl !== -1 && !this.hasPartial && end - start <= this.maxLineBytes) {
        // Fast path: the whole line is inside this chunk; decode it without copying.
        const stop = end > start && buf[end - 1] === CR ? end - 1 : end;
        out.push(buf.toString('utf8', start, stop));
        start = nl + 1;
        continue;
      }
      this.append(buf, start, end);
      if (nl === -1) break;
      out.push(this.takeLine());
      start = nl + 1;
    }
    return out;
  }

  /** Returns the pending partial line as a final line (the caller decided no newline will come). */
  flushPartial(): string[] {
    return this.hasPartial ? [this.takeLine()] : [];
  }

  /** Drops bytes up to and including the next newline: the next line returned starts on a line boundary. */
  skipToNextLine(): void {
    this.reset();
    this.skipping = true;
  }

  /** Forgets everything pending (the stream restarted from another file or offset). */
  reset(): void {
    this.pieces = [];
    this.kept = 0;
    this.dropped = 0;
    this.lastWasCR = false;
    this.skipping = false;
  }

  private append(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n === 0) return;
    const room = this.maxLineBytes - this.kept;
    const keep = Math.min(room, n);
    if (keep > 0) {
      // Copy: the caller may reuse its read buffer.
      this.pieces.push(Buffer.from(buf.subarray(start, start + keep)));
      this.kept += keep;
    }
    this.dropped += n - keep;
    this.lastWasCR = buf[end - 1] === CR;
  }

  private takeLine(): string {
    let bytes = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.kept);
    let dropped = this.dropped;
    if (this.lastWasCR) {
      if (dropped > 0) dropped -= 1;
      else bytes = bytes.subarray(0, bytes.length - 1);
    }
    this.pieces = [];
    this.kept = 0;
    this.dropped = 0;
    this.lastWasCR = false;
    if (dropped === 0) return bytes.toString('utf8');
    // Cut at a character boundary so the kept text does not end in a replacement char.
    const cut = utf8Boundary(bytes);
    dropped += bytes.length - cut;
    return bytes.toString('utf8', 0, cut) + truncationMarker(dropped);
  }
}

function stripNul(buf: Buffer): Buffer {
  const out = Buffer.allocUnsafe(buf.length);
  let n = 0;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (b !== NUL) out[n++] = b;
  }
  return out.subarray(0, n);
}

/** Length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence. */
function utf8Boundary(bytes: Buffer): number {
  const end = bytes.length;
  let i = end - 1;
  // Walk back over at most 3 continuation bytes (10xxxxxx) to the lead byte.
  while (i > 0 && end - i < 4 && (bytes[i]! & 0xc0) === 0x80) i--;
  const lead = bytes[i];
  if (lead === undefined) return end;
  const len = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + len > end ? i : end;
}
