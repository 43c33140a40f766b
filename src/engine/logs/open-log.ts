// Opening a log file without trusting what sits at its path. Odoo's user owns the log directory and
// can put a FIFO, a socket or a device where the logfile should be: a blocking open() of a FIFO
// waits for a writer forever, and the libuv thread stuck in it keeps even process.exit() from
// returning (Node joins its thread pool at exit), so `check` and `detect` would never end. Every
// reader of a log path opens it here: non-blocking (a FIFO opens at once), then fstat on the open
// descriptor (no window between the check and the use), and anything but a regular file is refused.
import { constants, type Stats } from 'node:fs';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** What a non-regular file is, for the one-line error. */
function fileType(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** A log path that holds something other than a regular file. */
export class NotRegularFileError extends Error {
  /** EISDIR for a directory (what reading one would have said), else ENOTREG. */
  readonly code: 'EISDIR' | 'ENOTREG';
  constructor(readonly type: string) {
    super(type === 'a directory' ? 'is a directory (EISDIR)' : `${type}, not a regular file: refused`);
    this.code = type === 'a directory' ? 'EISDIR' : 'ENOTREG';
    this.name = 'NotRegularFileError';
  }
}

/** Opens a regular file for reading; throws NotRegularFileError (after closing it) for anything else. */
export async function openRegular(path: string): Promise<{ fh: FileHandle; stats: Stats }> {
  const fh = await open(path, FLAGS);
  try {
    const stats = await fh.stat();
    if (!stats.isFile()) throw new NotRegularFileError(fileType(stats));
    return { fh, stats };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/** openRegular, synchronously, as a descriptor. */
export function openRegularSync(path: string): { fd: number; stats: Stats } {
  const fd = openSync(path, FLAGS);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new NotRegularFileError(fileType(stats));
    return { fd, stats };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Whether bytes start with gzip's magic number (what logrotate's `compress` leaves). */
export function isGzipMagic(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Whether the open file `fd` is gzip-compressed (by its first bytes, whatever its name). */
export function fdIsGzip(fd: number): boolean {
  const head = Buffer.alloc(2);
  const n = readSync(fd, head, 0, 2, 0);
  return n === 2 && isGzipMagic(head);
}
