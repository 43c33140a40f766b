// The one way fixes change files: a byte copy of the original (plus a manifest entry) is made durable
// BEFORE the file is touched, then the file is replaced atomically keeping its mode and owner. A
// process killed at any instant therefore leaves the file wholly old or wholly new, and the backup in
// place (the copy and manifest are fsync'd before the replace starts).
import { createHash } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ensureDir, fsyncDir, writeFileAtomically, writeJsonDurable } from '../../engine/core/durable.js';
import type { BackupEntry, SafeWriter } from '../types.js';

export interface SafeWriterOptions {
  backupDir: string;
  fixId: string;
  incidentId: string;
  attemptId: string;
}

export interface BackupManifest {
  version: 1;
  attemptId: string;
  fixId: string;
  incidentId: string;
  entries: BackupEntry[];
}

const CHUNK = 1 << 20;

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of a file's content, or null when it does not exist. Never follows a final symlink. */
export async function sha256File(path: string): Promise<string | null> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const hash = createHash('sha256');
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
    return hash.digest('hex');
  } finally {
    await fh.close();
  }
}

export function manifestPath(backupDir: string, attemptId: string): string {
  return join(backupDir, attemptId, 'manifest.json');
}

/** The backups an attempt made (also those of an attempt killed before it recorded them). */
export async function readManifest(backupDir: string, attemptId: string): Promise<BackupManifest | null> {
  try {
    return JSON.parse(await fsp.readFile(manifestPath(backupDir, attemptId), 'utf8')) as BackupManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`backup manifest ${manifestPath(backupDir, attemptId)}: ${(err as Error).message}`);
  }
}

/** Whether the file at entry.path differs (content, mode, owner or existence) from its backup. */
export async function differsFromBackup(entry: BackupEntry): Promise<boolean> {
  let st;
  try {
    st = await fsp.lstat(entry.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  if (!st.isFile()) return true;
  if ((st.mode & 0o7777) !== entry.mode || st.uid !== entry.uid || st.gid !== entry.gid) return true;
  return (await sha256File(entry.path)) !== entry.sha256;
}

function requireAbsolute(path: string): void {
  if (typeof path !== 'string' || !isAbsolute(path) || path.includes('\0')) {
    throw new Error(`safe writer: refusing path ${JSON.stringify(path)}: an absolute path without NUL bytes is required`);
  }
}

/** Opens an existing regular file for reading without following a final symlink. */
async function openRegular(path: string): Promise<fsp.FileHandle> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Error(`safe writer: ${path} is a symbolic link; refusing (pass the confined real path)`);
    if (code === 'ENOENT') throw new Error(`safe writer: ${path} does not exist`);
    throw err;
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new Error(`safe writer: ${path} is not a regular file; refusing`);
  }
  return fh;
}

/** One line for a failed backup; a full disk says so plainly (the fix did not touch the file). */
function backupError(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const e = new Error(`no space left to back up ${path} (${code}); the file was not changed`) as NodeJS.ErrnoException;
    e.code = code;
    return e;
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function createSafeWriter(opts: SafeWriterOptions): SafeWriter {
  const dir = join(opts.backupDir, opts.attemptId);
  let manifest: BackupManifest | null = null;
  // One operation at a time: manifest updates and copy numbering must not interleave.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };

  async function loadManifest(): Promise<BackupManifest> {
    if (!manifest) {
      manifest = (await readManifest(opts.backupDir, opts.attemptId)) ?? {
        version: 1,
        attemptId: opts.attemptId,
        fixId: opts.fixId,
        incidentId: opts.incidentId,
        entries: [],
      };
    }
    return manifest;
  }

  async function backupUnlocked(path: string): Promise<BackupEntry> {
    requireAbsolute(path);
    const src = await openRegular(path);
    try {
      const st = await src.stat();
      await ensureDir(dir);
      const m = await loadManifest();
      const copy = join(dir, `${String(m.entries.length + 1).padStart(3, '0')}-${basename(path)}`);
      const tmp = `${copy}.partial-${process.pid}`;
      const hash = createHash('sha256');
      let size = 0;
      try {
        const dst = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
        try {
          const buf = Buffer.alloc(CHUNK);
          for (;;) {
            const { bytesRead } = await src.read(buf, 0, CHUNK, null);
            if (bytesRead === 0) break;
            const chunk = buf.subarray(0, bytesRead);
            hash.update(chunk);
            await dst.write(chunk);
            size += bytesRead;
          }
          await dst.sync();
        } finally {
          await dst.close();
        }
        await fsp.rename(tmp, copy);
        await fsyncDir(dir);
      } catch (err) {
        // A full disk (ENOSPC) must not leave a truncated copy that looks like a backup.
        await fsp.rm(tmp, { force: true }).catch(() => undefined);
        throw backupError(path, err);
      }
      const entry: BackupEntry = {
        path,
        copy,
        sha256: hash.digest('hex'),
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        size,
        takenAt: Date.now(),
        fixId: opts.fixId,
        incidentId: opts.incidentId,
        attemptId: opts.attemptId,
      };
      m.entries.push(entry);
      try {
        await writeJsonDurable(manifestPath(opts.backupDir, opts.attemptId), m, { mode: 0o600 });
      } catch (err) {
        // Not in the manifest, so not a backup: remove the copy rather than leave an orphan.
        m.entries.pop();
        await fsp.rm(copy, { force: true }).catch(() => undefined);
        throw backupError(path, err);
      }
      return entry;
    } finally {
      await src.close();
    }
  }

  return {
    backup: (path) => serial(() => backupUnlocked(path)),

    replaceFile: (path, content) =>
      serial(async () => {
        const entry = await backupUnlocked(path);
        // write-file-atomic: temp file next to the target, fsync, chown/chmod to the original's, rename.
        await writeFileAtomically(path, content, { mode: entry.mode, chown: { uid: entry.uid, gid: entry.gid }, fsync: true });
        await fsyncDir(dirname(path));
        return entry;
      }),

    restore: (entry) =>
      serial(async () => {
        requireAbsolute(entry.path);
        const data = await fsp.readFile(entry.copy);
        const actual = sha256(data);
        if (actual !== entry.sha256) {
          throw new Error(`backup copy ${entry.copy} is damaged: sha256 ${actual}, manifest says ${entry.sha256}; not restoring ${entry.path}`);
        }
        try {
          const st = await fsp.lstat(entry.path);
          if (st.isSymbolicLink()) throw new Error(`restore: ${entry.path} is now a symbolic link; refusing to write through it`);
          if (!st.isFile()) throw new Error(`restore: ${entry.path} is now not a regular file; refusing`);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
        await writeFileAtomically(entry.path, data, { mode: entry.mode, chown: { uid: entry.uid, gid: entry.gid }, fsync: true });
        await fsyncDir(dirname(entry.path));
        if (await differsFromBackup(entry)) {
          throw new Error(`restore: ${entry.path} does not match its backup after restoring (content, mode or owner)`);
        }
      }),
  };
}
