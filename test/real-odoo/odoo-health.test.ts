// Odoo-aware health against the real Odoo 18 (issue 13), each fault provoked for real and asserted
// through the built binary: a failing scheduled action, a stuck one ended by the terminate-cron fix
// (verified by Odoo running it again), HTTP workers all busy on /heal_probe/sleep (--auto), overdue
// crons with max_cron_threads = 0, a module left `to upgrade`, and a filestore file removed
// (check --deep).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { realOdoo, ROOT, skipReason, type CheckJson, type RealOdoo } from '../helpers/real-odoo.js';

const odoo = realOdoo();
const BIN = join(ROOT, 'bin', 'odoo-heal');

function incident(r: { json: CheckJson }, key: string) {
  return r.json.incidents.find((i) => i.origin.kind === 'probe' && i.origin.probe === 'odoo_db' && i.origin.key === key);
}

/** A scheduled action of our own running `code` (Python, as an Odoo server action), due now. */
async function createCron(o: RealOdoo, name: string, code: string): Promise<number> {
  const [modelId] = await o.rpc.executeKw<number[]>('ir.model', 'search', [[['model', '=', 'res.partner']]]);
  const created = await o.rpc.executeKw<number | number[]>('ir.cron', 'create', [
    { name, model_id: modelId, state: 'code', code, interval_number: 1, interval_type: 'days', active: true },
  ]);
  const id = Array.isArray(created) ? created[0]! : created;
  dueNow(o, id);
  return id;
}

/** nextcall in the past and Odoo's own wake-up (its cron workers LISTEN in database `postgres`). */
function dueNow(o: RealOdoo, id: number): void {
  o.psql(`update ir_cron set nextcall = (now() at time zone 'UTC') - interval '1 minute' where id = ${id}`);
  execFileSync(
    'runuser',
    ['-u', 'postgres', '--', join(o.info.pgBin, 'psql'), '-h', join(o.base, 'pg', 'run'), '-p', String(o.pgPort), '-U', 'postgres', '-d', 'postgres', '-qtAX', '-c', `select pg_notify('cron_trigger', '${o.info.db}')`],
    { encoding: 'utf8', cwd: '/', timeout: 60_000 },
  );
}

async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs: number, everyMs = 1000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `odoo-heal fix <incident> --yes --json` with a config for this server. */
function fix(o: RealOdoo, incident: string, over: Record<string, unknown>): Promise<{ code: number; out: string; err: string }> {
  const { dir, config } = o.healConfig(over);
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN, '--config', config, '--odoo-config', o.conf, 'fix', incident, '--yes', '--json'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', rej);
    child.on('close', (code) => res({ code: code ?? -1, out, err }));
  });
}

