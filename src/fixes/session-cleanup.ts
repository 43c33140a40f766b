// Fix: remove Odoo session files older than fixes.sessionMaxAgeDays from `<data_dir>/sessions`
// (disk full, session bloat). Odoo 18 keeps one file per session in `sessions/<2 chars>/<sid>` and its
// own vacuum deletes those unused for a week (by mtime): we do the same, earlier or when the vacuum
// does not run. Only regular files, never through a symlink, never outside sessions/ (the filestore
// holds attachments: never touched).
//
// Backups: a session file is disposable (losing it logs that user out), but deleting is irreversible,
// so the files are copied to the backup dir first — UNLESS the copy would eat the space we are freeing:
// when the backup dir is on the same filesystem as the sessions and that filesystem would be left with
// less than 10% free, we skip the backup and say so in the plan (rollback then has nothing to restore).
import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Incident } from '../engine/core/types.js';
import { isInside } from './lib/confine.js';
import { type Confirmation, confirmationLine, originStillHolds } from './lib/confirm.js';
import type { Applied, BackupEntry, DetectResult, Fix, FixContext, FixPlan, Verification } from './types.js';

export interface SessionCleanupParams {
  /** Real path of `<data_dir>/sessions`. */
  dir: string;
  maxAgeDays: number;
}

export interface SessionFile {
  path: string;
  bytes: number;
  mtimeMs: number;
  dev: number;
  ino: number;
  /** The directory holding it (sessions/ or sessions/<xx>/) and that directory's identity at plan time. */
  parent: string;
  parentDev: number;
  parentIno: number;
}

export interface SessionCleanupData {
  dir: string;
  /** Identity of the sessions dir at plan time: apply refuses when it is not the same directory. */
  dirDev: number;
  dirIno: number;
  maxAgeDays: number;
  cutoffMs: number;
  files: SessionFile[];
  totalBytes: number;
  backup: boolean;
  backupReason: string;
  /** What the plan relied on: the disk holding the sessions seen over the critical threshold. */
  confirmation?: Confirmation;
}

const DAY_MS = 86_400_000;
const MAX_FILES = 500_000;

async function collect(dir: string, cutoffMs: number): Promise<SessionFile[]> {
  const out: SessionFile[] = [];
  let seen = 0;
  // Two levels like Odoo: sessions/<sid> (older layouts) and sessions/<xx>/<sid>. Deeper is not Odoo's.
  async function scan(d: string, depth: number): Promise<void> {
    const dst = await fsp.lstat(d);
    if (!dst.isDirectory()) return;
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      if (++seen > MAX_FILES) throw new Error(`more than ${MAX_FILES} entries under ${dir}; clean up by hand`);
      const p = join(d, e.name);
      const st = await fsp.lstat(p);
      if (st.isSymbolicLink()) continue;
      if (st.isDirectory() && depth === 0) await scan(p, 1);
      else if (st.isFile() && st.mtimeMs < cutoffMs) {
        out.push({ path: p, bytes: st.size, mtimeMs: st.mtimeMs, dev: st.dev, ino: st.ino, parent: d, parentDev: dst.dev, parentIno: dst.ino });
      }
    }
  }
  await scan(dir, 0);
  return out.sort((a, b) => a.mtimeMs - b.mtimeMs);
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

async function nearestExisting(p: string): Promise<string> {
  for (let cur = p; ; cur = dirname(cur)) {
    try {
      await fsp.stat(cur);
      return cur;
    } catch {
      if (dirname(cur) === cur) return cur;
    }
  }
}

