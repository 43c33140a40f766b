// A full disk must not leave odoo-heal's own records half-written. A small file is kept in the state
// dir and given up when a write there hits ENOSPC, so that the lock can still be taken and the outcome
// of a fix attempt (its record and audit entry) still written after something filled the disk — in
// particular by the fix that frees space (session cleanup). It is put back at the next lock.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ensureDir } from './durable.js';

export const RESERVE_BYTES = 64 * 1024;

export function reservePath(stateDir: string): string {
  return join(stateDir, 'space-reserve');
}

export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Puts the reserve back (best effort: on a disk already full it is simply not there). */
export async function ensureReserve(stateDir: string): Promise<void> {
  const p = reservePath(stateDir);
  try {
    if ((await fsp.stat(p)).size >= RESERVE_BYTES) return;
  } catch {
    /* not there yet */
  }
  try {
    await ensureDir(stateDir);
    const fh = await fsp.open(p, 'w', 0o600);
    try {
      await fh.write(Buffer.alloc(RESERVE_BYTES)); // written, not sparse: the blocks are really taken
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    await fsp.rm(p, { force: true }).catch(() => undefined);
  }
}

/** A write to the state dir; on a full disk the reserve is given up and the write tried once more. */
export async function writeState<T>(stateDir: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (!isNoSpace(err)) throw err;
    const freed = await fsp.rm(reservePath(stateDir)).then(
      () => true,
      () => false,
    );
    if (!freed) throw err;
    return await op();
  }
}
