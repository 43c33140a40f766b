// Follows one log file like `tail -F`, surviving rotation (rename + create), copytruncate, deletion and
// a file that does not exist yet, and hands complete lines to the caller in batches (one call per read).
//
// chokidar watches the file's DIRECTORY and its events are only a wake-up: the truth is what stat/fstat
// say. We keep {dev+inode, offset, first bytes}: a new inode is a rotation (drain the old file, then read
// the new one from 0); a smaller size or different first bytes is a truncation (copytruncate may regrow
// the file past our offset before we look). A 1 s stat poll covers lost or coalesced events.

import { stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { UsageError, errorMessage } from '../core/errors.js';
import { LineSplitter } from './line-splitter.js';
import { openRegular } from './open-log.js';

// ---------------------------------------------------------------------------------------------
// Vocabulary shared by every source (file and command followers, sources.ts)
// ---------------------------------------------------------------------------------------------

/** Where a file source begins: only new lines, the whole file, or the complete lines in the last N bytes. */
export type StartPosition = 'end' | 'start' | `tail:${number}`;

/** Parses a start position from config / CLI text; throws UsageError naming the bad value. */
export function parseStartPosition(value: string, field = 'start'): StartPosition {
  if (value === 'end' || value === 'start') return value;
  const m = /^tail:(\d+)$/.exec(value);
  if (m && Number(m[1]) > 0) return `tail:${Number(m[1])}`;
  throw new UsageError(`${field}: expected "end", "start" or "tail:<bytes>" (bytes > 0), got "${value}"`);
}

export type FollowState = 'starting' | 'following' | 'waiting' | 'error' | 'stopped';

export interface FollowStatus {
  state: FollowState;
  /** One line for the UI: what the source is doing or why it is not reading. */
  message: string;
  /** Epoch ms when this state began. */
  since: number;
}

/** A problem with a source, reported once per kind until the source recovers. */
export class FollowError extends Error {
  constructor(
    /** Source id (file path or command name). */
    readonly source: string,
    /** errno code (`EACCES`, `EISDIR`, `ENOENT`) or `EXIT` for a command that ended. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FollowError';
  }
}

export type LinesCallback = (lines: string[], source: string) => void;

/** Reports each kind of error once, then stays quiet until `clear()` (the source recovered). */
export class ErrorGate {
  private reported: string | null = null;
  constructor(private readonly onError: ((err: FollowError) => void) | undefined) {}
  report(err: FollowError): void {
    if (this.reported === err.code) return;
    this.reported = err.code;
    this.onError?.(err);
  }
  clear(): void {
    this.reported = null;
  }
}

// ---------------------------------------------------------------------------------------------
// FileFollower
// ---------------------------------------------------------------------------------------------

/**
 * Where a follower stood in a file: which file (device + inode), the next byte it would have read,
 * and the file's first bytes then (to tell a truncated and rewritten file from the same one).
 */
export interface ReadPosition {
  dev: number;
  ino: number;
  offset: number;
  head: Buffer;
}

export interface FileFollowerOptions {
  /** Default 'end' (the console shows only new lines). */
  start?: StartPosition;
  /**
   * Where an earlier follower of this path stopped (`--auto` reloading its config): continue from
   * there when the file is still the one it read, so that nothing written in between is missed;
   * begin at 0 when the file was rotated or truncated since (all of it is new). Overrides `start`.
   */
  resume?: ReadPosition;
  onLines: LinesCallback;
  onError?: (err: FollowError) => void;
  onStatus?: (status: FollowStatus, source: string) => void;
  /** Source id passed to onLines; default: the path as given. */
  source?: string;
  maxLineBytes?: number;
  /** Stat poll interval (fallback for lost events). Default 1000 ms. */
  pollMs?: number;
  /** A partial last line quiet this long is taken as final (e.g. a log cut mid-line by a full disk). Default 2000 ms. */
  partialLineMs?: number;
}

/** How many leading bytes identify "the same content" for copytruncate detection. */
const HEAD_BYTES = 1024;
const READ_CHUNK = 256 * 1024;

interface OpenFile {
  fh: FileHandle;
  dev: number;
  ino: number;
  /** Next byte to read. */
  offset: number;
  /** First bytes of the file when we last looked (up to HEAD_BYTES); kept as bytes, so no hash collisions. */
  head: Buffer;
}

export class FileFollower {
  readonly path: string;
  readonly source: string;
  private readonly absPath: string;
  private readonly dir: string;
  private readonly startAt: StartPosition;
  private readonly splitter: LineSplitter;
  private readonly errors: ErrorGate;
  private readonly pollMs: number;
  private readonly partialLineMs: number;

  private file: OpenFile | null = null;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The running read loop; a wake-up while it runs only asks for one more round (no re-entry). */
  private running: Promise<void> | null = null;
  private again = false;
  private started = false;
  private stopped = false;
  private closed = false;
  /** The file present when start() ran: only it gets the configured start position; later files start at 0. */
  private startIdentity: { dev: number; ino: number } | null = null;
  private lastDataAt = 0;
  /** Where reading stood when the file was last closed (see `position`). */
  private closedAt: ReadPosition | null = null;
  /** After a watcher error (e.g. the inotify watch limit) wait before trying again; the poll still runs. */
  private watcherRetryAt = 0;
  private _status: FollowStatus = { state: 'starting', message: 'starting', since: Date.now() };

  constructor(
    filePath: string,
    private readonly opts: FileFollowerOptions,
  ) {
    this.path = filePath;
    this.source = opts.source ?? filePath;
    this.absPath = path.resolve(filePath);
    this.dir = path.dirname(this.absPath);
    // Re-validated because config code may cast any string to StartPosition.
    this.startAt = parseStartPosition(opts.start ?? 'end', `${filePath}: start`);
    this.splitter = new LineSplitter(opts.maxLineBytes);
    this.errors = new ErrorGate(opts.onError);
    this.pollMs = opts.pollMs ?? 1000;
    this.partialLineMs = opts.partialLineMs ?? 2000;
  }

  get status(): FollowStatus {
    return this._status;
  }

  /** The file being read and the next byte to read; after stop(), where reading ended. */
  get position(): ReadPosition | null {
    const f = this.file;
    return f ? { dev: f.dev, ino: f.ino, offset: f.offset, head: f.head } : this.closedAt;
  }

  /** Resolves once the start position is fixed: lines appended after this are delivered. */
  async start(): Promise<void> {
    if (this.started) throw new Error(`FileFollower(${this.path}) already started`);
    this.started = true;
    try {
      const st = await stat(this.absPath);
      if (st.isFile()) this.startIdentity = { dev: st.dev, ino: st.ino };
    } catch {
      // Missing or unreadable: the first check reports it.
    }
    await this.ensureWatcher(true);
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.wake();
    await this.running;
  }

  /** Stops watching, delivers a pending partial line, closes the file. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const watcher = this.watcher;
    this.watcher = null;
    await watcher?.close();
    await this.running;
    this.emit(this.splitter.flushPartial());
    await this.closeFile();
    this.setStatus('stopped', 'stopped');
    this.closed = true;
  }

  private wake(): void {
    if (this.stopped || this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.check();
        } while (this.again && !this.stopped);
      } catch (err) {
        // check() handles expected errors; this is a bug or an exotic I/O failure: report, keep polling.
        this.fail('EIO', `${this.path}: ${errorMessage(err)}`);
      } finally {
        this.running = null;
      }
    })();
  }

  /** One round: find out what happened to the path, then read what is new. */
  private async check(): Promise<void> {
    if (!this.watcher) await this.ensureWatcher(false);
    let st: Stats;
    try {
      st = await stat(this.absPath);
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT') await this.onMissing();
      else this.fail(code, `${this.path}: cannot read log file: ${describe(err)}; retrying`);
      return;
    }
    if (!st.isFile()) {
      await this.releaseOld(true);
      const what = st.isDirectory() ? 'is a directory, not a log file (EISDIR)' : 'is not a regular file';
      this.fail(st.isDirectory() ? 'EISDIR' : 'ENOTFILE', `${this.path}: ${what}; retrying`);
      return;
    }
    if (this.file && (this.file.ino !== st.ino || this.file.dev !== st.dev)) {
      // Rotation: the old file may still hold lines written after our last read.
      await this.releaseOld(true);
    }
    if (!this.file && !(await this.openFile())) return;
    await this.readNew(this.file!);
    this.flushQuietPartial();
  }

  /** The path is gone. Renamed away (logrotate): keep the old fd to drain lines still written to it until
   * the new file appears. Deleted (nlink 0): drain and close, so we do not pin a deleted file's disk space. */
  private async onMissing(): Promise<void> {
    const f = this.file;
    if (f) {
      await this.readToEnd(f);
      const st = await f.fh.stat().catch(() => null);
      if (!st || st.nlink === 0) await this.releaseOld(true);
    }
    this.errors.clear();
    this.setStatus('waiting', `${this.path}: waiting for the file to be created`);
    this.flushQuietPartial();
  }

  /** Drains (when asked) and closes the current file; its partial last line is final. */
  private async releaseOld(drain = false): Promise<void> {
    const f = this.file;
    if (!f) return;
    if (drain) await this.readToEnd(f).catch(() => undefined);
    this.emit(this.splitter.flushPartial());
    await this.closeFile();
  }

  private async openFile(): Promise<boolean> {
    let fh: FileHandle;
    try {
      ({ fh } = await openRegular(this.absPath));
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT') {
        this.setStatus('waiting', `${this.path}: waiting for the file to be created`);
      } else {
        this.fail(code, `${this.path}: cannot read log file: ${describe(err)}; retrying`);
      }
      return false;
    }
    try {
      const st = await fh.stat();
      const isStartFile =
        this.startIdentity !== null && this.startIdentity.dev === st.dev && this.startIdentity.ino === st.ino;
      this.startIdentity = null;
      this.splitter.reset();
      const head = await readHead(fh, st.size);
      let offset = 0;
      const resume = this.opts.resume;
      if (resume && isStartFile) {
        offset = resumedOffset(resume, st, head);
      } else if (isStartFile) {
        const begin = startOffset(this.startAt, st.size);
        // Begin one byte early and skip to the next newline: lands on a line boundary whether or not
        // that byte is the newline itself.
        if (begin > 0) {
          offset = begin - 1;
          this.splitter.skipToNextLine();
        }
      }
      this.file = { fh, dev: st.dev, ino: st.ino, offset, head };
    } catch (err) {
      await fh.close().catch(() => undefined);
      this.fail(errCode(err), `${this.path}: cannot read log file: ${describe(err)}; retrying`);
      return false;
    }
    this.errors.clear();
    this.setStatus('following', `following ${this.path}`);
    return true;
  }

  private async readNew(f: OpenFile): Promise<void> {
    let size: number;
    let head: Buffer;
    try {
      size = (await f.fh.stat()).size;
      head = await readHead(f.fh, size);
    } catch (err) {
      this.fail(errCode(err), `${this.path}: cannot read log file: ${describe(err)}; retrying`);
      return;
    }
    const sameHead = head.length >= f.head.length && head.subarray(0, f.head.length).equals(f.head);
    if (size < f.offset || !sameHead) {
      // copytruncate (or an editor rewrote the file): the pending partial line will never be completed.
      this.emit(this.splitter.flushPartial());
      this.splitter.reset();
      f.offset = 0;
    }
    f.head = head;
    try {
      await this.readToEnd(f);
    } catch (err) {
      this.fail(errCode(err), `${this.path}: cannot read log file: ${describe(err)}; retrying`);
      return;
    }
    if (this._status.state !== 'following') this.setStatus('following', `following ${this.path}`);
  }

  /** Reads from the offset until EOF, delivering each read's complete lines in one call. */
  private async readToEnd(f: OpenFile): Promise<void> {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await f.fh.read(buf, 0, buf.length, f.offset);
      if (bytesRead === 0) return;
      f.offset += bytesRead;
      this.lastDataAt = Date.now();
      this.emit(this.splitter.push(buf.subarray(0, bytesRead)));
    }
  }

  private flushQuietPartial(): void {
    if (this.splitter.hasPartial && Date.now() - this.lastDataAt >= this.partialLineMs) {
      this.emit(this.splitter.flushPartial());
    }
  }

  private async closeFile(): Promise<void> {
    const f = this.file;
    this.file = null;
    if (f) this.closedAt = { dev: f.dev, ino: f.ino, offset: f.offset, head: f.head };
    await f?.fh.close().catch(() => undefined);
  }

  private async ensureWatcher(awaitReady: boolean): Promise<void> {
    if (this.watcher || this.stopped || Date.now() < this.watcherRetryAt) return;
    try {
      if (!(await stat(this.dir)).isDirectory()) return;
    } catch {
      return; // The directory does not exist (yet): the poll keeps looking.
    }
    const { dir, absPath } = this;
    const watcher = watch(dir, {
      depth: 0,
      ignoreInitial: true,
      // No unlink/add coalescing delay: events only wake us up, stat decides.
      atomic: false,
      // Only our file (and the directory itself) matter; ignoring the rest keeps /var/log cheap.
      ignored: (p: string) => p !== dir && p !== absPath,
    });
    this.watcher = watcher;
    // chokidar drops a 'change' within 50 ms of the previous one (a throttle, not a debounce): a log
    // written in bursts would wait for the poll. Raw fs.watch events are the undelayed wake-up we need.
    const base = path.basename(absPath);
    watcher.on('raw', (_event, evPath) => {
      if (!evPath || path.basename(evPath) === base) this.wake();
    });
    watcher.on('all', (event, p) => {
      if (event === 'unlinkDir' && p === dir) {
        // The directory went away: chokidar cannot follow a re-created one; the poll re-creates the watcher.
        if (this.watcher === watcher) this.watcher = null;
        void watcher.close();
      }
      this.wake();
    });
    watcher.on('error', () => {
      // A watch error only costs latency: the stat poll still runs. Retry the watcher a minute later.
      if (this.watcher === watcher) this.watcher = null;
      this.watcherRetryAt = Date.now() + 60_000;
      void watcher.close();
    });
    if (awaitReady) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        watcher.once('ready', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private emit(lines: string[]): void {
    if (lines.length > 0 && !this.closed) this.opts.onLines(lines, this.source);
  }

  private fail(code: string, message: string): void {
    this.setStatus('error', message);
    this.errors.report(new FollowError(this.source, code, message));
  }

  private setStatus(state: FollowState, message: string): void {
    if (this._status.state === state && this._status.message === message) return;
    this._status = { state, message, since: Date.now() };
    this.opts.onStatus?.(this._status, this.source);
  }
}

/** Byte offset where reading begins for a start position (before aligning to a line boundary). */
/** Where to go on from `at` in the file `st` whose first bytes are `head`: there if it is the same
 * file, as long or longer, with the same first bytes; else 0 (rotated, truncated or rewritten). */
export function resumedOffset(at: ReadPosition, st: { dev: number; ino: number; size: number }, head: Buffer): number {
  const same =
    at.dev === st.dev &&
    at.ino === st.ino &&
    st.size >= at.offset &&
    head.length >= at.head.length &&
    head.subarray(0, at.head.length).equals(at.head);
  return same ? at.offset : 0;
}

export function startOffset(start: StartPosition, size: number): number {
  if (start === 'start') return 0;
  if (start === 'end') return size;
  const bytes = Number(start.slice('tail:'.length));
  return Math.max(0, size - bytes);
}

async function readHead(fh: FileHandle, size: number): Promise<Buffer> {
  const want = Math.min(size, HEAD_BYTES);
  if (want === 0) return Buffer.alloc(0);
  const buf = Buffer.alloc(want);
  const { bytesRead } = await fh.read(buf, 0, want, 0);
  return buf.subarray(0, bytesRead);
}

function errCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : 'EIO';
}

function describe(err: unknown): string {
  switch (errCode(err)) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${errCode(err)})`;
    case 'EISDIR':
      return 'is a directory (EISDIR)';
    case 'ENOTDIR':
      return 'a parent of the path is not a directory (ENOTDIR)';
    default:
      return errorMessage(err);
  }
}
