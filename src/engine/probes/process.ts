// The Odoo process tree, read from /proc: is Odoo running, threaded or prefork, are all workers up,
// what they cost (CPU, memory), and whether Odoo or its workers restarted since the last look.
//
// Which processes are Odoo: odoo-command.ts; how /proc is read each round: odoo-scan.ts.
import { resolve } from 'node:path';
import type { Finding } from '../core/types.js';
import type { OdooScan, OdooScanner, OdooProc } from './odoo-scan.js';
import { createOdooScanner } from './odoo-scan.js';
import { CLOCK_TICKS, readTasks, readThreadSyscalls, waitsInSelect } from './proc.js';
import { oldRequestFinding, requestThreads, serverCutoff, type RequestThreads } from './request-threads.js';
import { statusOfFindings, type Probe, type ProbeContext, type ProbeOutput } from './types.js';
import type { LogRates } from './log-rates.js';

export { parseOdooCommand, type OdooCommand, type WorkerTitle } from './odoo-command.js';
export { createOdooScanner, scanOdooProcesses, type OdooProc, type OdooScan, type OdooScanner } from './odoo-scan.js';

// ---------------------------------------------------------------------------------------------
// The tree: main process, workers, gevent
// ---------------------------------------------------------------------------------------------

export type OdooRole = 'main' | 'http' | 'cron' | 'worker' | 'gevent';

export interface OdooTree {
  main: OdooProc;
  children: { proc: OdooProc; role: Exclude<OdooRole, 'main'> }[];
  /** Other Odoo server processes with no Odoo parent (a second instance, a test server). */
  others: OdooProc[];
  /** Effective settings: command-line options override odoo.conf. */
  workers: number;
  maxCronThreads: number;
  configPath: string | null;
}

/**
 * A worker's role. With setproctitle the title says it. Without it (Debian has no
 * python3-setproctitle by default) every worker keeps the master's command line, but Odoo's
 * WorkerCron.start() calls os.nice(10) (odoo/service/server.py, 12 to 19): a child niced above its
 * master is a cron worker, one at the master's nice an HTTP worker. (A master already at nice 19
 * cannot be told apart this way: its cron workers then count as HTTP.)
 */
function roleOf(p: OdooProc, main: OdooProc): Exclude<OdooRole, 'main'> {
  if (p.cmd.kind === 'titled') return p.cmd.title === 'WorkerHTTP' ? 'http' : p.cmd.title === 'WorkerCron' ? 'cron' : 'worker';
  if (p.cmd.kind === 'gevent') return 'gevent';
  return p.stat.nice > main.stat.nice ? 'cron' : 'http';
}

/** Picks the main Odoo process (the one using our odoo.conf if several run) and its children. */
export function buildTree(scan: OdooScan, ctx: Pick<ProbeContext, 'odoo'>): OdooTree | null {
  const byPid = new Map(scan.procs.map((p) => [p.pid, p]));
  const mains = scan.procs.filter(
    (p) => p.cmd.kind === 'server' && !byPid.has(p.stat.ppid),
  );
  if (mains.length === 0) return null;
  mains.sort((a, b) => a.stat.startTicks - b.stat.startTicks);
  const configOf = (p: OdooProc) => (p.cmd.kind === 'server' ? p.cmd.config : null);
  const wanted = ctx.odoo.path ? resolve(ctx.odoo.path) : null;
  // With a known odoo.conf, a server started with another `-c` is another instance, not ours; one
  // started without `-c` may read ours through ~/.odoorc or the package default, so it still counts.
  const main = wanted
    ? (mains.find((p) => configOf(p) !== null && resolve(configOf(p) ?? '') === wanted) ?? mains.find((p) => configOf(p) === null))
    : mains[0];
  if (!main || main.cmd.kind !== 'server') return null;
  const children = scan.procs
    .filter((p) => p.stat.ppid === main.pid && p.cmd.kind !== 'tool')
    .map((proc) => ({ proc, role: roleOf(proc, main) }));
  return {
    main,
    children,
    others: mains.filter((p) => p !== main),
    workers: main.cmd.workers ?? ctx.odoo.workers,
    maxCronThreads: main.cmd.maxCronThreads ?? ctx.odoo.maxCronThreads,
    configPath: main.cmd.config,
  };
}

// ---------------------------------------------------------------------------------------------
// The probe
// ---------------------------------------------------------------------------------------------