describe.skipIf(!odoo)(`Odoo-aware health on a real Odoo 18${odoo ? '' : ` (skipped: ${skipReason()})`}`, () => {
  const o = odoo!;
  const crons: number[] = [];

  afterAll(async () => {
    if (!odoo) return;
    for (const id of crons) o.psql(`update ir_cron set active = false where id = ${id}`);
    o.psql(`delete from ir_config_parameter where key = 'heal_test.stuck_done'`);
  });

  it('a scheduled action that raises: cron-failing names it with its failure count', async () => {
    o.ensureUp();
    const id = await createCron(o, 'heal test: failing action', "raise UserError('heal test: this action always fails')");
    crons.push(id);
    // Odoo's cron worker runs it and records the failure (ir_cron.failure_count, Odoo 17.3+).
    await until('failure_count > 0', () => Number(o.psql(`select failure_count from ir_cron where id = ${id}`)[0]?.[0] ?? 0) > 0, 120_000);
    const r = await o.check();
    const inc = incident(r, 'cron-failing');
    expect(inc?.severity).toBe('warning');
    expect(inc?.title).toMatch(/scheduled action failing: "heal test: failing action" \(id \d+, healdb\) 1 failure in a row/);
    o.psql(`update ir_cron set active = false where id = ${id}`);
  }, 180_000);

  it('a stuck scheduled action: cron-stuck while it holds its lock, and terminate-cron frees it (Odoo runs it again)', async () => {
    o.ensureUp();
    o.psql(`delete from ir_config_parameter where key = 'heal_test.stuck_done'`);
    // Sleeps in SQL until the test marks it done: the first run hangs, the run after the fix completes.
    const id = await createCron(
      o,
      'heal test: stuck action',
      "env.cr.execute(\"select pg_sleep(600) where not exists (select 1 from ir_config_parameter where key = 'heal_test.stuck_done')\")",
    );
    crons.push(id);
    const over = { thresholds: { cronStuckSeconds: 3 } };
    const holder = await until(
      'a backend holding the cron row lock',
      () =>
        o.psql(
          `select a.pid from pg_stat_activity a where a.state like 'idle in transaction%' and a.query ~* 'for no key update' and a.query ~ 'ir_cron' and a.query ~ 'AND id = ${id}\\M'`,
        )[0]?.[0],
      120_000,
    );
    await new Promise((r) => setTimeout(r, 4000));
    const r = await o.check(over);
    const inc = incident(r, 'cron-stuck');
    expect(inc?.title).toMatch(/scheduled action stuck: "heal test: stuck action" \(id \d+, healdb\) running for \d+ s/);
    expect(inc?.fix?.id).toBe('terminate-cron');
    const lastcall = o.psql(`select coalesce(lastcall::text, '') from ir_cron where id = ${id}`)[0]?.[0];

    o.psql(`insert into ir_config_parameter (key, value) values ('heal_test.stuck_done', '1')`);
    const applied = await fix(o, 'probe:odoo_db:cron-stuck', over);
    expect(applied.err).toBe('');
    // The plan showed the SQL and the backend; verification waited for lastcall to advance.
    expect(applied.out).toContain('pg_terminate_backend');
    expect(applied.out).toContain(`pid ${holder}`);
    expect(applied.out).toMatch(/"outcome":\s*"verified"/);
    expect(applied.code).toBe(0);
    const after = o.psql(`select lastcall::text, (select count(*) from pg_stat_activity where pid = ${holder}) from ir_cron where id = ${id}`)[0]!;
    expect(after[0]).not.toBe(lastcall);
    expect(after[1]).toBe('0');
    const again = await o.check(over);
    expect(incident(again, 'cron-stuck')).toBeUndefined();
    o.psql(`update ir_cron set active = false where id = ${id}`);
  }, 300_000);

  it('every HTTP worker busy on /heal_probe/sleep: --auto opens "All 2 HTTP workers busy"', async () => {
    o.ensureUp();
    const auto = o.startAuto();
    try {
      await auto.waitFor((l) => l.event === 'started', 'started', 30_000);
      const sleeps = [0, 1].map(() => fetch(`${o.url}/heal_probe/sleep?s=30`).then((r) => r.text(), () => ''));
      const opened = await auto.waitFor(
        (l) => l.event === 'incident.opened' && typeof l.title === 'string' && /All 2 HTTP workers busy for \d+ s/.test(l.title),
        'the all-busy incident',
        45_000,
      );
      expect(opened.title).toMatch(/requests are queueing/);
      await Promise.all(sleeps);
      await auto.waitFor((l) => l.event === 'incident.resolved' && typeof l.title === 'string' && /HTTP workers busy/.test(l.title), 'resolved', 30_000);
    } finally {
      auto.kill('SIGTERM');
      await auto.exited;
      rmSync(auto.dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('max_cron_threads = 0 and a nextcall in the past: "scheduled actions are not running", naming the cron', async () => {
    o.ensureUp();
    await o.restartOdoo({ set: { max_cron_threads: 0 } });
    try {
      const before = o.psql(`select nextcall::text from ir_cron where id = 1`)[0]?.[0];
      o.psql(`update ir_cron set nextcall = (now() at time zone 'UTC') - interval '3 days' where id = 1`);
      try {
        const r = await o.check();
        const inc = incident(r, 'cron-overdue');
        expect(inc?.severity).toBe('critical');
        expect(inc?.title).toMatch(/^Scheduled actions are not running: 1 cron overdue \("Base: Auto-vacuum internal data" \(id 1, healdb\) due 3 d ago\)/);
        expect(String(inc?.detail)).toContain('max_cron_threads = 0');
        expect(r.code).toBe(2);
      } finally {
        o.psql(`update ir_cron set nextcall = '${before}' where id = 1`);
      }
      // A module left mid-update (an interrupted -u): named, with what it does to crons.
      o.psql(`update ir_module_module set state = 'to upgrade', write_date = (now() at time zone 'UTC') - interval '1 hour' where name = 'heal_probe'`);
      try {
        const r = await o.check();
        const inc = incident(r, 'modules-pending');
        expect(inc?.title).toBe('1 module left mid-update: heal_probe (to upgrade, healdb)');
      } finally {
        o.psql(`update ir_module_module set state = 'installed' where name = 'heal_probe'`);
      }
    } finally {
      await o.restartOdoo({ set: { max_cron_threads: 1 } });
    }
  }, 240_000);

  it('an attachment whose file was removed from the filestore: check --deep says how many of how many sampled are missing', async () => {
    o.ensureUp();
    const id = await o.rpc.executeKw<number>('ir.attachment', 'create', [
      { name: 'heal-test.txt', datas: Buffer.from(`heal test ${Date.now()}\n`).toString('base64') },
    ]);
    const fname = o.psql(`select store_fname from ir_attachment where id = ${id}`)[0]?.[0];
    expect(fname).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{40}$/);
    const file = join(o.filestore, fname!);
    expect(existsSync(file)).toBe(true);
    const clean = await o.check({}, ['--deep']);
    expect(incident(clean, 'filestore-missing')).toBeUndefined();
    rmSync(file);
    try {
      const r = await o.check({}, ['--deep']);
      const inc = incident(r, 'filestore-missing');
      expect(inc?.severity).toBe('critical');
      expect(inc?.title).toMatch(/^Filestore: 1 of \d+ sampled attachments missing \(healdb\)$/);
      expect(String(inc?.detail)).toContain(`${fname} (ir_attachment ${id})`);
      // Without --deep, check does not stat the filestore.
      const quick = await o.check();
      expect(incident(quick, 'filestore-missing')).toBeUndefined();
    } finally {
      await o.rpc.executeKw('ir.attachment', 'unlink', [[id]]);
    }
  }, 120_000);
});