/** Whether copying `bytes` to the backup dir is sensible (see the header comment). */
async function backupDecision(ctx: FixContext, sessionsDir: string, bytes: number): Promise<{ backup: boolean; reason: string }> {
  const backupAt = await nearestExisting(ctx.config.paths.backupDir);
  const [sSt, bSt] = await Promise.all([fsp.stat(sessionsDir), fsp.stat(backupAt)]);
  const fs = await fsp.statfs(backupAt);
  const free = fs.bavail * fs.bsize;
  const total = fs.blocks * fs.bsize;
  if (free - bytes < 0) return { backup: false, reason: `no backup: the backup filesystem has ${fmtBytes(free)} free, less than the ${fmtBytes(bytes)} to copy` };
  if (sSt.dev === bSt.dev && (free - bytes) / total < 0.1) {
    return { backup: false, reason: `no backup: the backup dir shares the sessions' filesystem, which would be left under 10% free (session files are disposable)` };
  }
  return { backup: true, reason: `backed up to ${ctx.config.paths.backupDir} first (rollback restores them)` };
}

/**
 * The filesystem holding the sessions is over the critical threshold (space or inodes, as `df` counts
 * them), or the probe that raised the incident still sees its finding.
 */
async function confirmDiskFull(dir: string, incident: Incident, ctx: FixContext): Promise<Confirmation> {
  const own = await originStillHolds(incident, ctx);
  if (own) return own;
  const checkedAt = Date.now();
  const check = `disk usage check (statfs of ${dir})`;
  const t = ctx.config.thresholds;
  try {
    const fs = await fsp.statfs(dir);
    const used = fs.blocks - fs.bfree;
    const usedPct = used + fs.bavail > 0 ? (100 * used) / (used + fs.bavail) : 0;
    const inodePct = fs.files > 0 ? (100 * (fs.files - fs.ffree)) / fs.files : 0;
    const seen = `space ${usedPct.toFixed(1)}% used (${fmtBytes(fs.bavail * fs.bsize)} free), inodes ${inodePct.toFixed(1)}% used; critical at ${t.diskCritPercent}% / ${t.inodeCritPercent}%`;
    return { confirmed: usedPct >= t.diskCritPercent || (fs.files > 0 && inodePct >= t.inodeCritPercent), check, observed: seen, checkedAt };
  } catch (err) {
    return { confirmed: false, check, observed: `statfs failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, checkedAt };
  }
}

type Opened = { ok: true; handle: fsp.FileHandle } | { ok: false; reason: string };

/** lstat identity check of a path that must still be the planned directory (not a symlink, same dev+ino). */
async function isPlannedDir(path: string, dev: number, ino: number): Promise<boolean> {
  try {
    const st = await fsp.lstat(path);
    return st.isDirectory() && st.dev === dev && st.ino === ino;
  } catch {
    return false;
  }
}

async function stillInPlace(parent: string, dev: number, ino: number, data: SessionCleanupData): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (!(await isPlannedDir(data.dir, data.dirDev, data.dirIno))) return { ok: false, reason: `${data.dir} is no longer the planned directory` };
  if (!(await isPlannedDir(parent, dev, ino))) return { ok: false, reason: `${parent} is no longer the planned directory` };
  return { ok: true };
}

/** Opens a planned parent directory without following a symlink and checks it is the same one. */
async function openPlannedDir(parent: string, dev: number, ino: number, data: SessionCleanupData): Promise<Opened> {
  if (parent !== data.dir && dirname(parent) !== data.dir) return { ok: false, reason: `${parent} is not inside ${data.dir}` };
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(parent, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    return { ok: false, reason: `${parent} cannot be opened as a directory (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const st = await handle.stat();
  const where = await stillInPlace(parent, dev, ino, data);
  if (st.dev !== dev || st.ino !== ino || !where.ok) {
    await handle.close();
    return { ok: false, reason: where.ok ? `${parent} is no longer the planned directory` : where.reason };
  }
  return { ok: true, handle };
}

/** The planned file, reached through the opened directory: same inode, still a regular file, still old. */
async function samePlannedFile(viaFd: string, f: SessionFile, cutoffMs: number): Promise<boolean> {
  try {
    const st = await fsp.lstat(viaFd);
    return st.isFile() && st.dev === f.dev && st.ino === f.ino && st.mtimeMs < cutoffMs;
  } catch {
    return false;
  }
}

export const sessionCleanup: Fix<SessionCleanupParams, SessionCleanupData> = {
  id: 'session-cleanup',
  title: 'Remove expired Odoo session files',
  freesSpace: true,

  detect(_incident: Incident, ctx: FixContext): DetectResult<SessionCleanupParams> {
    if (!ctx.odoo.dataDir) return { ok: false, reason: 'data_dir is unknown (odoo.conf); cannot locate the sessions directory' };
    const c = ctx.confiner.check(join(ctx.odoo.dataDir, 'sessions'));
    if (!c.ok) return { ok: false, reason: c.reason };
    const data = ctx.confiner.check(ctx.odoo.dataDir);
    if (data.ok && isInside(c.path, join(data.path, 'filestore'))) return { ok: false, reason: `${c.path} resolves into the filestore; refusing` };
    const days = ctx.config.fixes.sessionMaxAgeDays;
    if (!Number.isFinite(days) || days < 1) return { ok: false, reason: `fixes.sessionMaxAgeDays must be at least 1 (is ${days})` };
    return { ok: true, params: { dir: c.path, maxAgeDays: days } };
  },

  async plan(params, incident, ctx): Promise<FixPlan<SessionCleanupData>> {
    const cutoffMs = ctx.now() - params.maxAgeDays * DAY_MS;
    const dirSt = await fsp.lstat(params.dir);
    if (!dirSt.isDirectory()) throw new Error(`${params.dir} is not a directory`);
    const confirmation = await confirmDiskFull(params.dir, incident, ctx);
    const seen = confirmationLine(confirmation);
    if (!confirmation.confirmed) {
      return {
        fixId: this.id,
        incidentId: incident.id,
        summary: `Not deleting session files: the ${confirmation.check} does not confirm the disk is full`,
        why: 'Files are only deleted when a probe sees the disk over its critical threshold at that moment: a log record alone can be forged by anyone who reaches Odoo.',
        preview: `${seen}\nNothing to apply.`,
        actions: [],
        applicable: false,
        data: { ...params, dirDev: dirSt.dev, dirIno: dirSt.ino, cutoffMs: 0, files: [], totalBytes: 0, backup: false, backupReason: 'nothing to back up', confirmation },
      };
    }
    const files = await collect(params.dir, cutoffMs);
    const totalBytes = files.reduce((s, f) => s + f.bytes, 0);
    const decision = files.length ? await backupDecision(ctx, params.dir, totalBytes) : { backup: false, reason: 'nothing to back up' };
    const data: SessionCleanupData = { ...params, dirDev: dirSt.dev, dirIno: dirSt.ino, cutoffMs, files, totalBytes, backup: decision.backup, backupReason: decision.reason, confirmation };
    const sample = files.slice(0, 10).map((f) => `  ${f.path} (${fmtBytes(f.bytes)}, ${new Date(f.mtimeMs).toISOString()})`);
    return {
      fixId: this.id,
      incidentId: incident.id,
      summary: files.length
        ? `Delete ${files.length} session file(s) older than ${params.maxAgeDays} days (${fmtBytes(totalBytes)}) from ${params.dir}`
        : `No session file older than ${params.maxAgeDays} days in ${params.dir}`,
      why: 'Expired sessions only take space (Odoo itself deletes sessions unused for a week); removing them frees disk and logs out nobody active.',
      preview: `${seen}\n` + (files.length
        ? `${files.length} file(s), ${fmtBytes(totalBytes)} under ${params.dir}, last used before ${new Date(cutoffMs).toISOString()}:\n${sample.join('\n')}${files.length > 10 ? `\n  ... and ${files.length - 10} more` : ''}\n${decision.reason}.\nThe filestore is never touched; symlinks are never followed.`
        : 'Nothing to delete.'),
      actions: files.map((f) => ({ kind: 'delete' as const, path: f.path, bytes: f.bytes })),
      applicable: files.length > 0,
      data,
    };
  },

  async apply(plan, ctx): Promise<Applied> {
    const backups: BackupEntry[] = [];
    const deleted: string[] = [];
    const skipped: string[] = [];
    const refused: string[] = [];
    ctx.progress(`deleting ${plan.data.files.length} session file(s)`);
    // Odoo's user owns sessions/ and can swap any directory in it for a symlink at any moment, so a
    // path is never trusted between the check and the unlink: each parent directory is opened once
    // (O_NOFOLLOW, same device+inode as planned) and files are removed through that descriptor
    // (/proc/self/fd/N/name resolves to the opened directory itself, like unlinkat()).
    const byParent = new Map<string, SessionFile[]>();
    for (const f of plan.data.files) byParent.set(f.parent, [...(byParent.get(f.parent) ?? []), f]);
    for (const [parent, files] of byParent) {
      const first = files[0]!;
      const dir = await openPlannedDir(parent, first.parentDev, first.parentIno, plan.data);
      if (!dir.ok) {
        for (const f of files) refused.push(`${f.path} (${dir.reason})`);
        continue;
      }
      try {
        for (const [i, f] of files.entries()) {
          const name = basename(f.path);
          const viaFd = `/proc/self/fd/${dir.handle.fd}/${name}`;
          if (!(await samePlannedFile(viaFd, f, plan.data.cutoffMs))) {
            skipped.push(f.path);
            continue;
          }
          if (plan.data.backup) {
            const entry = await ctx.writer.backup(f.path);
            // The backup read by path: make sure it copied the planned file, not one swapped in meanwhile.
            if (entry.size !== f.bytes || !(await samePlannedFile(viaFd, f, plan.data.cutoffMs))) {
              skipped.push(f.path);
              continue;
            }
            backups.push(entry);
          }
          // Right before the unlink: the directory must still sit at its planned path, and so must sessions/.
          const still = await stillInPlace(parent, first.parentDev, first.parentIno, plan.data);
          if (!still.ok) {
            for (const g of files.slice(i)) refused.push(`${g.path} (${still.reason})`);
            break;
          }
          try {
            await fsp.unlink(viaFd);
            deleted.push(f.path);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          }
        }
      } finally {
        await dir.handle.close();
      }
    }
    return { backups, commands: [], undo: { deleted, skipped, refused } };
  },

  async verify(plan, applied): Promise<Verification> {
    const undo = (applied.undo as { deleted: string[]; skipped: string[]; refused?: string[] } | null) ?? { deleted: [], skipped: [] };
    const { deleted, skipped } = undo;
    const refused = undo.refused ?? [];
    const still: string[] = [];
    for (const p of deleted) {
      try {
        await fsp.lstat(p);
        still.push(p);
      } catch {
        /* gone, as wanted */
      }
    }
    if (still.length) return { ok: false, detail: `${still.length} session file(s) still present, e.g. ${still[0]}` };
    const fs = await fsp.statfs(plan.data.dir);
    const bytes = plan.data.files.filter((f) => deleted.includes(f.path)).reduce((s, f) => s + f.bytes, 0);
    return {
      ok: true,
      detail:
        `deleted ${deleted.length} expired session file(s) (${fmtBytes(bytes)})${skipped.length ? `, left ${skipped.length} that changed since the plan` : ''}` +
        `${refused.length ? `, REFUSED ${refused.length} whose directory changed since the plan (possible tampering: ${refused[0]})` : ''}; ${fmtBytes(fs.bavail * fs.bsize)} free now`,
    };
  },

  async rollback(_plan, applied, ctx): Promise<void> {
    // Without backups (disk too full to copy them) there is nothing to restore: said in the plan.
    for (const b of applied.backups) await ctx.writer.restore(b);
  },
};