export interface OdooProcessInfo {
  pid: number;
  ppid: number;
  role: OdooRole;
  /** Percent of one CPU since the previous run (first run: average since the process started). */
  cpuPercent: number;
  rssBytes: number;
  /** Virtual size: what Odoo compares with limit_memory_soft / limit_memory_hard on Linux. */
  vsizeBytes: number;
  threads: number;
  startedAt: number;
  uptimeSeconds: number;
  /** HTTP workers only (prefork): serving a request or waiting for one; null for other roles. */
  activity: WorkerActivity | null;
}

export interface WorkerActivity {
  busy: boolean;
  /** Epoch ms since when it has been in this state, as far as this probe has watched. */
  since: number;
  /** `syscall`: where its thread waits (exact); `cpu`: CPU time advancing (misses a request that
   * sleeps or waits for PostgreSQL; used when /proc/<pid>/task/<tid>/syscall is not readable). */
  source: 'syscall' | 'cpu';
}

/** The HTTP workers' load: when all are busy, new requests queue in the listen backlog. */
export interface HttpLoad {
  busy: number;
  workers: number;
  /** Epoch ms since when every HTTP worker has been busy; null when one is free. */
  allBusySince: number | null;
}

export interface ProcessData {
  mode: 'threaded' | 'prefork' | 'stopped';
  configPath: string | null;
  main: OdooProcessInfo | null;
  /** Workers and the gevent process, in pid order. */
  workers: OdooProcessInfo[];
  expected: { http: number; cron: number; gevent: boolean };
  counts: { http: number; cron: number; untitled: number; gevent: number };
  /** Whether workers carry setproctitle titles (then HTTP and cron workers can be told apart). */
  titled: boolean;
  /** limit_memory_soft / limit_memory_hard from odoo.conf (bytes; Odoo compares them with VMS). */
  limits: { soft: number | null; hard: number | null };
  /** Prefork only, null otherwise or when no HTTP worker runs. */
  httpLoad: HttpLoad | null;
  /** Threaded only: the request threads of the server and the oldest's age; null otherwise. */
  requestThreads?: RequestThreads | null;
  totalRssBytes: number;
  totalCpuPercent: number;
  /** Times a new main pid was seen since this probe started. */
  restarts: number;
  lastRestartAt: number | null;
  /** New worker pids under the same main since this probe started (Odoo recycles workers). */
  workersRespawned: number;
  otherInstances: number[];
  /** Worker recycles and registry reloads read from the log (added by log-rates.ts, not by this probe). */
  logRates?: LogRates;
}

interface CpuSample {
  startTicks: number;
  cpuTicks: number;
  at: number;
}

const SOFT_LIMIT_NEAR = 0.9;
/** All HTTP workers busy this long is an incident: requests have been queueing at least that long. */
export const ALL_BUSY_AFTER_MS = 15_000;
/** CPU fallback: a worker using this share of a core between two rounds is serving a request. */
const BUSY_CPU_PERCENT = 20;

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export interface ProcessProbeOptions {
  scanner?: OdooScanner;
  /** Where /proc is (tests point it at a copy); the scanner has its own. */
  procRoot?: string;
}

