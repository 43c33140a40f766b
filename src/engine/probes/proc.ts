// Small readers of Linux /proc files. Reading /proc directly costs well under a millisecond per file,
// where systeminformation forks `ps`/`df` (see bench/probe-costs.mjs). Every reader takes a `root`
// so tests and containers can point it elsewhere; a process that vanishes mid-read yields null.
import { close, closeSync, constants, open, openSync, read, readdirSync, readSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

export const PROC_ROOT = '/proc';

/** USER_HZ: the unit of /proc/<pid>/stat times. It is 100 on every Linux ABI Node.js runs on
 * (the kernel fixes it for userspace regardless of CONFIG_HZ), so no `getconf` fork is needed. */
export const CLOCK_TICKS = 100;

/**
 * Reads a small /proc file; null when it is gone or hidden.
 * Kept asynchronous on purpose: reading another process's cmdline takes its mm lock and can block
 * (the classic `ps` hang), which must stall a thread-pool thread, never the event loop.
 * open/read/close by hand rather than readFile: procfs reports size 0, so readFile allocates a
 * 64 KiB buffer per file and adds an fstat (measured: 224 cmdline files, 6.7 vs 4.9 ms CPU, and
 * 14 MB less garbage per walk). fs/promises is slower still (about twice the CPU per file).
 */
function readText(path: string): Promise<string | null> {
  return new Promise((resolve) => {
    // ENOENT/ESRCH: the process exited between readdir and read; EACCES: hidepid. Both mean "not visible".
    open(path, constants.O_RDONLY, (err, fd) => {
      if (err) return resolve(null);
      let buf = Buffer.allocUnsafe(1024);
      let len = 0;
      const done = (text: string | null) => {
        close(fd, () => undefined);
        resolve(text);
      };
      const more = () =>
        read(fd, buf, len, buf.length - len, null, (e, n) => {
          if (e) return done(null);
          if (n === 0) return done(buf.toString('utf8', 0, len));
          len += n;
          if (len === buf.length) {
            const bigger = Buffer.allocUnsafe(buf.length * 2);
            buf.copy(bigger, 0, 0, len);
            buf = bigger;
          }
          more();
        });
      more();
    });
  });
}

/** Shared by every synchronous read below: they never overlap (the event loop runs one at a time). */
let syncBuf = Buffer.allocUnsafe(4096);

/**
 * Reads a file synchronously into the shared buffer. Only for procfs files the kernel fills without
 * waiting on another process (host-wide files, /proc/<pid>/stat): a sync read costs about a tenth
 * of a thread-pool round trip (measured: 107 cmdline files, 0.45 ms CPU vs 4.6 ms). `oneRead`: the file
 * is one seq_file record, so a read shorter than the buffer has all of it (saves a syscall per pid).
 * Throws like readFileSync.
 */
function readTextSync(path: string, oneRead = false): string {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    let len = 0;
    for (;;) {
      if (len === syncBuf.length) {
        const bigger = Buffer.allocUnsafe(syncBuf.length * 2);
        syncBuf.copy(bigger, 0, 0, len);
        syncBuf = bigger;
      }
      const want = syncBuf.length - len;
      const n = readSync(fd, syncBuf, len, want, null);
      len += n;
      if (n === 0 || (oneRead && n < want)) return syncBuf.toString('utf8', 0, len);
    }
  } finally {
    closeSync(fd);
  }
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
  /** Nice value (-20..19). Odoo's cron workers call os.nice(10) at start, so they sit 10 above the master. */
  nice: number;
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
    nice: field(19),
    startTicks: field(22),
    vsizeBytes: field(23),
  };
}

/**
 * /proc/<pid>/stat as text, read synchronously (see readTextSync: stat never takes the target's mm
 * lock, so the cmdline hang does not apply); null when the process is gone or hidden. Cheap enough
 * to look at every process every round.
 */
export function readStatTextSync(pid: number, root = PROC_ROOT): string | null {
  try {
    return readTextSync(`${root}/${pid}/stat`, true);
  } catch {
    return null;
  }
}

/** The pids under /proc, synchronously (a directory listing of procfs never blocks). */
export function listPidsSync(root = PROC_ROOT): number[] {
  const pids: number[] = [];
  for (const n of readdirSync(root)) {
    const c = n.charCodeAt(0);
    if (c >= 48 && c <= 57) {
      const pid = Number(n);
      if (Number.isInteger(pid)) pids.push(pid);
    }
  }
  return pids;
}

/** What tells one process from another under the same pid, and an exec from the process before it. */
export interface ProcIdentity {
  /** The kernel's task name: the executable's basename (15 characters), reset by every exec. */
  comm: string;
  state: string;
  /** Start time in clock ticks after boot: a reused pid has a new one. */
  startTicks: number;
  /**
   * Where the executable's code and the stack were mapped (stat fields 26-28, startcode endcode
   * startstack) as one string. Fixed for a process's life and mapped anew by every exec (address
   * randomisation moves the stack even when the same interpreter execs itself), so it shows an exec
   * that keeps the comm (`python3 launcher.py` exec'ing `python3 odoo-bin`). The kernel shows real
   * values only for processes we may ptrace (our user's, or all as root); otherwise constants.
   */
  image: string;
}

