// Space and inodes of the filesystems Odoo writes to: its data dir (filestore, sessions), its log
// dir, and `/`. One statfs(2) each (no `df` fork), deduplicated by device.
import { realpath, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { resolveOdooDataDir } from '../config/odoo-conf.js';
import { errorMessage } from '../core/errors.js';
import type { Finding } from '../core/types.js';
import { formatBytes } from './process.js';
import { statusOfFindings } from './types.js';
import { createMountinfoReader, mountFor, PROC_ROOT, type MountEntry } from './proc.js';
import type { Probe, ProbeContext, ProbeOutput } from './types.js';

export type DiskRole = 'data' | 'logs' | 'root';

export interface FilesystemUse {
  mountPoint: string;
  device: string;
  fsType: string;
  /** Which watched paths live here (a path that does not exist yet is measured at its nearest existing parent). */
  paths: { role: DiskRole; path: string }[];
  sizeBytes: number;
  /** Free for unprivileged users (f_bavail), as df shows it. */
  freeBytes: number;
  /** As df computes it: used / (used + available), so the root-reserved blocks count as full. */
  usedPercent: number;
  inodesTotal: number;
  inodesFree: number;
  /** null when the filesystem has no fixed inode table (btrfs, some network filesystems). */
  inodeUsedPercent: number | null;
}

export interface DiskData {
  filesystems: FilesystemUse[];
  /** Filesystems statfs could not read (EACCES, a stale NFS handle): reported, not fatal. */
  errors?: { mountPoint: string; paths: FilesystemUse['paths']; error: string }[];
}

/** The nearest existing ancestor, symlinks resolved: statfs and mount lookup need a real path. */
async function existingRealPath(p: string): Promise<string> {
  let cur = p;
  for (;;) {
    try {
      return await realpath(cur);
    } catch {
      const up = dirname(cur);
      if (up === cur) return cur;
      cur = up;
    }
  }
}

function pct(used: number, total: number): number {
  return total > 0 ? Math.round((used / total) * 1000) / 10 : 0;
}

export interface DiskProbeOptions {
  procRoot?: string;
  /** Where to resolve the odoo user's home when data_dir is unset (tests). */
  passwdPath?: string;
}

export function createDiskProbe(opts: DiskProbeOptions = {}): Probe<DiskData> {
  const readMounts = createMountinfoReader(opts.procRoot ?? PROC_ROOT);
  return {
    name: 'disk',
    async run(ctx: ProbeContext): Promise<ProbeOutput<DiskData>> {
      const dataDir = resolveOdooDataDir(ctx.odoo, ctx.config.odoo.user ?? 'odoo', opts.passwdPath);
      const watched: { role: DiskRole; path: string }[] = [];
      if (dataDir) watched.push({ role: 'data', path: dataDir });
      if (ctx.odoo.logfile) watched.push({ role: 'logs', path: dirname(ctx.odoo.logfile) });
      watched.push({ role: 'root', path: '/' });

      const mounts = await readMounts();
      const byDevice = new Map<string, { mount: MountEntry; probePath: string; paths: FilesystemUse['paths'] }>();
      for (const w of watched) {
        const real = await existingRealPath(w.path);
        const mount = mountFor(real, mounts);
        // Without a mountinfo entry (unusual containers) the path itself identifies the filesystem.
        const device = mount?.device ?? `path:${real}`;
        const entry = byDevice.get(device);
        if (entry) entry.paths.push(w);
        else
          byDevice.set(device, {
            mount: mount ?? { device, mountPoint: real, fsType: 'unknown', source: '' },
            probePath: real,
            paths: [w],
          });
      }

      const filesystems: FilesystemUse[] = [];
      const errors: NonNullable<DiskData['errors']> = [];
      for (const { mount, probePath, paths } of byDevice.values()) {
        let s: Awaited<ReturnType<typeof statfs>>;
        try {
          s = await statfs(probePath);
        } catch (err) {
          errors.push({ mountPoint: mount.mountPoint, paths, error: errorMessage(err) });
          continue;
        }
        const used = (s.blocks - s.bfree) * s.bsize;
        const avail = s.bavail * s.bsize;
        filesystems.push({
          mountPoint: mount.mountPoint,
          device: mount.device,
          fsType: mount.fsType,
          paths,
          sizeBytes: s.blocks * s.bsize,
          freeBytes: avail,
          usedPercent: pct(used, used + avail),
          inodesTotal: s.files,
          inodesFree: s.ffree,
          inodeUsedPercent: s.files > 0 ? pct(s.files - s.ffree, s.files) : null,
        });
      }

      const findings = filesystems.flatMap((fs) => findingsFor(fs, ctx));
      const summary = [
        ...filesystems.map((fs) => `${fs.mountPoint} ${fs.usedPercent}% (${formatBytes(fs.freeBytes)} free)`),
        ...errors.map((e) => `${e.mountPoint} unreadable: ${e.error}`),
      ].join(', ');
      // Nothing measured at all is "unknown", not "ok": the runner's meaning of a failed look.
      const status = filesystems.length === 0 ? 'unknown' : statusOfFindings(findings);
      return { status, summary, findings, data: { filesystems, errors } };
    },
  };
}

function findingsFor(fs: FilesystemUse, ctx: ProbeContext): Finding[] {
  const t = ctx.config.thresholds;
  const out: Finding[] = [];
  const holds = fs.paths.map((p) => `${p.role} ${p.path}`).join(', ');
  const data = fs.paths.find((p) => p.role === 'data');
  const severityOf = (v: number, warn: number, crit: number) => (v >= crit ? 'critical' : v >= warn ? 'warning' : null);

  const space = severityOf(fs.usedPercent, t.diskWarnPercent, t.diskCritPercent);
  if (space) {
    const f: Finding = {
      key: `disk:${fs.mountPoint}`,
      severity: space,
      title: `Disk ${fs.mountPoint} ${fs.usedPercent}% full`,
      detail: `${formatBytes(fs.freeBytes)} free of ${formatBytes(fs.sizeBytes)} (${fs.device}, holds ${holds})`,
      hint: 'A full disk makes Odoo fail attachment and session writes ([Errno 28]) and cuts the log mid-line: free space or grow the volume.',
      category: 'disk',
    };
    // Old session files are the one thing odoo-heal can delete safely; only worth it when critical.
    if (space === 'critical' && data) f.fix = { id: 'session-cleanup', params: { dataDir: data.path }, unattended: true };
    out.push(f);
  }
  if (fs.inodeUsedPercent !== null) {
    const inodes = severityOf(fs.inodeUsedPercent, t.inodeWarnPercent, t.inodeCritPercent);
    if (inodes) {
      const f: Finding = {
        key: `inodes:${fs.mountPoint}`,
        severity: inodes,
        title: `Inodes on ${fs.mountPoint} ${fs.inodeUsedPercent}% used`,
        detail: `${fs.inodesFree} of ${fs.inodesTotal} inodes free (holds ${holds})`,
        hint: 'Out of inodes fails like a full disk. Odoo sessions are one small file each: old ones pile up in <data_dir>/sessions.',
        category: 'disk',
      };
      if (inodes === 'critical' && data) f.fix = { id: 'session-cleanup', params: { dataDir: data.path }, unattended: true };
      out.push(f);
    }
  }
  return out;
}
