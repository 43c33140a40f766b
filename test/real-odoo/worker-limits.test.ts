// Prefork worker limits provoked for real with the heal_probe routes (../shared/real-odoo/addons):
// a CPU-bound request past limit_time_cpu, a slow one past limit_time_real, a large allocation past
// limit_memory_hard. Each must raise its own worker incident, not one of the others. (A big
// allocation freed before the request ends is back to the OS before Odoo compares the worker's
// virtual size with limit_memory_soft, so the hard limit, enforced by RLIMIT_AS, is what a route can
// provoke for certain.)
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AutoProcess, Line } from '../helpers/auto-sandbox.js';
import { realOdoo, skipReason, type CheckJson } from '../helpers/real-odoo.js';
import type { LogRates } from '../../src/engine/probes/log-rates.js';

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

/** The process probe of a `check --json`, with the log rates it carries. */
function processOf(json: CheckJson): { findings: { key: string }[]; data: { logRates: LogRates } } {
  const p = json.probes.find((x) => x.probe === 'process');
  expect(p, 'the process probe').toBeDefined();
  return p as unknown as { findings: { key: string }[]; data: { logRates: LogRates } };
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
    await odoo?.restartOdoo({ set: { limit_time_cpu: 60, limit_time_real: 120, limit_time_real_cron: -1, limit_memory_soft: 2147483648, limit_memory_hard: 2684354560, limit_request: 65536 } });
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

  it('check --json counts those kills as recycle rates by reason, an incident past the configured rate; limit_request recycling never is', async () => {
    const o = odoo!;
    // The kills above are in the server log, which `check` reads back logs.recentSeconds (15 min).
    const first = await o.check({ thresholds: { timeRecyclesPerHour: 1 } });
    const proc = processOf(first.json);
    const reasons = proc.data.logRates.recycles.reasons;
    expect(reasons.cpu.count, 'Worker (pid) CPU time limit (2) reached.').toBeGreaterThanOrEqual(1);
    expect(reasons['time-real'].count, 'WorkerHTTP (pid) timeout after 30s').toBeGreaterThanOrEqual(1);
    expect(reasons.cpu.perHour).toBeGreaterThan(0);
    expect(proc.findings.map((f) => f.key)).toContain('recycles-time');
    expect(first.json.incidents.some((i) => i.origin.kind === 'probe' && i.origin.key === 'recycles-time')).toBe(true);

    // Workers recycled after every 2 requests: counted, and no incident even with a zero memory/time
    // threshold being the only ones there are (max-request has none).
    auto?.kill('SIGKILL');
    auto = null;
    await o.restartOdoo({ set: { limit_request: 2 } });
    o.freshLogs();
    for (let i = 0; i < 8; i++) expect(await get('/heal_probe/sleep?s=0.1')).toBe('200');
    const end = Date.now() + 30_000;
    let again = await o.check({ thresholds: { memoryRecyclesPerHour: 0, timeRecyclesPerHour: 0 } });
    while (processOf(again.json).data.logRates.recycles.reasons['max-request'].count < 2 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 2000));
      again = await o.check({ thresholds: { memoryRecyclesPerHour: 0, timeRecyclesPerHour: 0 } });
    }
    const after = processOf(again.json);
    expect(after.data.logRates.recycles.reasons['max-request'].count, 'Worker (pid) max request (2) reached.').toBeGreaterThanOrEqual(2);
    expect(after.findings.filter((f) => f.key.startsWith('recycles-'))).toEqual([]);
  });
});
