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
import { dirname, join } from 'node:path';
import type { Incident } from '../engine/types.js';
import { isInside, openConfined } from './lib/confine.js';
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
  ino: number;
}

export interface SessionCleanupData {
  dir: string;
  maxAgeDays: number;
  cutoffMs: number;
  files: SessionFile[];
  totalBytes: number;
  backup: boolean;
  backupReason: string;
}

const DAY_MS = 86_400_000;
const MAX_FILES = 500_000;

async function collect(dir: string, cutoffMs: number): Promise<SessionFile[]> {
  const out: SessionFile[] = [];
  let seen = 0;
  // Two levels like Odoo: sessions/<sid> (older layouts) and sessions/<xx>/<sid>. Deeper is not Odoo's.
  async function scan(d: string, depth: number): Promise<void> {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      if (++seen > MAX_FILES) throw new Error(`more than ${MAX_FILES} entries under ${dir}; clean up by hand`);
      const p = join(d, e.name);
      const st = await fsp.lstat(p);
      if (st.isSymbolicLink()) continue;
      if (st.isDirectory() && depth === 0) await scan(p, 1);
      else if (st.isFile() && st.mtimeMs < cutoffMs) out.push({ path: p, bytes: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
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

export const sessionCleanup: Fix<SessionCleanupParams, SessionCleanupData> = {
  id: 'session-cleanup',
  title: 'Remove expired Odoo session files',

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
    const files = await collect(params.dir, cutoffMs);
    const totalBytes = files.reduce((s, f) => s + f.bytes, 0);
    const decision = files.length ? await backupDecision(ctx, params.dir, totalBytes) : { backup: false, reason: 'nothing to back up' };
    const data: SessionCleanupData = { ...params, cutoffMs, files, totalBytes, backup: decision.backup, backupReason: decision.reason };
    const sample = files.slice(0, 10).map((f) => `  ${f.path} (${fmtBytes(f.bytes)}, ${new Date(f.mtimeMs).toISOString()})`);
    return {
      fixId: this.id,
      incidentId: incident.id,
      summary: files.length
        ? `Delete ${files.length} session file(s) older than ${params.maxAgeDays} days (${fmtBytes(totalBytes)}) from ${params.dir}`
        : `No session file older than ${params.maxAgeDays} days in ${params.dir}`,
      why: 'Expired sessions only take space (Odoo itself deletes sessions unused for a week); removing them frees disk and logs out nobody active.',
      preview: files.length
        ? `${files.length} file(s), ${fmtBytes(totalBytes)} under ${params.dir}, last used before ${new Date(cutoffMs).toISOString()}:\n${sample.join('\n')}${files.length > 10 ? `\n  ... and ${files.length - 10} more` : ''}\n${decision.reason}.\nThe filestore is never touched; symlinks are never followed.`
        : 'Nothing to delete.',
      actions: files.map((f) => ({ kind: 'delete' as const, path: f.path, bytes: f.bytes })),
      applicable: files.length > 0,
      data,
    };
  },

  async apply(plan, ctx): Promise<Applied> {
    const backups: BackupEntry[] = [];
    const deleted: string[] = [];
    const skipped: string[] = [];
    ctx.progress(`deleting ${plan.data.files.length} session file(s)`);
    for (const f of plan.data.files) {
      // Re-check the very file planned: same inode, still old, still a regular file, still confined
      // (openConfined refuses a symlink or a parent swapped for one).
      let same = false;
      try {
        const h = await openConfined(ctx.confiner, f.path, constants.O_RDONLY);
        try {
          const st = await h.handle.stat();
          same = isInside(h.path, plan.data.dir) && st.isFile() && st.ino === f.ino && st.mtimeMs < plan.data.cutoffMs;
        } finally {
          await h.handle.close();
        }
      } catch {
        same = false;
      }
      if (!same) {
        skipped.push(f.path);
        continue;
      }
      if (plan.data.backup) backups.push(await ctx.writer.backup(f.path));
      try {
        await fsp.unlink(f.path);
        deleted.push(f.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return { backups, commands: [], undo: { deleted, skipped } };
  },

  async verify(plan, applied): Promise<Verification> {
    const { deleted, skipped } = (applied.undo as { deleted: string[]; skipped: string[] }) ?? { deleted: [], skipped: [] };
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
      detail: `deleted ${deleted.length} expired session file(s) (${fmtBytes(bytes)})${skipped.length ? `, left ${skipped.length} that changed since the plan` : ''}; ${fmtBytes(fs.bavail * fs.bsize)} free now`,
    };
  },

  async rollback(_plan, applied, ctx): Promise<void> {
    // Without backups (disk too full to copy them) there is nothing to restore: said in the plan.
    for (const b of applied.backups) await ctx.writer.restore(b);
  },
};