/** The identity fields of a /proc/<pid>/stat line, without splitting the ~50 others (runs for every process every round). */
export function parseStatIdentity(text: string): ProcIdentity | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  // Field 3 (state) starts 2 characters after the `)`; each later field one space further.
  const fieldStart = [0, 0, 0, close + 2];
  for (let field = 4; field <= 29; field++) {
    const space = text.indexOf(' ', fieldStart[field - 1]!);
    if (space < 0) return null;
    fieldStart.push(space + 1);
  }
  const state = text.charAt(close + 2);
  const startTicks = Number(text.slice(fieldStart[22], fieldStart[23]! - 1));
  if (state === '' || !Number.isFinite(startTicks)) return null;
  return { comm: text.slice(open + 1, close), state, startTicks, image: text.slice(fieldStart[26], fieldStart[29]! - 1) };
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

/** Host-wide files below are read synchronously (see readTextSync); they still return promises. */
export async function readProcStat(root = PROC_ROOT): Promise<string> {
  return readTextSync(join(root, 'stat'));
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
  return parseMeminfo(readTextSync(join(root, 'meminfo')));
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
  let raw: string;
  try {
    raw = readTextSync(join(root, 'loadavg'));
  } catch {
    return null;
  }
  return parseLoadavg(raw);
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
  if (!s.includes('\\')) return s;
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
  return parseMountinfo(readTextSync(join(root, 'self', 'mountinfo')));
}

/** readMountinfo for a caller that asks every round: parses again only when the text changed
 * (mounts rarely do). The entries returned are shared between calls: read them, never change them. */
export function createMountinfoReader(root = PROC_ROOT): () => Promise<readonly MountEntry[]> {
  let last: { text: string; mounts: MountEntry[] } | null = null;
  return async () => {
    const text = readTextSync(join(root, 'self', 'mountinfo'));
    if (last?.text !== text) last = { text, mounts: parseMountinfo(text) };
    return last.mounts;
  };
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

/**
 * What each thread of a process is blocked in: the first word of /proc/<pid>/task/<tid>/syscall
 * (a syscall number, `running`, or `-1` outside a syscall). Null when the process is gone or the
 * file is not readable (it needs ptrace rights: root, or the process's own user). Read
 * asynchronously: the kernel takes the task's exec lock for this file.
 */
/** The thread ids of a process, or null when it is gone. */
function taskIds(pid: number, root: string): Promise<string[] | null> {
  return readdir(join(root, String(pid), 'task')).catch(() => null);
}

export async function readThreadSyscalls(pid: number, root = PROC_ROOT): Promise<string[] | null> {
  const tids = await taskIds(pid, root);
  if (!tids) return null;
  const words: string[] = [];
  for (const tid of tids) {
    const raw = await readText(join(root, String(pid), 'task', tid, 'syscall'));
    if (raw === null || raw === '') return null;
    words.push(raw.split(' ', 1)[0]!.trim());
  }
  return words;
}

export interface TaskInfo {
  tid: number;
  /** Start time in clock ticks after boot (field 22 of the task's stat). */
  startTicks: number;
  /** First word of the task's syscall file (see readThreadSyscalls); null when not readable. */
  syscall: string | null;
}

/** The threads of a process: when each started and where it waits. Null when the process is gone. */
export async function readTasks(pid: number, root = PROC_ROOT): Promise<TaskInfo[] | null> {
  const tids = await taskIds(pid, root);
  if (!tids) return null;
  const out: TaskInfo[] = [];
  for (const tid of tids) {
    const stat = parseStat((await readText(join(root, String(pid), 'task', tid, 'stat'))) ?? '');
    if (!stat) continue; // ended between the listing and the read
    const raw = await readText(join(root, String(pid), 'task', tid, 'syscall'));
    out.push({ tid: Number(tid), startTicks: stat.startTicks, syscall: raw ? raw.split(' ', 1)[0]!.trim() : null });
  }
  return out;
}

/** epoll_wait(2)/epoll_pwait(2) numbers: where a threaded Odoo's websocket threads and the bus
 * dispatcher wait (Python's selectors.DefaultSelector), between messages. */
const EPOLL_SYSCALLS: Record<string, readonly string[]> = {
  x64: ['232', '281', '441'],
  arm64: ['22', '441'],
  ia32: ['256', '319', '441'],
  arm: ['252', '346', '441'],
};

/** Whether a thread waits in epoll; null when unknown (architecture or unreadable syscall file). */
export function waitsInEpoll(syscall: string | null, arch: string = process.arch): boolean | null {
  const epoll = EPOLL_SYSCALLS[arch];
  if (!epoll || syscall === null) return null;
  return epoll.includes(syscall);
}

/** select(2)/pselect6(2) numbers per architecture: where an idle prefork worker waits (Python's
 * select.select). An HTTP worker in a request waits elsewhere (poll on its database socket,
 * nanosleep, recv) or runs. Architectures not listed fall back to CPU time. */
const SELECT_SYSCALLS: Record<string, readonly string[]> = {
  x64: ['23', '270'],
  arm64: ['72'],
  ia32: ['82', '142', '308'],
  arm: ['142', '335'],
};

/** Whether one of these threads waits in select(): the worker is between requests. Null: unknown. */
export function waitsInSelect(syscalls: readonly string[] | null, arch: string = process.arch): boolean | null {
  const idle = SELECT_SYSCALLS[arch];
  if (!idle || syscalls === null) return null;
  return syscalls.some((s) => idle.includes(s));
}
