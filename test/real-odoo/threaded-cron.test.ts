// Threaded mode (workers = 0) and a PostgreSQL restart: Odoo's cron thread dies for good (only on
// stderr); `--auto` must raise the cron-thread incident, restart Odoo, and scheduled actions must run
// again — proven by ir_cron.lastcall advancing after a NOTIFY cron_trigger wakes the new cron thread.
import { afterAll, describe, expect, it } from 'vitest';
import type { AutoProcess } from '../helpers/auto-sandbox.js';
import { realOdoo, skipReason } from '../helpers/real-odoo.js';
import type { RequestThreads } from '../../src/engine/probes/request-threads.js';

const odoo = realOdoo();
let auto: AutoProcess | null = null;
afterAll(async () => {
  auto?.kill('SIGKILL');
  if (odoo) await odoo.restartOdoo({ workers: 2 });
});

describe.skipIf(!odoo)(`threaded Odoo after a PostgreSQL restart${odoo ? '' : ` (skipped: ${skipReason()})`}`, () => {
  it('raises the cron-thread incident, restarting Odoo heals it and ir_cron.lastcall advances', async () => {
    const o = odoo!;
    o.ensureUp();
    await o.restartOdoo({ workers: 0 });
    o.freshLogs();
    const pidBefore = o.odooPid();
    auto = o.startAuto();
    await auto.waitFor((l) => l.event === 'ready', 'ready', 30_000);

    // PostgreSQL goes away; odoo-heal's own ladder restarts it (the PostgreSQL restart).
    o.stopPg();

    // The cron thread's death is on stderr ("Cron threads crashed", a symptom of the outage) and, once
    // PostgreSQL is back, the follow-up "Cron threads died while PostgreSQL was down" is what restarts
    // Odoo. Followed by title through the alert lines: the fix result line carries no title.
    await auto.waitFor((l) => l.event === 'incident.opened' && /cron threads/i.test(String(l.title)), 'a cron-thread incident', 90_000);
    const fixed = await auto.waitFor(
      (l) => l.event === 'alert.fix-result' && /cron threads/i.test(String(l.title)),
      'the cron-thread incident fixed',
      180_000,
    );
    expect(fixed.fix).toBe('restart-service');
    expect(fixed.outcome).toBe('verified');
    const result = auto.lines.find((l) => l.event === 'fix.result' && l.attempt === fixed.attempt);
    expect(String(result?.message)).toMatch(/odoo is back/);
    expect(o.pgRunning()).toBe(true);
    expect(o.odooPid()).not.toBe(pidBefore);
    expect(await o.health()).toBe(true);

    // A scheduled action runs again: make one due, wake the cron thread, watch lastcall move.
    const [id, lastcall] = o.psql("SELECT id, coalesce(lastcall::text, 'never') FROM ir_cron WHERE active ORDER BY id LIMIT 1")[0]!;
    o.psql(`UPDATE ir_cron SET nextcall = now() at time zone 'utc' - interval '1 minute' WHERE id = ${id}`);
    const end = Date.now() + 120_000;
    let now = lastcall;
    while (Date.now() < end) {
      o.psql(`NOTIFY cron_trigger, '${o.db}'`);
      now = o.psql(`SELECT coalesce(lastcall::text, 'never') FROM ir_cron WHERE id = ${id}`)[0]![0]!;
      if (now !== lastcall) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    expect(now, `ir_cron ${id} lastcall`).not.toBe(lastcall);
  });

  it('check --json counts its request threads from /proc and ages the oldest', async () => {
    const o = odoo!;
    // The --auto of the scenario above must not see this restart and act on Odoo mid-request.
    auto?.kill('SIGKILL');
    auto = null;
    o.ensureUp();
    // A fresh threaded server: a one-shot check takes the first 2 + max_cron_threads threads for the
    // server's own, which cron threads killed above would shift (docs/checks/request-threads.md).
    await o.restartOdoo({ workers: 0 });
    // Its request threads as `check --json` reads them from /proc: a sleeping request is one, aged
    // from its thread's start (the server's own threads and websockets are not counted).
    const sleeping = fetch(`${o.url}/heal_probe/sleep?s=20`, { signal: AbortSignal.timeout(60_000) }).then((r) => r.status);
    await new Promise((r) => setTimeout(r, 6000));
    type Proc = { summary: string; data: { mode: string; requestThreads: RequestThreads | null } };
    const look = async (): Promise<Proc> => (await o.check()).json.probes.find((p) => p.probe === 'process') as unknown as Proc;
    // On a loaded box the request may reach its thread late: look again while it still sleeps.
    let proc = await look();
    for (let i = 0; i < 2 && (proc.data.requestThreads?.count ?? 0) < 1; i++) {
      await new Promise((r) => setTimeout(r, 2000));
      proc = await look();
    }
    expect(proc.data.mode).toBe('threaded');
    expect(proc.data.requestThreads, proc.summary).toMatchObject({ exact: true });
    expect(proc.data.requestThreads!.count).toBeGreaterThanOrEqual(1);
    expect(proc.data.requestThreads!.oldestSeconds).toBeGreaterThanOrEqual(5);
    expect(proc.data.requestThreads!.oldestSeconds).toBeLessThan(60);
    expect(await sleeping).toBe(200);
  });
});
