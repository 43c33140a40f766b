// Fix: `PermissionError: [Errno 13] Permission denied: '<path>'` under Odoo's data dir or log dir.
// Gives the path (or its nearest existing ancestor), its parent directories up to the data dir / log
// dir, and — for a filestore database dir or the sessions dir — every entry below it back to Odoo's
// user, with the owner bits Odoo needs.
//
// Modes: Odoo creates its files with the process umask (os.makedirs / open with the defaults), so there
// is no single "right" mode. We only ADD what the owner needs — u+rwx on directories, u+rw on files —
// and keep the group/other bits as the admin set them (a group www-data may be deliberate). Likewise the
// group is only changed together with a wrong owner.
import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import type { Incident } from '../engine/core/types.js';
import { incidentParam } from './fix-util.js';
import { isInside, openConfined } from './lib/confine.js';
import { odooUser, type OdooUser } from '../engine/probes/odoo-user.js';
import { writeTestAs } from '../engine/probes/write-test.js';
import type { Applied, DetectResult, Fix, FixContext, FixPlan, PlanAction, Verification } from './types.js';

export interface PermissionsParams {
  /** Real path named by the error (may no longer exist: a makedirs that failed). */
  path: string;
  /** The Odoo-owned root it lies under (data dir or log dir, realpath). */
  base: string;
}

export interface PermChange {
  path: string;
  dir: boolean;
  /** Identity at plan time: apply refuses a different file put at the same path. */
  dev?: number;
  ino?: number;
  fromUid: number;
  fromGid: number;
  fromMode: number;
  toUid: number;
  toGid: number;
  toMode: number;
}

export interface PermissionsData {
  path: string;
  /** The deepest existing path checked by the write test. */
  existing: string;
  user: OdooUser;
  changes: PermChange[];
  /** Entries of the recursive repair left alone because they are not Odoo's (ownerRefusal). */
  leftAlone?: string[];
}

/** Directories never chowned even when they are a configured dir (logfile=/var/log/odoo.log...). */
const SHARED_DIRS = new Set(['/', '/tmp', '/var', '/var/log', '/var/lib', '/var/tmp', '/home', '/opt', '/srv', '/usr', '/etc', '/root', '/run']);

/** Cap on entries walked under a filestore/sessions dir: a plan must stay readable and bounded. */
const MAX_ENTRIES = 200_000;

/**
 * What this fix may touch, from odoo.conf (realpath'd): the data dir as a tree, and in the log dir
 * ONLY the logfile and its rotations (`<logfile>*`, files directly in that dir). The log dir itself is
 * often shared (/var/log): everything else in it belongs to someone else.
 */
interface Scope {
  data: string | null;
  logDir: string | null;
  logName: string | null;
}

function scopeOf(ctx: FixContext): Scope {
  const data = ctx.odoo.dataDir ? ctx.confiner.check(ctx.odoo.dataDir) : null;
  const logDir = ctx.odoo.logfile ? ctx.confiner.check(dirname(ctx.odoo.logfile)) : null;
  return {
    data: data?.ok ? data.path : null,
    logDir: logDir?.ok ? logDir.path : null,
    logName: ctx.odoo.logfile ? basename(ctx.odoo.logfile) : null,
  };
}

/** The logfile or one of its rotations (odoo.log, odoo.log.1, odoo.log.2.gz, odoo.log-20240101). */
function isLogfile(path: string, scope: Scope): boolean {
  return !!scope.logDir && !!scope.logName && dirname(path) === scope.logDir && basename(path).startsWith(scope.logName);
}

/**
 * Whose files the fix may give to Odoo's user. Odoo's user's own files: modes only. Root's files: only
 * inside the data dir and the logfile and its rotations (the classic cause: `odoo-bin` or a restore
 * run as root), and never a regular file with other hard links (it may be a system file linked in) or
 * with set-uid/set-gid bits (Odoo never makes those). Any other owner: never (it is another service's).
 * Returns why not, or null when allowed.
 */
