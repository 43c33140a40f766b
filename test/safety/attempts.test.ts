// The attempt orchestrator against real files, real backups, a real audit log, with a small fix
// module written here (the real fixes are tested in their own area).
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudit, verifyAudit } from '../../src/engine/state/audit.js';
import { defaultConfig, derivePaths } from '../../src/engine/config/defaults.js';
import type { Config, OdooConf } from '../../src/engine/config/types.js';
import type { Incident } from '../../src/engine/core/types.js';
import { ATTEMPT_ID_RE, listAttempts, loadAttempt, rollbackAttempt, runAttempt, type AttemptDeps } from '../../src/fixes/attempts.js';
import type { Fix } from '../../src/fixes/types.js';
import { testIncident } from '../helpers/fix-context.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

type Mode = 'good' | 'bad-verify' | 'throw-after-write';
/** Replaces `numbercall` by nothing in the file named by the incident; verify/apply misbehave on demand. */
function testFix(mode: Mode): Fix<{ path: string }, { path: string; after: string }> {
  return {
    id: 'test-edit',
    title: 'Test edit',
    detect(incident, ctx) {
      const p = incident.origin.kind === 'pattern' ? incident.origin.captures.file : undefined;
      if (!p) return { ok: false, reason: 'no file capture' };
      const c = ctx.confiner.check(p);
      return c.ok ? { ok: true, params: { path: c.path } } : { ok: false, reason: c.reason };
    },
    async plan(params, incident) {
      const before = readFileSync(params.path, 'utf8');
      const after = before.replace(/<field name="numbercall">[^<]*<\/field>\n?/g, '');
      return {
        fixId: 'test-edit',
        incidentId: incident.id,
        summary: `remove numbercall from ${params.path}`,
        why: 'Odoo 18 dropped the field',
        preview: `-numbercall\n`,
        actions: [{ kind: 'edit-file', path: params.path, sha256Before: sha(before), diff: '-numbercall' }],
        applicable: true,
        data: { path: params.path, after },
      };
    },
    async apply(plan, ctx) {
      const b = await ctx.writer.replaceFile(plan.data.path, plan.data.after);
      if (mode === 'throw-after-write') throw new Error('disk on fire');
      return { backups: [b], commands: [], undo: null };
    },
    async verify(plan) {
      const ok = mode !== 'bad-verify' && !readFileSync(plan.data.path, 'utf8').includes('numbercall');
      return { ok, detail: ok ? 'field gone' : 'module update still fails' };
    },
    async rollback(_plan, applied, ctx) {
      for (const b of [...applied.backups].reverse()) await ctx.writer.restore(b);
    },
  };
}

const ORIGINAL = '<odoo>\r\n  <record id="cron" model="ir.cron">\n    <field name="numbercall">-1</field>\n    <field name="name">x</field>\n  </record>\n</odoo>\n';

