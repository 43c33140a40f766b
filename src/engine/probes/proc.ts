// Small readers of Linux /proc files. Reading /proc directly costs well under a millisecond per file,
// where systeminformation forks `ps`/`df` (see bench/probe-costs.mjs). Every reader takes a `root`
// so tests and containers can point it elsewhere; a process that vanishes mid-read yields null.
import { readFile as readFileCb } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const PROC_ROOT = '/proc';

/** USER_HZ: the unit of /proc/<pid>/stat times. It is 100 on every Linux ABI Node.js runs on
 * (the kernel fixes it for userspace regardless of CONFIG_HZ), so no `getconf` fork is needed. */
export const CLOCK_TICKS = 100;

/**
 * Reads a small /proc file; null when it is gone or hidden. Callback readFile, not fs/promises: the
 * promise version costs about twice the CPU per file (measured: 121 cmdline files, 10.8 vs 8.0 ms).
 * Kept asynchronous on purpose: reading another process's cmdline takes its mm lock and can block
 * (the classic `ps` hang), which must stall a thread-pool thread, never the event loop.
 */
function readText(path: string): Promise<string | null> {
  return new Promise((resolve) => {
    // ENOENT/ESRCH: the process exited between readdir and read; EACCES: hidepid. Both mean "not visible".
    readFileCb(path, 'utf8', (err, text) => resolve(err ? null : text));
  });
}

export async function listPids(root = PROC_ROOT): Promise<number[]> {
  const names = await readdir(root);
  const pids: number[] = [];
  for (const n of names) {
    if (n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57) {
      const pid = Number(n);
      if (Number.isInteger(pid)) pids.push(pid);
    }
  }
  return pids;
}

/** argv of a process. A process that rewrote its title (setproctitle) may have one space-joined
 * string instead of NUL-separated words; callers match on both forms. Kernel threads: []. */
export function parseCmdline(raw: string): string[] {
  const parts = raw.split('\0');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export async function readCmdline(pid: number, root = PROC_ROOT): Promise<string[] | null> {
  const raw = await readText(join(root, String(pid), 'cmdline'));
  return raw === null ? null : parseCmdline(raw);
}

export async function readComm(pid: number, root = PROC_ROOT): Promise<string | null> {
  const raw = await readText(join(root, String(pid), 'comm'));
  return raw === null ? null : raw.replace(/\n$/, '');
}

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  /** User + system CPU time in clock ticks (see CLOCK_TICKS). */
  cpuTicks: number;
  threads: number;
  /** Start time in clock ticks after boot. */
  startTicks: number;
  /** Virtual memory size in bytes: what Odoo compares to limit_memory_soft/hard on Linux. */
  vsizeBytes: number;
}

/** Parses /proc/<pid>/stat. `comm` may contain spaces and parentheses, so fields are counted from
 * the LAST `)`. Field numbers below are those of proc(5). */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).trim().split(' ');
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const field = (n: number): number => Number(rest[n - 3]);
  const state = rest[0];
  if (state === undefined || rest.length < 21) return null;
  return {
    pid,
    comm: text.slice(open + 1, close),
    state,
    ppid: field(4),
    cpuTicks: field(14) + field(15),
    threads: field(20),
    startTicks: field(22),
    vsizeBytes: field(23),
  };
}

export async function readStat(pid: number, root = PROC_ROOT): Promise<ProcStat | null> {
  const raw = await readText(join(root, String(pid), 'stat'));
  return raw === null ? null : parseStat(raw);
}

/** VmRSS from /proc/<pid>/status in bytes (kB in the file; avoids assuming the page size). */
export async function readRssBytes(pid: number, root = PROC_ROOT): Promise<number | null> {
  const raw = await readText(join(root, String(pid), 'status'));
  if (raw === null) return null;
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(raw);
  // Zombies and kernel threads have no VmRSS line: they use no memory of their own.
  return m ? Number(m[1]) * 1024 : 0;
}

/** Boot time (epoch ms) from the `btime` line of /proc/stat; it never changes while the host runs. */
export function parseBootTime(procStat: string): number | null {
  const m = /^btime\s+(\d+)/m.exec(procStat);
  return m ? Number(m[1]) * 1000 : null;
}

export interface CpuTimes {
  /** All jiffies on the aggregate `cpu` line. */
  total: number;
  /** idle + iowait jiffies. */
  idle: number;
}

/** The aggregate `cpu` line of /proc/stat (host CPU use is a delta of two of these). */
export function parseCpuTimes(procStat: string): CpuTimes | null {
  const m = /^cpu\s+([\d\s]+)$/m.exec(procStat);
  if (!m || m[1] === undefined) return null;
  const v = m[1].trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal [guest guest_nice]; guest time is already in user.
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { total, idle };
}

export async function readProcStat(root = PROC_ROOT): Promise<string> {
  return readFile(join(root, 'stat'), 'utf8');
}

/** /proc/meminfo as bytes per key (values in the file are kB; counters like HugePages_* kept raw). */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([\w()]+):\s+(\d+)(\s+kB)?/.exec(line);
    if (m && m[1] !== undefined) out.set(m[1], Number(m[2]) * (m[3] ? 1024 : 1));
  }
  return out;
}

export async function readMeminfo(root = PROC_ROOT): Promise<Map<string, number>> {
  return parseMeminfo(await readFile(join(root, 'meminfo'), 'utf8'));
}

export interface LoadAvg {
  load1: number;
  load5: number;
  load15: number;
}

export function parseLoadavg(text: string): LoadAvg | null {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (a === undefined || b === undefined || c === undefined || [a, b, c].some(Number.isNaN)) return null;
  return { load1: a, load5: b, load15: c };
}

export async function readLoadavg(root = PROC_ROOT): Promise<LoadAvg | null> {
  const raw = await readText(join(root, 'loadavg'));
  return raw === null ? null : parseLoadavg(raw);
}

export interface MountEntry {
  /** `major:minor` of the device: the identity used to dedupe filesystems. */
  device: string;
  mountPoint: string;
  fsType: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses /proc/self/mountinfo (proc(5)): `id parent major:minor root mountpoint opts [optional...] - fstype source superopts`. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const l = left.split(' ');
    const r = right.split(' ');
    const device = l[2];
    const mountPoint = l[4];
    const fsType = r[0];
    if (device === undefined || mountPoint === undefined || fsType === undefined) continue;
    out.push({ device, mountPoint: unescapeMount(mountPoint), fsType, source: unescapeMount(r[1] ?? '') });
  }
  return out;
}

export async function readMountinfo(root = PROC_ROOT): Promise<MountEntry[]> {
  return parseMountinfo(await readFile(join(root, 'self', 'mountinfo'), 'utf8'));
}

/** The mount holding an absolute, symlink-free path: the longest mount point that prefixes it; the
 * last such line wins because later mounts stack on top of earlier ones at the same point. */
export function mountFor(path: string, mounts: readonly MountEntry[]): MountEntry | null {
  let best: MountEntry | null = null;
  for (const m of mounts) {
    const mp = m.mountPoint;
    const inside = mp === '/' || path === mp || path.startsWith(mp.endsWith('/') ? mp : `${mp}/`);
    if (inside && (best === null || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}
