// Footprint of a process from /proc: CPU time (utime+stime) and resident memory, sampled while it
// runs. The clock-tick (USER_HZ = 100 on Linux) limits CPU resolution to 10 ms, so CPU % is
// computed over a whole window, never from one sample.
import { readFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';

const TICK_MS = 10;

/** CPU ms (user+system) of one pid, or null when it is gone. */
export function cpuMs(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state); utime = field 14, stime = field 15.
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/** A field of /proc/<pid>/status in MB (VmRSS, VmHWM), or null. */
export function statusMb(pid, field = 'VmRSS') {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Direct and indirect children (e.g. a tool that forks helpers): from /proc/<pid>/task/<tid>/children. */
export function descendants(pid) {
  const out = [];
  const walk = (p) => {
    let tids = [];
    try {
      tids = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      return;
    }
    for (const c of tids) {
      out.push(Number(c));
      walk(Number(c));
    }
  };
  walk(pid);
  return out;
}

/**
 * Samples a process (and its descendants) every `everyMs` for `durationMs`: CPU % of one core over
 * the window, RSS average and max (MB). The first sample is taken at start, so the figure covers
 * exactly the window.
 */
export async function sampleFootprint(pid, durationMs, { everyMs = 1000, withChildren = true } = {}) {
  const pids = () => [pid, ...(withChildren ? descendants(pid) : [])];
  const cpuOf = () => pids().reduce((n, p) => n + (cpuMs(p) ?? 0), 0);
  const rssOf = () => pids().reduce((n, p) => n + (statusMb(p) ?? 0), 0);
  const t0 = performance.now();
  const c0 = cpuOf();
  const rss = [rssOf()];
  while (performance.now() - t0 < durationMs) {
    await new Promise((r) => setTimeout(r, Math.min(everyMs, durationMs - (performance.now() - t0))));
    if (!existsSync(`/proc/${pid}`)) throw new Error(`process ${pid} exited during the measurement`);
    rss.push(rssOf());
  }
  const wall = performance.now() - t0;
  const cpu = cpuOf() - c0;
  return {
    cpuPercent: (cpu / wall) * 100,
    cpuMs: cpu,
    wallMs: wall,
    rssAvgMb: rss.reduce((a, b) => a + b, 0) / rss.length,
    rssMaxMb: Math.max(...rss),
    rssFirstMb: rss[0],
    rssLastMb: rss[rss.length - 1],
  };
}

/**
 * Runs a command to completion and reports wall time and peak RSS. Uses GNU time (-v) when present
 * (exact peak from the kernel); otherwise polls VmHWM (the kernel's own high-water mark) until exit.
 */
export function runMeasured(argv, { stdout = 'ignore', env = process.env, cwd } = {}) {
  const gnuTime = existsSync('/usr/bin/time');
  const full = gnuTime ? ['/usr/bin/time', '-v', ...argv] : argv;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(full[0], full.slice(1), { stdio: ['ignore', stdout === 'pipe' ? 'pipe' : 'ignore', 'pipe'], env, cwd });
    let stderr = '';
    let out = '';
    let hwm = 0;
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout?.on('data', (d) => (out += d));
    let poll = null;
    if (!gnuTime) {
      poll = setInterval(() => {
        const v = statusMb(child.pid, 'VmHWM');
        if (v !== null && v > hwm) hwm = v;
      }, 20);
    }
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      if (poll) clearInterval(poll);
      let peakRssMb = hwm;
      if (gnuTime) {
        const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
        peakRssMb = m ? Number(m[1]) / 1024 : NaN;
        stderr = stderr.replace(/\n?\tCommand being timed:[\s\S]*$/, '');
      }
      resolve({ code, wallMs, peakRssMb, stderr, stdout: out, rssSource: gnuTime ? '/usr/bin/time -v' : '/proc VmHWM poll' });
    });
  });
}
