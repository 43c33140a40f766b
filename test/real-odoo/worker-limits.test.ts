// Prefork worker limits provoked for real with the heal_probe routes (../shared/real-odoo/addons):
// a CPU-bound request past limit_time_cpu, a slow one past limit_time_real, a large allocation past
// limit_memory_hard. Each must raise its own worker incident, not one of the others. (A big
// allocation freed before the request ends is back to the OS before Odoo compares the worker's
// virtual size with limit_memory_soft, so the hard limit, enforced by RLIMIT_AS, is what a route can
// provoke for certain.)
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AutoProcess, Line } from '../helpers/auto-sandbox.js';
import { realOdoo, skipReason } from '../helpers/real-odoo.js';

const odoo = realOdoo();
let auto: AutoProcess | null = null;

// Titles are the patterns' (patterns/worker.json); matched loosely so a reworded title still reads right.
const TITLES = {
  cpu: /CPU time limit/i,
  real: /real time limit/i,
  memory: /memory limit|MemoryError|out of memory/i,
} as const;

/** Virtual size of the biggest HTTP worker now (Odoo's memory limits are on virtual memory). */
function workerVmsBytes(mainPid: number): number {
  const children = readFileSync(`/proc/${mainPid}/task/${mainPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  let max = 0;
  for (const pid of children) {
    try {
      const kb = Number(/^VmSize:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      max = Math.max(max, kb * 1024);
    } catch {
      /* gone */
    }
  }
  return max;
}

function get(path: string): Promise<string> {
  return fetch(`${odoo!.url}${path}`, { signal: AbortSignal.timeout(60_000) }).then(
    (r) => `${r.status}`,
    (e: unknown) => `failed: ${String(e)}`,
  );
}

function openedSince(from: number): string[] {
  return auto!.lines.slice(from).filter((l: Line) => l.event === 'incident.opened').map((l) => String(l.title));
}

describe.skipIf(!odoo)(`worker limits on the real Odoo${odoo ? '' : ` (skipped: ${skipReason()})`}`, () => {
  beforeAll(async () => {
    const o = odoo!;
    o.ensureUp();
    await o.restartOdoo({ workers: 2 });
    const vms = workerVmsBytes(o.odooPid()!);
    expect(vms).toBeGreaterThan(0);
    // Hard limit 300 MiB above a fresh worker: a 600 MiB allocation crosses it, nothing else does.
    // The real-time limit must stay above the CPU test's wall time on a loaded box; cron workers get
    // none (limit_time_real_cron = 0), or the master would kill them between polls.
    const mib = 1024 * 1024;
    await o.restartOdoo({
      set: { limit_time_cpu: 2, limit_time_real: 30, limit_time_real_cron: 0, limit_memory_soft: vms + 250 * mib, limit_memory_hard: vms + 300 * mib },
    });
    o.freshLogs();
    auto = o.startAuto();
    await auto.waitFor((l) => l.event === 'ready', 'ready', 30_000);
  });
  afterAll(async () => {
    auto?.kill('SIGKILL');
    await odoo?.restartOdoo({ set: { limit_time_cpu: 60, limit_time_real: 120, limit_time_real_cron: -1, limit_memory_soft: 2147483648, limit_memory_hard: 2684354560 } });
  });

  it('a CPU-bound request past limit_time_cpu: the CPU-limit incident', async () => {
    const from = auto!.lines.length;
    await get('/heal_probe/burn?s=5');
    await auto!.waitFor((l) => l.event === 'incident.opened' && TITLES.cpu.test(String(l.title)), 'the CPU-limit incident', 60_000);
    expect(openedSince(from).filter((t) => TITLES.memory.test(t) || TITLES.real.test(t))).toEqual([]);
  });

  it('a request sleeping past limit_time_real: the real-time-limit incident', async () => {
    const from = auto!.lines.length;
    await get('/heal_probe/sleep?s=45');
    await auto!.waitFor((l) => l.event === 'incident.opened' && TITLES.real.test(String(l.title)), 'the real-time-limit incident', 60_000);
    expect(openedSince(from).filter((t) => TITLES.memory.test(t) || TITLES.cpu.test(t))).toEqual([]);
  });

  it('an allocation past limit_memory_soft: the memory-limit incident', async () => {
    const from = auto!.lines.length;
    await get('/heal_probe/alloc?mb=600');
    await auto!.waitFor((l) => l.event === 'incident.opened' && TITLES.memory.test(String(l.title)), 'the memory-limit incident', 60_000);
    expect(openedSince(from).filter((t) => TITLES.cpu.test(t) || TITLES.real.test(t))).toEqual([]);
  });
});