export function ownerRefusal(path: string, st: { uid: number; nlink: number; mode: number; isFile(): boolean }, user: { uid: number }, inScope: boolean): string | null {
  if (st.uid === user.uid) return null;
  if (st.uid !== 0) return `${path} is owned by uid ${st.uid}, neither Odoo's user (uid ${user.uid}) nor root: it is not Odoo's; refusing`;
  if (!inScope) return `${path} is owned by root outside the data dir and the logfile; refusing`;
  if (st.isFile() && st.nlink > 1) return `${path} is a root-owned file with ${st.nlink} hard links (possibly a system file linked in); refusing`;
  if (st.isFile() && (st.mode & 0o6000) !== 0) return `${path} is a root-owned set-uid/set-gid file; refusing`;
  return null;
}

function wantedMode(mode: number, dir: boolean): number {
  return (mode & 0o7777) | (dir ? 0o700 : 0o600);
}

function fmtMode(m: number): string {
  return `0${(m & 0o7777).toString(8).padStart(3, '0')}`;
}

function changeFor(path: string, st: { dev: number; ino: number; uid: number; gid: number; mode: number; isDirectory(): boolean }, user: { uid: number; gid: number }): PermChange | null {
  const dir = st.isDirectory();
  const wrongOwner = st.uid !== user.uid;
  const toMode = wantedMode(st.mode, dir);
  if (!wrongOwner && toMode === (st.mode & 0o7777)) return null;
  return {
    path,
    dir,
    dev: st.dev,
    ino: st.ino,
    fromUid: st.uid,
    fromGid: st.gid,
    fromMode: st.mode & 0o7777,
    toUid: user.uid,
    toGid: wrongOwner ? user.gid : st.gid,
    toMode,
  };
}

/** Where the recursive repair applies: `<data>/filestore/<db>` or `<data>/sessions`, if path is in it. */
function recursiveScope(path: string, base: string, ctx: FixContext): string | null {
  const data = ctx.odoo.dataDir ? ctx.confiner.check(ctx.odoo.dataDir) : null;
  if (!data?.ok || data.path !== base) return null;
  const rel = relative(base, path).split(sep);
  if (rel[0] === 'filestore' && rel[1]) return join(base, 'filestore', rel[1]);
  if (rel[0] === 'sessions') return join(base, 'sessions');
  return null;
}

async function walk(dir: string, visit: (p: string, st: import('node:fs').Stats) => void, count = { n: 0 }): Promise<void> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (++count.n > MAX_ENTRIES) throw new Error(`more than ${MAX_ENTRIES} entries under ${dir}; repair by hand`);
    const p = join(dir, e.name);
    const st = await fsp.lstat(p);
    // Symlinks are never followed nor changed; only directories and regular files are Odoo's.
    if (st.isSymbolicLink() || !(st.isDirectory() || st.isFile())) continue;
    visit(p, st);
    if (st.isDirectory()) await walk(p, visit, count);
  }
}

