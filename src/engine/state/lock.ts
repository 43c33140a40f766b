// One acting odoo-heal per host: a lock file in the state dir naming the holder's pid and its start
// time (field 22 of /proc/<pid>/stat), so that a dead holder, or a pid reused by an unrelated process,
// is recognised as stale and taken over (and we say so). The lock file is created complete (written to
// a temp file, then hard-linked into place, which fails atomically if it exists), so a reader never
// sees a half-written lock.
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp, readFileSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ensureDir, fsyncDir } from '../core/durable.js';
import { ensureReserve, isNoSpace, writeState } from '../core/space-reserve.js';

export const LOCK_FILE = 'odoo-heal.lock';

export interface LockInfo {
  pid: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22); null off Linux. */
  startTime: string | null;
  host: string;
  acquiredAt: string;
  argv: string[];
}

export interface Lock {
  path: string;
  info: LockInfo;
  /** Set when a stale lock was taken over: whose, and why it was stale. */
  tookOver: { pid: number; reason: string } | null;
  release(): Promise<void>;
}

export class LockHeldError extends Error {
  constructor(
    readonly holder: LockInfo,
    readonly path: string,
  ) {
    super(
      `another odoo-heal is acting on this host: pid ${holder.pid} (since ${holder.acquiredAt}${holder.argv.length ? `, ${holder.argv.join(' ')}` : ''}); lock ${path}`,
    );
    this.name = 'LockHeldError';
  }
}

/** Start time of a process (clock ticks since boot), or null when it does not exist / no /proc. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: fields after the LAST ')' are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 = index 19 after pid, comm (fields 1-2) and state (field 3 = index 0)
  } catch {
    return null;
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a recorded holder no longer holds the lock, or null when it is alive. */
export function staleReason(info: LockInfo): string | null {
  if (!Number.isInteger(info.pid) || info.pid <= 0) return 'the lock file names no valid pid';
  if (!pidExists(info.pid)) return `pid ${info.pid} is not running`;
  if (info.startTime !== null) {
    const now = processStartTime(info.pid);
    if (now !== null && now !== info.startTime) return `pid ${info.pid} now belongs to another process (start time ${now}, lock says ${info.startTime})`;
  }
  return null;
}

async function readLock(path: string): Promise<LockInfo | 'missing' | 'garbage'> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  try {
    const info = JSON.parse(text) as LockInfo;
    return typeof info?.pid === 'number' ? info : 'garbage';
  } catch {
    return 'garbage';
  }
}

export async function acquireLock(stateDir: string): Promise<Lock> {
  await ensureDir(stateDir);
  const path = join(stateDir, LOCK_FILE);
  const info: LockInfo = {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    host: hostname(),
    acquiredAt: new Date().toISOString(),
    argv: process.argv.slice(1),
  };
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const writeTmp = async (): Promise<void> => {
    const fh = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
    try {
      await fh.writeFile(`${JSON.stringify(info)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
  };
  try {
    // On a full disk the space reserve is given up so that the fix that frees space can still run.
    await writeState(stateDir, writeTmp);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    if (isNoSpace(err)) throw new Error(`cannot take the lock in ${stateDir}: no space left on the device (${(err as NodeJS.ErrnoException).code})`);
    throw err;
  }
  let tookOver: Lock['tookOver'] = null;
  try {
    for (let tries = 0; ; tries++) {
      try {
        await fsp.link(tmp, path);
        await fsyncDir(stateDir);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 5) throw err;
      }
      const holder = await readLock(path);
      if (holder === 'missing') continue;
      const reason = holder === 'garbage' ? 'the lock file is unreadable' : staleReason(holder);
      if (reason === null) throw new LockHeldError(holder as LockInfo, path);
      // Move the stale lock aside under a unique name, then make sure what we moved is the stale one
      // (another process may have taken over in between); if not, put it back.
      const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
      try {
        await fsp.rename(path, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      const moved = await readLock(aside);
      const same =
        moved === holder ||
        (typeof moved === 'object' && typeof holder === 'object' && moved.pid === holder.pid && moved.startTime === holder.startTime);
      if (!same) {
        await fsp.link(aside, path).catch(() => undefined);
        await fsp.unlink(aside).catch(() => undefined);
        continue;
      }
      await fsp.unlink(aside).catch(() => undefined);
      tookOver = { pid: typeof holder === 'object' ? holder.pid : 0, reason };
    }
  } finally {
    await fsp.unlink(tmp).catch(() => undefined);
  }

  await ensureReserve(stateDir);
  let released = false;
  const releaseSync = (): void => {
    // Last-chance cleanup on exit; a crash leaves a lock that the next run detects as stale.
    try {
      const cur = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
      if (cur.pid === info.pid && cur.startTime === info.startTime) {
        unlinkSync(path);
      }
    } catch {
      /* nothing to do */
    }
  };
  process.once('exit', releaseSync);
  return {
    path,
    info,
    tookOver,
    async release() {
      if (released) return;
      released = true;
      process.removeListener('exit', releaseSync);
      const cur = await readLock(path);
      if (typeof cur === 'object' && cur.pid === info.pid && cur.startTime === info.startTime) {
        await fsp.unlink(path).catch(() => undefined);
      }
    },
  };
}