export function createProcessProbe(opts: ProcessProbeOptions = {}): Probe<ProcessData> {
  const scanner = opts.scanner ?? createOdooScanner();
  let cpuPrev = new Map<number, CpuSample>();
  let lastMain: { pid: number; startTicks: number } | null = null;
  let knownWorkers = new Set<number>();
  let restarts = 0;
  let lastRestartAt: number | null = null;
  let workersRespawned = 0;
  let busyPrev = new Map<number, { startedAt: number; busy: boolean; since: number }>();
  /** Threaded server: up to which start tick its threads are its own (see request-threads.ts). */
  let threadCutoff: { pid: number; startTicks: number; cutoff: number } | null = null;

  function info(p: OdooProc, role: OdooRole, scan: OdooScan): OdooProcessInfo {
    const startedAt = scan.bootTimeMs + (p.stat.startTicks * 1000) / CLOCK_TICKS;
    const uptimeMs = Math.max(scan.at - startedAt, 1);
    const prev = cpuPrev.get(p.pid);
    let cpu: number;
    if (prev && prev.startTicks === p.stat.startTicks && scan.at > prev.at) {
      cpu = ((p.stat.cpuTicks - prev.cpuTicks) / CLOCK_TICKS / ((scan.at - prev.at) / 1000)) * 100;
    } else {
      cpu = (p.stat.cpuTicks / CLOCK_TICKS / (uptimeMs / 1000)) * 100;
    }
    return {
      pid: p.pid,
      ppid: p.stat.ppid,
      role,
      cpuPercent: round1(Math.max(cpu, 0)),
      rssBytes: p.rssBytes,
      vsizeBytes: p.stat.vsizeBytes,
      threads: p.stat.threads,
      startedAt: Math.round(startedAt),
      uptimeSeconds: Math.round(uptimeMs / 1000),
      activity: null,
    };
  }

  /** Busy or idle for each HTTP worker, keeping since-when across rounds (per pid + start time). */
  async function activities(http: OdooProcessInfo[], scan: OdooScan): Promise<void> {
    const next = new Map<number, { startedAt: number; busy: boolean; since: number }>();
    await Promise.all(
      http.map(async (w) => {
        const viaSyscall = waitsInSelect(await readThreadSyscalls(w.pid));
        const hadBaseline = cpuPrev.has(w.pid);
        const busy = viaSyscall !== null ? !viaSyscall : hadBaseline ? w.cpuPercent >= BUSY_CPU_PERCENT : null;
        if (busy === null) return;
        const prev = busyPrev.get(w.pid);
        const since = prev && prev.startedAt === w.startedAt && prev.busy === busy ? prev.since : scan.at;
        next.set(w.pid, { startedAt: w.startedAt, busy, since });
        w.activity = { busy, since, source: viaSyscall !== null ? 'syscall' : 'cpu' };
      }),
    );
    busyPrev = next;
  }

  return {
    name: 'process',
    async run(ctx: ProbeContext): Promise<ProbeOutput<ProcessData>> {
      const scan = await scanner.scan();
      const tree = buildTree(scan, ctx);
      // CPU baselines for the next run. (A scan reused within the scanner's maxAgeMs has the same
      // `at`; the next run then falls back to the since-start average instead of dividing by zero.)
      const remember = (all: OdooProc[]) => {
        cpuPrev = new Map(all.map((p) => [p.pid, { startTicks: p.stat.startTicks, cpuTicks: p.stat.cpuTicks, at: scan.at }]));
      };

      if (!tree) {
        remember([]);
        // Servers started with another `-c`: other instances, named so the user sees why.
        const others = scan.procs.filter((p) => p.cmd.kind === 'server' && !scan.procs.some((q) => q.pid === p.stat.ppid));
        const data: ProcessData = {
          mode: 'stopped',
          configPath: null,
          main: null,
          workers: [],
          expected: { http: ctx.odoo.workers, cron: ctx.odoo.workers > 0 ? ctx.odoo.maxCronThreads : 0, gevent: ctx.odoo.workers > 0 },
          counts: { http: 0, cron: 0, untitled: 0, gevent: 0 },
          titled: false,
          limits: { soft: ctx.odoo.limitMemorySoft, hard: ctx.odoo.limitMemoryHard },
          httpLoad: null,
          totalRssBytes: 0,
          totalCpuPercent: 0,
          restarts,
          lastRestartAt,
          workersRespawned,
          otherInstances: others.map((p) => p.pid),
        };
        const otherText = others.length
          ? `; other Odoo instances run with other configs: ${others.map((p) => `pid ${p.pid} (-c ${p.cmd.kind === 'server' ? p.cmd.config : '?'})`).join(', ')}`
          : '';
        return {
          status: 'critical',
          summary: 'Odoo is not running',
          findings: [
            {
              key: 'down',
              severity: 'critical',
              title: 'Odoo is not running',
              detail: `no odoo-bin, odoo, openerp-server or \`python -m odoo\` server process${ctx.odoo.path ? ` using ${ctx.odoo.path}` : ''} found in /proc${otherText}`,
              hint: `Start it (systemctl start ${ctx.config.odoo.unit}) and read the journal for why it stopped.`,
              category: 'worker',
              fix: { id: 'restart-service', params: { service: 'odoo' }, unattended: true },
            },
          ],
          data,
        };
      }

      const { main } = tree;
      if (lastMain && (lastMain.pid !== main.pid || lastMain.startTicks !== main.stat.startTicks)) {
        restarts++;
        lastRestartAt = scan.at;
      } else if (lastMain) {
        for (const c of tree.children) if (c.role !== 'gevent' && !knownWorkers.has(c.proc.pid)) workersRespawned++;
      }
      // First sight of this main: its current workers are the baseline, not respawns.
      knownWorkers = new Set(tree.children.filter((c) => c.role !== 'gevent').map((c) => c.proc.pid));
      lastMain = { pid: main.pid, startTicks: main.stat.startTicks };

      const mainInfo = info(main, 'main', scan);
      const workers = tree.children.map((c) => info(c.proc, c.role, scan)).sort((a, b) => a.pid - b.pid);
      const httpWorkers = workers.filter((w) => w.role === 'http');
      // Before remember(): the CPU fallback needs to know whether a baseline existed.
      if (tree.workers > 0) await activities(httpWorkers, scan);
      remember([main, ...tree.children.map((c) => c.proc)]);

      const counts = { http: 0, cron: 0, untitled: 0, gevent: 0 };
      for (const w of workers) {
        if (w.role === 'http') counts.http++;
        else if (w.role === 'cron') counts.cron++;
        else if (w.role === 'gevent') counts.gevent++;
        else counts.untitled++;
      }
      const titled = tree.children.some((c) => c.proc.cmd.kind === 'titled');
      const prefork = tree.workers > 0 || workers.length > 0;
      const expected = {
        http: prefork ? tree.workers : 0,
        cron: prefork ? tree.maxCronThreads : 0,
        gevent: prefork,
      };
      const findings: Finding[] = [];
      const all = [mainInfo, ...workers];

      if (prefork) {
        if (counts.untitled === 0) {
          if (counts.http < expected.http) findings.push(workerFinding('workers', `${counts.http} of ${expected.http} HTTP workers running`));
          if (counts.cron < expected.cron) findings.push(workerFinding('cron-workers', `${counts.cron} of ${expected.cron} cron workers running`));
        } else {
          const want = expected.http + expected.cron;
          const have = counts.untitled + counts.http + counts.cron;
          if (have < want) findings.push(workerFinding('workers', `${have} of ${want} workers running (HTTP + cron)`));
        }
        if (counts.gevent === 0) {
          findings.push({
            key: 'gevent',
            severity: 'warning',
            title: "Odoo's gevent (websocket) process is not running",
            detail: `no \`gevent\` child of pid ${main.pid}; the bus (live chat, notifications) is down`,
            hint: `Check gevent_port (${ctx.odoo.geventPort}) is free and read the journal for the gevent process's error.`,
            category: 'worker',
          });
        }
      }

      // Odoo compares a process's virtual size with limit_memory_soft: prefork workers are recycled
      // after their request, a threaded server restarts. Near the limit means churn to come.
      const soft = ctx.odoo.limitMemorySoft;
      if (soft) {
        const limited = prefork ? workers.filter((w) => w.role !== 'gevent') : [mainInfo];
        const near = limited.filter((w) => w.vsizeBytes >= soft * SOFT_LIMIT_NEAR);
        if (near.length > 0) {
          const worst = near.reduce((a, b) => (b.vsizeBytes > a.vsizeBytes ? b : a));
          findings.push({
            key: 'memory-soft',
            severity: 'warning',
            title: `${near.length} Odoo process${near.length > 1 ? 'es' : ''} near limit_memory_soft`,
            detail: `pid ${worst.pid} (${worst.role}) uses ${formatBytes(worst.vsizeBytes)} virtual, ${formatBytes(worst.rssBytes)} resident; limit_memory_soft is ${formatBytes(soft)}`,
            hint: 'Odoo checks virtual size, not RSS. If fresh workers already exceed it they respawn endlessly: raise limit_memory_soft above a worker\'s size.',
            category: 'worker',
          });
        }
      }

      let threads: RequestThreads | null = null;
      if (!prefork) {
        const tasks = await readTasks(main.pid, opts.procRoot);
        if (tasks) {
          if (!threadCutoff || threadCutoff.pid !== main.pid || threadCutoff.startTicks !== main.stat.startTicks) {
            threadCutoff = { pid: main.pid, startTicks: main.stat.startTicks, cutoff: serverCutoff(tasks, tree.maxCronThreads) };
          }
          threads = requestThreads(tasks, threadCutoff.cutoff, scan.bootTimeMs, scan.at);
          const old = oldRequestFinding(threads, main.pid, ctx.odoo.limitTimeReal ?? 0);
          if (old) findings.push(old);
        }
      }

      let httpLoad: HttpLoad | null = null;
      const judged = httpWorkers.filter((w) => w.activity !== null);
      if (prefork && httpWorkers.length > 0 && judged.length === httpWorkers.length) {
        const busy = judged.filter((w) => w.activity!.busy);
        const allBusySince = busy.length === httpWorkers.length ? Math.max(...busy.map((w) => w.activity!.since)) : null;
        httpLoad = { busy: busy.length, workers: httpWorkers.length, allBusySince };
        if (allBusySince !== null && scan.at - allBusySince >= ALL_BUSY_AFTER_MS) {
          const secs = Math.round((scan.at - allBusySince) / 1000);
          findings.push({
            key: 'http-saturated',
            severity: 'warning',
            title: `All ${httpWorkers.length} HTTP workers busy for ${secs} s (requests are queueing)`,
            detail:
              `every WorkerHTTP of pid ${main.pid} has been serving a request for at least ${secs} s ` +
              `(${httpWorkers.map((w) => `pid ${w.pid}`).join(', ')}; seen ${judged[0]!.activity!.source === 'syscall' ? 'from where each waits' : 'from CPU time'}); new requests wait in the listen queue`,
            hint:
              'Look for long requests in the log (werkzeug lines with a long duration) and long queries in the database pane; ' +
              'if the load is real, raise `workers` in odoo.conf (about 2 per core, mind limit_memory_hard × workers against RAM).',
            category: 'worker',
          });
        }
      }

      const hard = ctx.odoo.limitMemoryHard;
      if (hard) {
        const limited = prefork ? workers.filter((w) => w.role !== 'gevent') : [mainInfo];
        const over = limited.filter((w) => w.vsizeBytes >= hard * SOFT_LIMIT_NEAR);
        if (over.length > 0) {
          const worst = over.reduce((a, b) => (b.vsizeBytes > a.vsizeBytes ? b : a));
          findings.push({
            key: 'memory-hard',
            severity: 'warning',
            title: `${over.length} Odoo process${over.length > 1 ? 'es' : ''} near limit_memory_hard`,
            detail: `pid ${worst.pid} (${worst.role}) uses ${formatBytes(worst.vsizeBytes)} virtual, ${formatBytes(worst.rssBytes)} resident; limit_memory_hard is ${formatBytes(hard)}`,
            hint: 'At limit_memory_hard the kernel refuses memory to the worker (RLIMIT_AS) and its request fails with MemoryError. Raise limit_memory_hard in odoo.conf if RAM allows, or find the request that grows it.',
            category: 'worker',
          });
        }
      }

      const data: ProcessData = {
        mode: prefork ? 'prefork' : 'threaded',
        configPath: tree.configPath,
        main: mainInfo,
        workers,
        expected,
        counts,
        titled,
        limits: { soft: ctx.odoo.limitMemorySoft, hard: ctx.odoo.limitMemoryHard },
        httpLoad,
        requestThreads: threads,
        totalRssBytes: all.reduce((s, p) => s + p.rssBytes, 0),
        totalCpuPercent: round1(all.reduce((s, p) => s + p.cpuPercent, 0)),
        restarts,
        lastRestartAt,
        workersRespawned,
        otherInstances: tree.others.map((p) => p.pid),
      };
      const workerPart = prefork
        ? `, ${workers.length - counts.gevent} workers${counts.gevent ? ' + gevent' : ''}`
        : threads
          ? `, ${threads.count} request${threads.count === 1 ? '' : 's'}${threads.oldestSeconds !== null ? ` (oldest ${threads.oldestSeconds}s)` : ''}`
          : '';
      const summary = `${data.mode} pid ${main.pid}${workerPart}, ${formatBytes(data.totalRssBytes)} RSS, ${data.totalCpuPercent}% CPU, up ${formatUptime(mainInfo.uptimeSeconds)}`;
      return { status: statusOfFindings(findings), summary, findings, data };
    },
  };
}

function workerFinding(key: string, title: string): Finding {
  return {
    key,
    severity: 'warning',
    title,
    detail: 'fewer prefork workers than odoo.conf (or the command line) asks for',
    hint: 'Workers that die at once are usually hitting limit_memory_soft/limit_time_real or a DB error: read the log around "Worker (".',
    category: 'worker',
  };
}

export function formatUptime(s: number): string {
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

