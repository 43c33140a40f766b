// The complete lines at the end of a file, for `odoo-heal check`'s scan of recent records, without
// reading the whole (possibly multi-GB) log.

import { LineSplitter } from './line-splitter.js';
import { openRegular } from './open-log.js';

/**
 * Returns the complete lines within the last `bytes` bytes of `filePath`: the first line is dropped when
 * the window starts mid-line, and a last line without newline (still being written) is left out.
 * Errors (ENOENT, EACCES, EISDIR) are thrown as-is for the caller to report with the path.
 */
export async function readTail(filePath: string, bytes: number, maxLineBytes?: number): Promise<string[]> {
  if (!Number.isFinite(bytes) || bytes <= 0) return [];
  const { fh } = await openRegular(filePath);
  try {
    const { size } = await fh.stat();
    const begin = Math.max(0, size - Math.floor(bytes));
    const splitter = new LineSplitter(maxLineBytes);
    // Read one byte before the window and skip to the next newline: we land on a line boundary whether
    // or not that byte is the newline itself.
    const from = begin > 0 ? begin - 1 : 0;
    if (begin > 0) splitter.skipToNextLine();
    const lines: string[] = [];
    const buf = Buffer.allocUnsafe(Math.min(256 * 1024, Math.max(1, size - from)));
    let pos = from;
    while (pos < size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      for (const line of splitter.push(buf.subarray(0, bytesRead))) lines.push(line);
    }
    return lines;
  } finally {
    await fh.close();
  }
}
