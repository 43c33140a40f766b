import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Incident } from '../src/engine/core/types.js';
import { cronDeprecatedFields } from '../src/fixes/cron-deprecated-fields.js';
import { sha256Hex } from '../src/fixes/fix-util.js';
import { makeFixContext, type TestFixContext, testIncident } from './helpers/fix-context.js';
import { havePostgres, pgBinDir, startCluster, type PgCluster } from './helpers/pg-cluster.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const REAL_LOG = join(FIXTURES, 'logs/cron_deprecated_field.log');

/** The ParseError line of the real log: `while parsing <file>:<line>, somewhere inside`. */
function realParseError(): { file: string; line: string } {
  const text = readFileSync(REAL_LOG, 'utf8');
  const m = /ParseError: while parsing (\/\S+?):(\d+), somewhere inside/.exec(text);
  if (!m) throw new Error('ParseError line not found in the real log');
  return { file: m[1]!, line: m[2]! };
}

function incidentFor(file: string, line: string): Incident {
  return testIncident({
    id: 'i-0badc0de',
    fingerprint: `cron-deprecated-field|${file}`,
    origin: { kind: 'pattern', patternId: 'odoo.cron-deprecated-field', captures: { file, line } },
    title: 'Deprecated ir.cron field',
    category: 'cron',
    fix: { id: 'cron-deprecated-fields', params: { file }, unattended: false },
  });
}

let base: string;
let addons: string;
let ctx: TestFixContext;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'odoo-heal-cron-'));
  addons = join(base, 'custom_addons');
  mkdirSync(addons);
  cpSync(join(FIXTURES, 'legacy_cron'), join(addons, 'legacy_cron'), { recursive: true });
});
afterEach(() => {
  ctx?.cleanup();
  rmSync(base, { recursive: true, force: true });
});

function expectedBytes(): Buffer {
  const dir = join(base, 'expected');
  cpSync(join(FIXTURES, 'legacy_cron'), join(dir, 'legacy_cron'), { recursive: true });
  execFileSync('patch', ['-p1', '-s', '-i', join(FIXTURES, 'legacy_cron_fix.diff')], { cwd: dir });
  return readFileSync(join(dir, 'legacy_cron/data/ir_cron_data.xml'));
}

