// The odoo.conf audit on the real Odoo, through the built binary: a db_maxconn that lets Odoo's
// processes open more connections than its PostgreSQL cluster has is reported by `check --json` and
// `config --audit --json` with its odoo.conf line; a sessions directory taken over by root is
// reported as not writable by Odoo's user (a write test as `odoo`); a cron left as a killed run leaves
// it in ir_cron_progress is named while limit_time_real_cron is unset. odoo.conf, the directory and
// the row are restored after.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { realOdoo, skipReason } from '../helpers/real-odoo.js';

const odoo = realOdoo();
const original = odoo ? readFileSync(odoo.conf) : null;
const sessions = odoo ? join(odoo.dataDir, 'sessions') : '';
let sessionsWas: { uid: number; gid: number; mode: number } | null = null;
afterAll(() => {
  if (odoo && original) writeFileSync(odoo.conf, original);
  if (sessionsWas) {
    execFileSync('chown', [`${sessionsWas.uid}:${sessionsWas.gid}`, sessions]);
    execFileSync('chmod', [(sessionsWas.mode & 0o7777).toString(8), sessions]);
  }
});

interface AuditJson {
  format: string;
  exitCode: number;
  findings: { key: string; severity: string; option: string; line: number | null; title: string; why: string }[];
}

const lineOf = (text: string, key: string) => text.split('\n').findIndex((l) => new RegExp(`^${key}\\s*=`).test(l)) + 1;

describe.skipIf(!odoo)(`odoo.conf audit on the real Odoo${odoo ? '' : ` (skipped: ${skipReason()})`}`, () => {
  it('a db_maxconn beyond what the cluster has is reported by check --json and config --audit --json with its line', async () => {
    const o = odoo!;
    o.ensureUp();
    const [max, reserved] = o.psql("select current_setting('max_connections'), current_setting('superuser_reserved_connections')")[0]!.map(Number);
    const text = readFileSync(o.conf, 'utf8');
    const workers = Number(/^workers\s*=\s*(\d+)/m.exec(text)?.[1] ?? 0);
    const cron = Number(/^max_cron_threads\s*=\s*(\d+)/m.exec(text)?.[1] ?? 2);
    const processes = workers > 0 ? 1 + workers + cron : 1;
    const maxconn = Math.ceil((max! - reserved!) / processes) + 5;
    o.setOdooConf({ db_maxconn: maxconn });
    const line = lineOf(readFileSync(o.conf, 'utf8'), 'db_maxconn');
    expect(line).toBeGreaterThan(0);

    const audit = await o.cli(['config', '--audit', '--json']);
    const json = JSON.parse(audit.stdout) as AuditJson;
    expect(json.format).toBe('odoo-heal/config-audit@1');
    const f = json.findings.find((x) => x.key === 'connections');
    expect(f, audit.stdout).toMatchObject({ option: 'db_maxconn', line, severity: 'warning' });
    expect(f!.title).toMatch(new RegExp(`^db_maxconn = ${maxconn} lets Odoo open ${processes * maxconn} connections; PostgreSQL has \\d+ for it$`));
    expect(audit.code).toBe(json.exitCode);
    expect(audit.code).toBeGreaterThanOrEqual(1);

    const check = await o.check();
    const conf = check.json.probes.find((p) => p.probe === 'odoo_conf');
    const finding = conf?.findings.find((x) => x.key === 'audit-connections');
    expect(finding, JSON.stringify(conf)).toBeDefined();
    expect(finding!.title).toContain(`${o.conf} line ${line}: db_maxconn = ${maxconn} lets Odoo open`);
    expect(check.code).toBeGreaterThanOrEqual(1);

    // Back to a db_maxconn that fits: the finding is gone.
    o.setOdooConf({ db_maxconn: Math.max(1, Math.floor((max! - reserved! - 10) / processes)) });
    const fixed = JSON.parse((await o.cli(['config', '--audit', '--json'])).stdout) as AuditJson;
    expect(fixed.findings.map((x) => x.key)).not.toContain('connections');
    writeFileSync(o.conf, original!);
  });

  it('limit_time_real_cron unset and a cron whose last run was killed: named from ir_cron_progress', async () => {
    const o = odoo!;
    // Unset, or -1 ("use limit_time_real"), which the worker-limits scenario leaves when it runs first;
    // the finding names that line when there is one.
    const confLines = readFileSync(o.conf, 'utf8').split('\n');
    const at = confLines.findIndex((l) => /^limit_time_real_cron\s*=/.test(l));
    if (at >= 0) expect(confLines[at]).toMatch(/=\s*-1\s*$/);
    const line = at >= 0 ? at + 1 : null;
    // The cron due last (daily ones): no cron worker runs it during the test and resets its progress.
    const [id, name] = o.psql(
      "select id, case when pg_typeof(cron_name)::text = 'jsonb' then cron_name::jsonb->>'en_US' else cron_name::text end from ir_cron where active order by nextcall desc, id limit 1",
    )[0]!;
    // What Odoo 18's _add_progress commits before it calls a job (timed_out_counter = last + 1) and
    // leaves behind when the worker is killed mid-run: the state a time-limit kill leaves.
    const [progress] = o.psql(
      `insert into ir_cron_progress (cron_id, remaining, done, deactivate, timed_out_counter, create_date, write_date)
       values (${id}, 0, 0, false, 1, now() at time zone 'UTC', now() at time zone 'UTC') returning id`,
    )[0]!;
    try {
      const r = await o.cli(['config', '--audit', '--json']);
      const f = (JSON.parse(r.stdout) as AuditJson).findings.find((x) => x.key === 'cron-time-limit');
      expect(f, r.stdout).toMatchObject({ option: 'limit_time_real_cron', line, severity: 'warning' });
      expect(f!.why).toContain(`"${name}" (id ${id}, ${o.db}): its last run did not finish (ir_cron_progress.timed_out_counter 1)`);
    } finally {
      o.psql(`delete from ir_cron_progress where id = ${progress}`);
    }
    const after = JSON.parse((await o.cli(['config', '--audit', '--json'])).stdout) as AuditJson;
    expect(after.findings.map((x) => x.key)).not.toContain('cron-time-limit');
  });

  it("a sessions dir root took over is reported as not writable by Odoo's user, with owner, mode and data_dir's line", async () => {
    const o = odoo!;
    const st = statSync(sessions);
    sessionsWas = { uid: st.uid, gid: st.gid, mode: st.mode };
    const before = JSON.parse((await o.cli(['config', '--audit', '--json'])).stdout) as AuditJson;
    expect(before.findings.map((x) => x.key)).not.toContain('data-dir-not-writable');

    execFileSync('chown', ['root:root', sessions]);
    execFileSync('chmod', ['700', sessions]);
    const r = await o.cli(['config', '--audit', '--json']);
    const f = (JSON.parse(r.stdout) as AuditJson).findings.find((x) => x.key === 'data-dir-not-writable');
    expect(f, r.stdout).toMatchObject({ option: 'data_dir', line: lineOf(readFileSync(o.conf, 'utf8'), 'data_dir'), severity: 'warning' });
    expect(f!.title).toBe(`Odoo's user odoo cannot write ${sessions}, owned root:root 0700`);
    expect(f!.why).toContain('a write test as odoo');
  });
});
