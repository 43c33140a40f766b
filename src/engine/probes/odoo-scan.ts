// One look at /proc per probe round, shared by the process, memory and services probes: every
// visible process (pid, comm, start time) and, among them, the Odoo processes with their command
// line, stat and RSS.
//
// What it costs is what `--auto` costs at idle, so each round reads as little as it can and still
// notices every change that matters:
// - every process's /proc/<pid>/stat, synchronously (cheap, see readStatTextSync): its comm, start
//   time and image (ProcIdentity) say whether it is the process we saw before. A reused pid has a
//   new start time; an exec (a wrapper script ending in `exec odoo ...`, as the official Docker
//   image does) sets a new comm and maps a new image.
// - the command line, asynchronously (it can block on the target's mm lock), only of processes that
//   are new, changed, or Odoo (a forked worker retitles itself after the fork: its cmdline changes
//   while pid, start time and maybe comm do not);
// - once every FULL_EVERY_MS, every command line, for what the identity cannot show: an exec that
//   keeps the comm in a process whose image the kernel hides from us (another user's, when we are
//   not root), or a process rewriting its own argv.
import { parseOdooCommand, type OdooCommand } from './odoo-command.js';
import {
  listPidsSync,
  parseBootTime,
  parseStat,
  parseStatIdentity,
  PROC_ROOT,
  readCmdline,
  readProcStat,
  readRssBytes,
  readStatTextSync,
  type ProcStat,
} from './proc.js';

/** How often every command line is read again (see the header). */
export const FULL_EVERY_MS = 60_000;

export interface OdooProc {
  pid: number;
  argv: string[];
  cmd: OdooCommand;
  stat: ProcStat;
  rssBytes: number;
}

/** A process as the last scan saw it. */
export interface SeenProcess {
  readonly comm: string;
  readonly startTicks: number;
  readonly image: string;
  /** Its command line was Odoo's (read again every scan). */
  readonly odoo: boolean;
}

export interface OdooScan {
  /** Epoch ms when the scan read /proc (CPU deltas are relative to it). */
  at: number;
  bootTimeMs: number;
  procs: OdooProc[];
  /** Every visible process but ourselves (the services probe finds PostgreSQL, Redis... by comm). */
  processes: ReadonlyMap<number, SeenProcess>;
}

export interface OdooScanner {
  /** A fresh scan, or the one in flight / younger than maxAgeMs (one /proc walk per probe round). */
  scan(): Promise<OdooScan>;
}

export interface OdooScannerOptions {
  root?: string;
  /** A scan younger than this is reused (the probes of one round run at the same time). */
  maxAgeMs?: number;
  /** Read every command line again at least this often (default FULL_EVERY_MS). */
  fullEveryMs?: number;
}

/** A scan that reads every command line (no memory of earlier scans). */
export function scanOdooProcesses(root = PROC_ROOT): Promise<OdooScan> {
  return createOdooScanner({ root, maxAgeMs: 0 }).scan();
}

export function createOdooScanner(opts: OdooScannerOptions = {}): OdooScanner {
  const root = opts.root ?? PROC_ROOT;
  const maxAgeMs = opts.maxAgeMs ?? 1000;
  const fullEveryMs = opts.fullEveryMs ?? FULL_EVERY_MS;
  let inFlight: Promise<OdooScan> | null = null;
  let last: OdooScan | null = null;
  let lastFullAt = -Infinity;
  let bootTimeMs: number | null = null;

  async function walk(): Promise<OdooScan> {
    // btime never changes while the host runs: read once.
    bootTimeMs ??= parseBootTime(await readProcStat(root)) ?? 0;
    const at = Date.now();
    const full = at - lastFullAt >= fullEveryMs;
    const before = last?.processes;
    const seen = new Map<number, SeenProcess>();
    const reads: Promise<OdooProc | null>[] = [];
    const self = process.pid;
    for (const pid of listPidsSync(root)) {
      if (pid === self) continue;
      const text = readStatTextSync(pid, root);
      const id = text === null ? null : parseStatIdentity(text);
      if (text === null || id === null) continue; // gone since the listing
      const prev = before?.get(pid);
      if (!full && prev && !prev.odoo && prev.startTicks === id.startTicks && prev.comm === id.comm && prev.image === id.image) {
        seen.set(pid, prev);
        continue;
      }
      // A zombie has no command line and serves nothing: remembered as not Odoo.
      if (id.state === 'Z') {
        seen.set(pid, { comm: id.comm, startTicks: id.startTicks, image: id.image, odoo: false });
        continue;
      }
      reads.push(
        (async () => {
          const argv = await readCmdline(pid, root);
          const cmd = argv && parseOdooCommand(argv);
          seen.set(pid, { comm: id.comm, startTicks: id.startTicks, image: id.image, odoo: !!cmd });
          if (!argv || !cmd) return null;
          const stat = parseStat(text);
          const rssBytes = await readRssBytes(pid, root);
          if (!stat || rssBytes === null) return null;
          return { pid, argv, cmd, stat, rssBytes };
        })(),
      );
    }
    const found = await Promise.all(reads);
    if (full) lastFullAt = at;
    return { at, bootTimeMs, procs: found.filter((p): p is OdooProc => p !== null), processes: seen };
  }

  return {
    scan() {
      if (inFlight) return inFlight;
      if (last && Date.now() - last.at < maxAgeMs) return Promise.resolve(last);
      inFlight = walk().then(
        (s) => {
          last = s;
          inFlight = null;
          return s;
        },
        (err: unknown) => {
          inFlight = null;
          throw err;
        },
      );
      return inFlight;
    },
  };
}
