// Host memory (/proc/meminfo), host CPU use (delta of /proc/stat) and what Odoo takes of it.
// Also carries the host CPU figure for the console's chart: it is the one "system load" probe.
import { availableParallelism } from 'node:os';
import type { Finding } from '../core/types.js';
import { buildTree, createOdooScanner, formatBytes, type OdooScanner } from './process.js';
import { statusOfFindings } from './types.js';
import { parseCpuTimes, PROC_ROOT, readLoadavg, readMeminfo, readProcStat, type CpuTimes, type LoadAvg } from './proc.js';
import type { Probe, ProbeContext, ProbeOutput } from './types.js';

export interface MemoryData {
  totalBytes: number;
  availableBytes: number;
  availablePercent: number;
  /** 100 - availablePercent: the figure charted as "memory used". */
  usedPercent: number;
  swapTotalBytes: number;
  swapUsedBytes: number;
  /** null when the host has no swap. */
  swapUsedPercent: number | null;
  /** RSS of the Odoo main process and its children; null when Odoo is not running. */
  odooRssBytes: number | null;
  /** Prefork only: (workers + cron workers) × limit_memory_hard, the most the workers may map. */
  odooLimitBytes: number | null;
  /** Host CPU busy % since the previous run (first run: since boot). */
  cpuPercent: number;
  cpus: number;
  load: LoadAvg | null;
}

export interface MemoryProbeOptions {
  scanner?: OdooScanner;
  procRoot?: string;
}

function pct(part: number, total: number): number {
  return total > 0 ? Math.round((part / total) * 1000) / 10 : 0;
}

export function createMemoryProbe(opts: MemoryProbeOptions = {}): Probe<MemoryData> {
  const root = opts.procRoot ?? PROC_ROOT;
  const scanner = opts.scanner ?? createOdooScanner({ root });
  let prevCpu: CpuTimes | null = null;

  return {
    name: 'memory',
    async run(ctx: ProbeContext): Promise<ProbeOutput<MemoryData>> {
      const [mem, procStat, load, scan] = await Promise.all([
        readMeminfo(root),
        readProcStat(root),
        readLoadavg(root),
        scanner.scan(),
      ]);
      const total = mem.get('MemTotal');
      // MemAvailable exists since Linux 3.14; older kernels get the classic estimate.
      const available = mem.get('MemAvailable') ?? (mem.get('MemFree') ?? 0) + (mem.get('Cached') ?? 0) + (mem.get('Buffers') ?? 0);
      if (total === undefined || total === 0) throw new Error(`${root}/meminfo has no MemTotal`);
      const swapTotal = mem.get('SwapTotal') ?? 0;
      const swapUsed = swapTotal - (mem.get('SwapFree') ?? swapTotal);

      const cpuNow = parseCpuTimes(procStat);
      let cpuPercent = 0;
      if (cpuNow) {
        const base = prevCpu ?? { total: 0, idle: 0 };
        const dt = cpuNow.total - base.total;
        cpuPercent = dt > 0 ? pct(dt - (cpuNow.idle - base.idle), dt) : 0;
        prevCpu = cpuNow;
      }

      const tree = buildTree(scan, ctx);
      const odooRss = tree ? tree.main.rssBytes + tree.children.reduce((s, c) => s + c.proc.rssBytes, 0) : null;
      const workers = tree?.workers ?? ctx.odoo.workers;
      const cron = tree?.maxCronThreads ?? ctx.odoo.maxCronThreads;
      const hard = ctx.odoo.limitMemoryHard;
      const odooLimit = workers > 0 && hard ? (workers + cron) * hard : null;

      const data: MemoryData = {
        totalBytes: total,
        availableBytes: available,
        availablePercent: pct(available, total),
        usedPercent: Math.round((100 - pct(available, total)) * 10) / 10,
        swapTotalBytes: swapTotal,
        swapUsedBytes: swapUsed,
        swapUsedPercent: swapTotal > 0 ? pct(swapUsed, swapTotal) : null,
        odooRssBytes: odooRss,
        odooLimitBytes: odooLimit,
        cpuPercent,
        cpus: availableParallelism(),
        load,
      };
      const findings = memoryFindings(data, ctx);
      const odooPart = odooRss !== null ? `, Odoo ${formatBytes(odooRss)}` : '';
      const swapPart = data.swapUsedPercent !== null ? `, swap ${data.swapUsedPercent}%` : '';
      return {
        status: statusOfFindings(findings),
        summary: `${formatBytes(available)} of ${formatBytes(total)} available (${data.availablePercent}%)${swapPart}${odooPart}, CPU ${cpuPercent}%`,
        findings,
        data,
      };
    },
  };
}

function memoryFindings(d: MemoryData, ctx: ProbeContext): Finding[] {
  const t = ctx.config.thresholds;
  const out: Finding[] = [];
  const low = d.availablePercent <= t.memoryAvailCritPercent ? 'critical' : d.availablePercent <= t.memoryAvailWarnPercent ? 'warning' : null;
  if (low) {
    out.push({
      key: 'available',
      severity: low,
      title: `Only ${d.availablePercent}% memory available`,
      detail: `${formatBytes(d.availableBytes)} of ${formatBytes(d.totalBytes)} available${d.odooRssBytes !== null ? `; Odoo uses ${formatBytes(d.odooRssBytes)} RSS` : ''}`,
      hint: 'The OOM killer picks the biggest process (often a worker or PostgreSQL). Lower workers or limit_memory_hard, or add memory.',
      category: 'worker',
    });
  }
  if (d.swapUsedPercent !== null && d.swapUsedPercent >= t.swapWarnPercent) {
    out.push({
      key: 'swap',
      severity: 'warning',
      title: `Swap ${d.swapUsedPercent}% used`,
      detail: `${formatBytes(d.swapUsedBytes)} of ${formatBytes(d.swapTotalBytes)} swap in use`,
      hint: 'Heavy swapping makes requests hit limit_time_real. Find what grew (workers, PostgreSQL work_mem) before adding swap.',
      category: 'worker',
    });
  }
  // limit_memory_hard caps virtual size, which is well above RSS, so exceeding RAM is only a hint.
  if (d.odooLimitBytes !== null && d.odooLimitBytes > d.totalBytes + d.swapTotalBytes) {
    out.push({
      key: 'limits',
      severity: 'info',
      title: 'Worker memory limits exceed the host memory',
      detail: `(workers + cron workers) × limit_memory_hard = ${formatBytes(d.odooLimitBytes)}, host has ${formatBytes(d.totalBytes)} RAM + ${formatBytes(d.swapTotalBytes)} swap`,
      hint: 'If all workers grow to their limit the host swaps or OOM-kills; size workers × limit_memory_hard to the RAM left after PostgreSQL.',
      category: 'config',
    });
  }
  return out;
}
