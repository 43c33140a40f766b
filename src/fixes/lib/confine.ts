// Confinement of paths that come from log text (an attacker can write log lines): a path is only
// acted upon when its real location (symlinks resolved) lies inside one of the configured roots
// (addons paths, data dir, log dir, extra roots). openChecked/openConfined close the check-to-use race:
// they open with O_NOFOLLOW and re-check where the descriptor really points (/proc/self/fd), so a
// fix that chmods/chowns through the handle (fchmod/fchown) can never be redirected outside.
import { constants, promises as fsp, readlinkSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { Confiner, ConfineResult } from '../types.js';

/** Whether `p` is `root` or lies below it (a path-separator boundary: /data2 is not inside /data). */
export function isInside(p: string, root: string): boolean {
  if (p === root) return true;
  const prefix = root.endsWith(sep) ? root : root + sep;
  return p.startsWith(prefix);
}

/** realpath of a path that may not exist: realpath of its deepest existing ancestor + the rest. */
function realpathLenient(p: string): string {
  const missing: string[] = [];
  let cur = p;
  for (;;) {
    try {
      const real = realpathSync.native(cur);
      return missing.length ? join(real, ...missing.reverse()) : real;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = dirname(cur);
      if (parent === cur) throw err;
      missing.push(cur.slice(parent.length).replace(/^\/+/, ''));
      cur = parent;
    }
  }
}

export function createConfiner(roots: string[]): Confiner {
  const realRoots = [
    ...new Set(
      roots
        .filter((r) => typeof r === 'string' && r.length > 0 && isAbsolute(r) && !r.includes('\0'))
        .map((r) => {
          try {
            return realpathLenient(resolve(r));
          } catch {
            return resolve(r);
          }
        }),
    ),
  ];

  function check(input: string): ConfineResult {
    if (typeof input !== 'string' || input.length === 0) return { ok: false, reason: 'empty path' };
    if (input.includes('\0')) return { ok: false, reason: 'path contains a NUL byte' };
    if (!isAbsolute(input)) return { ok: false, reason: `${JSON.stringify(input)} is a relative path; only absolute paths are accepted` };
    if (input.split('/').includes('..')) return { ok: false, reason: `${input} contains '..'; refusing` };
    if (realRoots.length === 0) return { ok: false, reason: 'no confinement roots are configured (addons_path, data_dir, logfile, fixes.extraRoots)' };
    let real: string;
    try {
      real = realpathLenient(input);
    } catch (err) {
      return { ok: false, reason: `${input}: cannot resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
    }
    const root = realRoots.find((r) => isInside(real, r));
    if (root) return { ok: true, path: real, root };
    const lexical = resolve(input);
    if (realRoots.some((r) => isInside(lexical, r)) || real !== lexical) {
      return { ok: false, reason: `${input} resolves through a symbolic link to ${real}, outside the allowed roots (${realRoots.join(', ')})` };
    }
    return { ok: false, reason: `${input} is outside the allowed roots (${realRoots.join(', ')})` };
  }

  return { roots: realRoots, check };
}

export interface ConfinedFile {
  handle: fsp.FileHandle;
  /** The real path the descriptor points to (checked inside `root`). */
  path: string;
  root: string;
}

export class ConfinementError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ConfinementError';
  }
}

/** Where an open descriptor really points. Linux /proc; elsewhere we cannot re-check, so we refuse. */
function fdRealPath(fd: number): string {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch (err) {
    throw new ConfinementError(`cannot re-check an opened file's real path (/proc/self/fd unavailable: ${(err as Error).message})`);
  }
}

/**
 * Opens a path checked earlier (e.g. at plan time) and verifies it is still the same confined file:
 * O_NOFOLLOW refuses a final component that became a symlink, and the descriptor's real path catches a
 * parent directory swapped for a symlink. `flags` are fs.constants flags (default O_RDONLY); O_NONBLOCK
 * is added so a FIFO planted at the path cannot hang us.
 */
export async function openChecked(checked: { path: string; root: string }, flags: number = constants.O_RDONLY): Promise<ConfinedFile> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(checked.path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new ConfinementError(`${checked.path} became a symbolic link after it was checked; refusing`);
    throw new ConfinementError(`${checked.path}: cannot open (${code ?? (err as Error).message})`);
  }
  const real = fdRealPath(handle.fd);
  if (real !== checked.path || !isInside(real, checked.root)) {
    await handle.close();
    throw new ConfinementError(`${checked.path} changed after it was checked: it now opens ${real}; refusing`);
  }
  return { handle, path: real, root: checked.root };
}

/** check() then openChecked(): for a path straight from log text. Throws ConfinementError with the reason. */
export async function openConfined(confiner: Confiner, path: string, flags: number = constants.O_RDONLY): Promise<ConfinedFile> {
  const res = confiner.check(path);
  if (!res.ok) throw new ConfinementError(res.reason);
  return openChecked(res, flags);
}