describe('cron-deprecated-fields fix', () => {
  it('refuses the real record path outside the configured roots, fixes the copy inside them, rolls back byte-identically', async () => {
    ctx = makeFixContext({ roots: [addons], odoo: { addonsPath: [addons] }, fixId: 'cron-deprecated-fields' });
    const real = realParseError();
    expect(real.file).toBe('/tmp/realodoo/custom_addons/legacy_cron/data/ir_cron_data.xml');

    const refused = cronDeprecatedFields.detect(incidentFor(real.file, real.line), ctx);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.reason).toMatch(/outside the allowed roots/);

    // The same record, its path remapped into the temp addons root.
    const file = real.file.replace('/tmp/realodoo/custom_addons', addons);
    const original = readFileSync(file);
    const incident = incidentFor(file, real.line);
    const detected = cronDeprecatedFields.detect(incident, ctx);
    expect(detected).toEqual({ ok: true, params: { file, line: 4 } });
    if (!detected.ok) return;

    const plan = await cronDeprecatedFields.plan(detected.params, incident, ctx);
    expect(plan.applicable).toBe(true);
    expect(plan.data.module).toBe('legacy_cron');
    expect(plan.preview).toContain('-            <field name="numbercall">-1</field>');
    expect(plan.preview).toContain('-            <field name="doall" eval="False"/>');
    expect(readFileSync(file).equals(original)).toBe(true); // plan has no side effect

    const applied = await cronDeprecatedFields.apply(plan, ctx);
    expect(readFileSync(file).equals(expectedBytes())).toBe(true);
    expect(await cronDeprecatedFields.verify(plan, applied, ctx)).toMatchObject({ ok: true });
    expect(applied.backups[0]?.sha256).toBe(sha256Hex(original));

    await cronDeprecatedFields.rollback(plan, applied, ctx);
    expect(sha256Hex(readFileSync(file))).toBe(sha256Hex(original));
  });

  it('refuses a path that escapes the roots through a symlink or ..', () => {
    ctx = makeFixContext({ roots: [addons], odoo: { addonsPath: [addons] } });
    const outside = join(base, 'outside.xml');
    writeFileSync(outside, '<odoo/>');
    execFileSync('ln', ['-s', outside, join(addons, 'legacy_cron/data/link.xml')]);
    for (const p of [join(addons, 'legacy_cron/data/link.xml'), `${addons}/../outside.xml`]) {
      const r = cronDeprecatedFields.detect(incidentFor(p, '1'), ctx);
      expect(r.ok).toBe(false);
    }
  });

  it('refuses to apply when the file changed since the plan', async () => {
    ctx = makeFixContext({ roots: [addons], odoo: { addonsPath: [addons] } });
    const file = join(addons, 'legacy_cron/data/ir_cron_data.xml');
    const incident = incidentFor(file, '4');
    const d = cronDeprecatedFields.detect(incident, ctx);
    if (!d.ok) throw new Error(d.reason);
    const plan = await cronDeprecatedFields.plan(d.params, incident, ctx);
    writeFileSync(file, `${readFileSync(file, 'utf8')}<!-- edited -->\n`);
    await expect(cronDeprecatedFields.apply(plan, ctx)).rejects.toThrow(/changed since the plan/);
  });

  describe.skipIf(!havePostgres())('module follow-up, judged by ir_module_module in a real PostgreSQL', () => {
    let pg: PgCluster;
    beforeAll(async () => {
      pg = await startCluster();
    }, 120_000);
    afterAll(() => pg?.destroy());

    async function setState(state: string | null): Promise<void> {
      const c = new Client({ host: pg.host, port: pg.port, user: pg.user, database: pg.database });
      await c.connect();
      try {
        await c.query('CREATE TABLE IF NOT EXISTS ir_module_module (name varchar PRIMARY KEY, state varchar)');
        await c.query('DELETE FROM ir_module_module');
        if (state) await c.query("INSERT INTO ir_module_module VALUES ('legacy_cron', $1)", [state]);
      } finally {
        await c.end();
      }
    }

    /**
     * Stands in for odoo-bin: logs like Odoo to stdout, and with `-i legacy_cron` or `-u legacy_cron`
     * marks it installed through psql (odoo-bin -i lists new addons first) unless told to fail in one of the ways a real run fails.
     */
    function fakeOdooBin(behaviour: 'installs' | 'does-nothing' | 'logs-error' | 'exits-3'): string {
      const script = join(base, `fake-odoo-bin-${behaviour}`);
      const psql = join(pgBinDir(), 'psql');
      const install = `${psql} -h ${pg.host} -p ${pg.port} -U ${pg.user} -d ${pg.database} -qc "INSERT INTO ir_module_module VALUES ('legacy_cron', 'installed') ON CONFLICT (name) DO UPDATE SET state = 'installed'"`;
      const body = {
        installs: `${install}\necho "2026-12-02 09:00:00,000 4242 INFO postgres odoo.modules.loading: loading legacy_cron"`,
        'does-nothing': 'echo "2026-12-02 09:00:00,000 4242 INFO postgres odoo.modules.loading: 14 modules loaded"',
        'logs-error': `echo "2026-12-02 09:00:00,000 4242 ERROR postgres odoo.modules.registry: Failed to load registry"\n${install}`,
        'exits-3': 'echo "no module" >&2\nexit 3',
      }[behaviour];
      writeFileSync(script, `#!/bin/sh\necho "$@" > ${script}.args\n${body}\nexit 0\n`, { mode: 0o755 });
      return script;
    }

    async function runFix(script: string) {
      ctx?.cleanup();
      ctx = makeFixContext({
        roots: [addons],
        odoo: { addonsPath: [addons], dbHost: pg.host, dbPort: pg.port, dbUser: pg.user, dbName: pg.database },
        fixes: { allowCommands: [script], moduleUpdate: [script, '-c', '/etc/odoo/odoo.conf', '-u', '${module}', '--stop-after-init'] },
      });
      const file = join(addons, 'legacy_cron/data/ir_cron_data.xml');
      const incident = incidentFor(file, '4');
      const d = cronDeprecatedFields.detect(incident, ctx);
      if (!d.ok) throw new Error(d.reason);
      const plan = await cronDeprecatedFields.plan(d.params, incident, ctx);
      const applied = await cronDeprecatedFields.apply(plan, ctx);
      const verdict = await cronDeprecatedFields.verify(plan, applied, ctx);
      await cronDeprecatedFields.rollback(plan, applied, ctx);
      return { plan, verdict, args: readFileSync(`${script}.args`, 'utf8').trim() };
    }

    it('installs (-i) a module Odoo does not have installed, and is verified once Odoo lists it installed', async () => {
      await setState('uninstalled');
      const { plan, verdict, args } = await runFix(fakeOdooBin('installs'));
      expect(plan.data.moduleState).toBe('uninstalled');
      expect(args).toBe('-c /etc/odoo/odoo.conf -i legacy_cron --stop-after-init --logfile=');
      expect(plan.preview).toContain('module legacy_cron is uninstalled');
      expect(verdict).toMatchObject({ ok: true });
      expect(verdict.detail).toMatch(/legacy_cron is installed in Odoo's database \(was uninstalled\)/);
    });

    it('a module missing from ir_module_module (no update_list yet) is installed too', async () => {
      await setState(null);
      const { args, verdict } = await runFix(fakeOdooBin('installs'));
      expect(args).toContain('-i legacy_cron');
      expect(verdict.ok).toBe(true);
    });

    it('upgrades (-u) an installed module', async () => {
      await setState('installed');
      const { args, verdict } = await runFix(fakeOdooBin('does-nothing'));
      expect(args).toBe('-c /etc/odoo/odoo.conf -u legacy_cron --stop-after-init --logfile=');
      expect(verdict.ok).toBe(true);
    });

    it('is not verified when the follow-up exits 0 but the module stays uninstalled', async () => {
      await setState('uninstalled');
      const { verdict } = await runFix(fakeOdooBin('does-nothing'));
      expect(verdict.ok).toBe(false);
      expect(verdict.detail).toMatch(/follow-up exited 0, but module legacy_cron is uninstalled in Odoo's database/);
    });

    it('is not verified when the follow-up logs an ERROR record, even installed and exit 0', async () => {
      await setState('uninstalled');
      const { verdict } = await runFix(fakeOdooBin('logs-error'));
      expect(verdict.ok).toBe(false);
      expect(verdict.detail).toMatch(/logged 1 ERROR record\(s\): ERROR Failed to load registry/);
    });

    it('is not verified when the follow-up fails', async () => {
      await setState('uninstalled');
      const { verdict } = await runFix(fakeOdooBin('exits-3'));
      expect(verdict.ok).toBe(false);
      expect(verdict.detail).toMatch(/module follow-up failed \(exit code 3\): no module/);
    });
  });

  it('says there is nothing to do on an already fixed file', async () => {
    ctx = makeFixContext({ roots: [addons], odoo: { addonsPath: [addons] } });
    const file = join(addons, 'legacy_cron/data/ir_cron_data.xml');
    writeFileSync(file, expectedBytes());
    const incident = incidentFor(file, '4');
    const d = cronDeprecatedFields.detect(incident, ctx);
    if (!d.ok) throw new Error(d.reason);
    const plan = await cronDeprecatedFields.plan(d.params, incident, ctx);
    expect(plan.applicable).toBe(false);
    expect(plan.actions).toEqual([]);
  });
});