export const permissions: Fix<PermissionsParams, PermissionsData> = {
  id: 'permissions',
  title: "Restore Odoo's ownership and permissions on its data / log files",

  detect(incident: Incident, ctx: FixContext): DetectResult<PermissionsParams> {
    const raw = incidentParam(incident, 'path');
    if (!raw) return { ok: false, reason: 'the incident names no path (no `path` capture from the PermissionError)' };
    const c = ctx.confiner.check(raw);
    if (!c.ok) return { ok: false, reason: c.reason };
    const scope = scopeOf(ctx);
    if (scope.data && isInside(c.path, scope.data)) return { ok: true, params: { path: c.path, base: scope.data } };
    // A log file: the file alone is the base (no directory of the log dir is ever changed).
    if (isLogfile(c.path, scope)) return { ok: true, params: { path: c.path, base: c.path } };
    const logs = scope.logDir && scope.logName ? `, nor the logfile ${join(scope.logDir, scope.logName)} or its rotations` : '';
    return { ok: false, reason: `${c.path} is not under Odoo's data dir${scope.data ? ` (${scope.data})` : ''}${logs}; only those are repaired` };
  },

  async plan(params, incident, ctx): Promise<FixPlan<PermissionsData>> {
    const user = await odooUser(ctx);
    if ('error' in user) throw new Error(user.error);
    if (user.uid === 0) throw new Error(`Odoo's user resolves to root (${user.source}); refusing to hand files to it`);
    const owned = scopeOf(ctx);
    const inScope = (p: string): boolean => (!!owned.data && isInside(p, owned.data)) || isLogfile(p, owned);
    if (!inScope(params.path)) throw new Error(`${params.path} is no longer under the data dir nor the logfile; refusing`);
    // The error may name a directory Odoo failed to create: start at the deepest existing path.
    let existing = params.path;
    while (existing !== params.base) {
      try {
        await fsp.lstat(existing);
        break;
      } catch {
        existing = dirname(existing);
      }
    }
    if (existing === params.base && params.base === params.path) {
      // The logfile: it must exist (a missing one means the log DIR refuses Odoo, which is not ours).
      await fsp.lstat(existing).catch(() => {
        throw new Error(`${existing} does not exist: the log directory is not writable by Odoo, and this fix never changes a directory outside the data dir`);
      });
    }
    const changes: PermChange[] = [];
    const leftAlone: string[] = [];
    const seen = new Set<string>();
    const add = (p: string, st: import('node:fs').Stats, strict: boolean): void => {
      if (seen.has(p)) return;
      seen.add(p);
      if (SHARED_DIRS.has(p)) return;
      if (st.isDirectory() && !(owned.data && isInside(p, owned.data))) throw new Error(`${p} is a directory outside the data dir; refusing`);
      const ch = changeFor(p, st, user);
      if (!ch) return;
      const refusal = ownerRefusal(p, st, user, inScope(p));
      if (refusal) {
        // The path named by the error and its parents must be Odoo's; inside a tree, others' files are skipped.
        if (strict) throw new Error(refusal);
        leftAlone.push(refusal);
        return;
      }
      changes.push(ch);
    };
    // Parents first (top-down), so apply never works inside a directory it cannot enter yet.
    const chain: string[] = [];
    for (let p = existing; ; p = dirname(p)) {
      chain.unshift(p);
      if (p === params.base || dirname(p) === p) break;
    }
    for (const p of chain) {
      const st = await fsp.lstat(p);
      if (st.isSymbolicLink()) throw new Error(`${p} is a symbolic link; refusing to repair through it`);
      if (!st.isDirectory() && !st.isFile()) throw new Error(`${p} is neither a regular file nor a directory; refusing`);
      add(p, st, true);
    }
    const scope = recursiveScope(existing, params.base, ctx);
    if (scope && isInside(existing, scope)) {
      const st = await fsp.lstat(scope);
      if (st.isDirectory() && !st.isSymbolicLink()) await walk(scope, (p, s) => add(p, s, false));
    }
    const who = `${user.name ?? user.uid} (uid ${user.uid}, gid ${user.gid}, from ${user.source})`;
    const lines = changes.map(
      (c) => `  ${c.path}${c.dir ? '/' : ''}: ${c.fromUid}:${c.fromGid} ${fmtMode(c.fromMode)} -> ${c.toUid}:${c.toGid} ${fmtMode(c.toMode)}`,
    );
    const actions: PlanAction[] = changes.flatMap((c): PlanAction[] => [
      ...(c.fromUid !== c.toUid || c.fromGid !== c.toGid
        ? [{ kind: 'chown' as const, path: c.path, fromUid: c.fromUid, fromGid: c.fromGid, toUid: c.toUid, toGid: c.toGid }]
        : []),
      ...(c.fromMode !== c.toMode ? [{ kind: 'chmod' as const, path: c.path, fromMode: c.fromMode, toMode: c.toMode }] : []),
    ]);
    const data: PermissionsData = { path: params.path, existing, user, changes, leftAlone };
    return {
      fixId: this.id,
      incidentId: incident.id,
      summary: changes.length
        ? `Give ${changes.length} path(s) under ${params.base} back to Odoo's user ${user.name ?? user.uid}`
        : `${existing}: owner and modes already right for ${user.name ?? user.uid}; nothing to change`,
      why: `Odoo runs as ${who} and got "Permission denied" on ${params.path}; it must own its data and be able to read, write and enter it.`,
      preview:
        (changes.length ? `Changes (path: owner mode -> owner mode):\n${lines.join('\n')}` : 'No change needed.') +
        (leftAlone.length ? `\nLeft alone (not Odoo's): ${leftAlone.length}, e.g. ${leftAlone.slice(0, 3).join('; ')}` : '') +
        '\nOnly files of Odoo\'s user, and root\'s inside the data dir or the logfile, are ever changed; no directory outside the data dir.' +
        '\nModes: only the owner bits Odoo needs are added (dirs u+rwx, files u+rw); group/other bits are kept.' +
        '\nRollback restores every previous owner and mode.',
      actions,
      applicable: changes.length > 0,
      data,
    };
  },

  async apply(plan, ctx): Promise<Applied> {
    const done: PermChange[] = [];
    try {
      for (const ch of plan.data.changes) {
        const f = await openConfined(ctx.confiner, ch.path, constants.O_RDONLY | (ch.dir ? constants.O_DIRECTORY : 0));
        try {
          const st = await f.handle.stat();
          const other = (ch.ino !== undefined && st.ino !== ch.ino) || (ch.dev !== undefined && st.dev !== ch.dev);
          if (other || st.uid !== ch.fromUid || st.gid !== ch.fromGid || (st.mode & 0o7777) !== ch.fromMode) {
            throw new Error(`${ch.path} changed since the plan (now ${other ? 'another file, ' : ''}${st.uid}:${st.gid} ${fmtMode(st.mode)}); plan again`);
          }
          // The owner rules again on what the descriptor holds (a hard link may have appeared since).
          const refusal = ownerRefusal(ch.path, st, plan.data.user, true);
          if (refusal) throw new Error(refusal);
          // chown first: it may clear set-id bits, which the chmod then sets as planned.
          if (ch.fromUid !== ch.toUid || ch.fromGid !== ch.toGid) await f.handle.chown(ch.toUid, ch.toGid);
          done.push(ch);
          await f.handle.chmod(ch.toMode);
        } finally {
          await f.handle.close();
        }
      }
    } catch (err) {
      // Leave nothing half-done: undo what this run changed, then report.
      await undo(done, ctx).catch(() => undefined);
      throw err;
    }
    return { backups: [], commands: [], undo: { changes: done } };
  },

  async verify(plan, applied, ctx): Promise<Verification> {
    const problems: string[] = [];
    for (const ch of plan.data.changes) {
      try {
        const st = await fsp.lstat(ch.path);
        if (st.uid !== ch.toUid || st.gid !== ch.toGid || (st.mode & 0o7777) !== ch.toMode) {
          problems.push(`${ch.path} is ${st.uid}:${st.gid} ${fmtMode(st.mode)}`);
        }
      } catch (err) {
        problems.push(`${ch.path}: ${(err as Error).message}`);
      }
    }
    if (problems.length) return { ok: false, detail: `not as planned: ${problems.slice(0, 5).join('; ')}` };
    // Odoo agrees only if Odoo's user can really write there now: a write (then removal) as that user.
    const p = plan.data.existing;
    const test = await writeTestAs(plan.data.user, p, (await fsp.lstat(p)).isDirectory());
    if (test.ok === false) return { ok: false, detail: test.detail };
    if (test.ok === true) return { ok: true, detail: `${plan.data.changes.length} path(s) repaired; ${test.detail}` };
    return { ok: true, detail: `${plan.data.changes.length} path(s) repaired (owner and modes re-checked; ${test.detail})` };
  },

  async rollback(_plan, applied, ctx): Promise<void> {
    const changes = (applied.undo as { changes?: PermChange[] } | null)?.changes ?? [];
    await undo(changes, ctx);
  },
};

/** Restores previous owner and mode, deepest first (reverse of apply). */
async function undo(changes: PermChange[], ctx: FixContext): Promise<void> {
  const errors: string[] = [];
  for (const ch of [...changes].reverse()) {
    try {
      const f = await openConfined(ctx.confiner, ch.path, constants.O_RDONLY | (ch.dir ? constants.O_DIRECTORY : 0));
      try {
        await f.handle.chown(ch.fromUid, ch.fromGid);
        await f.handle.chmod(ch.fromMode);
      } finally {
        await f.handle.close();
      }
    } catch (err) {
      errors.push(`${ch.path}: ${(err as Error).message}`);
    }
  }
  if (errors.length) throw new Error(`rollback incomplete: ${errors.join('; ')}`);
}