describe('runAttempt / rollbackAttempt', () => {
  let base: string;
  let addons: string;
  let config: Config;
  let deps: AttemptDeps;
  const file = (): string => join(addons, 'legacy_cron', 'data', 'ir_cron_data.xml');
  const incident = (path = file()): Incident =>
    testIncident({
      id: 'i-0badc0de',
      fingerprint: 'fp',
      origin: { kind: 'pattern', patternId: 'cron-deprecated-field', captures: { file: path } },
      title: 'Deprecated ir.cron field',
      category: 'module',
      fix: { id: 'test-edit', params: {}, unattended: false },
    });
  const reset = (): void => {
    writeFileSync(file(), ORIGINAL);
    chmodSync(file(), 0o604);
  };

  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'odoo-heal-att-')));
    addons = join(base, 'addons');
    mkdirSync(join(addons, 'legacy_cron', 'data'), { recursive: true });
    config = defaultConfig({ env: {}, home: base });
    config.paths = derivePaths(join(base, 'state'));
    const odoo: OdooConf = {
      path: null, addonsPath: [addons], dataDir: join(base, 'data'), logfile: null, dbHost: null, dbPort: null, dbUser: null,
      dbPassword: null, dbName: null, dbMaxconn: null, httpPort: 8069, geventPort: 8072, workers: 0, maxCronThreads: 2,
      limitMemorySoft: null, limitMemoryHard: null, limitTimeCpu: null, limitTimeReal: null, limitTimeRealCron: -1, proxyMode: false, adminPasswd: null, listDb: true, httpInterface: null,
    };
    deps = { config, odoo, probe: () => Promise.reject(new Error('no probes in this test')) };
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('dry run plans only: nothing written, persisted or audited', async () => {
    reset();
    const rec = await runAttempt(testFix('good'), incident(), deps, { dryRun: true, who: 'tester@pts/0' });
    expect(rec.outcome).toBe('planned');
    expect(rec.plan?.summary).toMatch(/remove numbercall/);
    expect(readFileSync(file(), 'utf8')).toBe(ORIGINAL);
    expect(existsSync(join(config.paths.stateDir, 'attempts', `${rec.id}.json`))).toBe(false);
    expect(existsSync(config.paths.auditLog)).toBe(false);
  });

  it('refuses (and audits) a path outside the roots', async () => {
    const rec = await runAttempt(testFix('good'), incident('/etc/passwd'), deps, { who: 'tester@pts/0' });
    expect(rec.outcome).toBe('refused');
    expect(rec.message).toMatch(/outside the allowed roots/);
    expect((await readAudit(config.paths.auditLog)).at(-1)).toMatchObject({ action: 'refused', attemptId: rec.id });
  });

  it('applies, verifies, persists, audits; rollback later restores byte-identically', async () => {
    reset();
    const rec = await runAttempt(testFix('good'), incident(), deps, { who: 'tester@pts/0' });
    expect(rec.id).toMatch(ATTEMPT_ID_RE);
    expect(rec.outcome).toBe('verified');
    expect(readFileSync(file(), 'utf8')).not.toContain('numbercall');
    expect(statSync(file()).mode & 0o7777).toBe(0o604);
    const stored = await loadAttempt(config.paths.stateDir, rec.id);
    expect(stored.postFix[file()]).toBe(sha(readFileSync(file())));
    expect(stored.applied?.backups[0]?.sha256).toBe(sha(ORIGINAL));
    const audit = (await readAudit(config.paths.auditLog)).filter((e) => e.attemptId === rec.id);
    expect(audit.map((e) => e.action)).toEqual(['planned', 'verified']);
    expect(audit[0]!.preview).toBe('-numbercall\n');
    expect((await listAttempts(config.paths.stateDir)).attempts.map((a) => a.id)).toContain(rec.id);

    const res = await rollbackAttempt(rec.id, { who: 'tester@pts/0', deps, getFix: () => testFix('good') });
    expect(res.record.outcome).toBe('rolled_back');
    expect(sha(readFileSync(file()))).toBe(sha(ORIGINAL));
    expect(statSync(file()).mode & 0o7777).toBe(0o604);
    expect((await loadAttempt(config.paths.stateDir, rec.id)).outcome).toBe('rolled_back');
    await expect(rollbackAttempt(rec.id, { who: 't', deps })).rejects.toThrow(/already rolled back/);
    expect(await verifyAudit(config.paths.auditLog)).toMatchObject({ ok: true });
  });

  it('a failed verification rolls back automatically and says so', async () => {
    reset();
    const rec = await runAttempt(testFix('bad-verify'), incident(), deps, { who: 'auto' });
    expect(rec.outcome).toBe('rolled_back');
    expect(rec.message).toMatch(/^verification failed: module update still fails; rolled back automatically/);
    expect(readFileSync(file(), 'utf8')).toBe(ORIGINAL);
    expect((await readAudit(config.paths.auditLog)).at(-1)).toMatchObject({ action: 'rolled_back', who: 'auto' });
  });

  it('an apply that throws midway is rolled back from the backup manifest', async () => {
    reset();
    const rec = await runAttempt(testFix('throw-after-write'), incident(), deps, { who: 'auto' });
    expect(rec.outcome).toBe('rolled_back');
    expect(rec.message).toMatch(/apply failed: disk on fire; rolled back automatically/);
    expect(readFileSync(file(), 'utf8')).toBe(ORIGINAL);
  });

  it('rollback refuses when the file changed since the fix, unless forced; works without the fix module', async () => {
    reset();
    const rec = await runAttempt(testFix('good'), incident(), deps, { who: 'tester@pts/0' });
    expect(rec.outcome).toBe('verified');
    writeFileSync(file(), 'someone edited this\n');
    await expect(rollbackAttempt(rec.id, { who: 't', deps })).rejects.toThrow(/refusing to roll back .*changed since the fix.*--force/);
    expect(readFileSync(file(), 'utf8')).toBe('someone edited this\n');
    const res = await rollbackAttempt(rec.id, { who: 't', deps, force: true, getFix: () => null });
    expect(sha(readFileSync(file()))).toBe(sha(ORIGINAL));
    expect(res.notes.join(' ')).toMatch(/forced over changes/);
    expect(res.notes.join(' ')).toMatch(/not available; restored files from backups only/);
  });

  it('rejects attempt ids that are not ids (no path tricks)', async () => {
    await expect(rollbackAttempt('../../etc/passwd', { who: 't', deps })).rejects.toThrow(/is not an attempt id/);
    await expect(rollbackAttempt('a-20990101-000000-ffff', { who: 't', deps })).rejects.toThrow(/no attempt a-20990101-000000-ffff/);
  });
});
