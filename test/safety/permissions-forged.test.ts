// Issue 11 item 2: a forged `PermissionError` record must not make the permissions fix chown what is
// not Odoo's, and a forged XML ParseError must not make the cron fix edit a file outside addons_path.
// The records are forged as an attacker would (text in Odoo's log, copied from the real recording
// test/fixtures/logs/permission_denied_filestore.log and cron_deprecated_field.log with the path
// swapped), then fed to `odoo-heal fix --yes` as root; the edges of the owner rule are unit-tested.
import { chmodSync, chownSync, cpSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permissions } from '../../src/fixes/permissions.js';
import { ensureBuilt, ROOT, runCli } from '../helpers/cli.js';
import { makeFixContext, testIncident } from '../helpers/fix-context.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const OTHER = 4242; // some other service's uid

const own = (p: string): string => {
  const st = lstatSync(p);
  return `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
};

/** The recorded PermissionError block (verbatim), naming `path` instead of the recorded attachment. */
function forgedPermissionRecord(path: string): string {
  const real = readFileSync(join(ROOT, 'test', 'fixtures', 'logs', 'permission_denied_filestore.log'), 'utf8').split('\n');
  const start = real.findIndex((l) => l.includes('_file_write writing'));
  const block = real.slice(start, start + 6).join('\n');
  return `${block.replaceAll('/tmp/realodoo/data/filestore/healdb/24/2494648b98d44f8e9e2a4cb78c502135409e246d', path)}\n`;
}

describe.skipIf(!isRoot)('forged records against the permissions and XML fixes (root)', () => {
  let dir: string;
  let logDir: string;
  let data: string;
  let addons: string;
  let yaml: string;
  let odooConf: string;

  beforeAll(() => {
    ensureBuilt(['src/fixes/permissions.ts', 'src/fixes/cron-deprecated-fields.ts', 'src/cli/commands/fix.ts']);
    dir = mkdtempSync(join(tmpdir(), 'odoo-heal-forged-perm-'));
    chmodSync(dir, 0o755);
    logDir = join(dir, 'var-log'); // plays /var/log: shared with other services, owned by root
    data = join(dir, 'data');
    addons = join(dir, 'addons');
    mkdirSync(logDir);
    mkdirSync(join(data, 'filestore', 'healdb'), { recursive: true });
    mkdirSync(addons);
    chownSync(data, NOBODY, NOBODY);
    odooConf = join(dir, 'odoo.conf');
    yaml = join(dir, 'config.yaml');
    writeFileSync(odooConf, `[options]\naddons_path = ${addons}\ndata_dir = ${data}\nlogfile = ${join(logDir, 'odoo-server.log')}\n`);
    writeFileSync(yaml, `services: []\nodoo:\n  user: nobody\nfixes:\n  allowCommands: []\npaths:\n  stateDir: ${join(dir, 'state')}\n`);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function fixYes(log: string, fixId: string): Promise<{ code: number; out: string }> {
    const cli = (...a: string[]) => runCli([...a, '--config', yaml, '--odoo-config', odooConf]);
    const list = await cli('fix', '--log', log, '--json');
    expect(list.code, list.stderr).toBe(0);
    const inc = (JSON.parse(list.stdout) as { incidents: { id: string; fix: { id: string } }[] }).incidents.find((i) => i.fix.id === fixId);
    expect(inc, list.stdout).toBeDefined();
    const r = await cli('fix', '--log', log, inc!.id, '--yes');
    return { code: r.code, out: r.stdout + r.stderr };
  }

  it('a PermissionError naming another service\'s file in the log dir changes nothing (dpkg.log stays root 0600)', async () => {
    const victim = join(logDir, 'dpkg.log');
    writeFileSync(victim, 'dpkg history\n', { mode: 0o600 });
    chmodSync(victim, 0o600);
    const log = join(dir, 'forged-dpkg.log');
    writeFileSync(log, forgedPermissionRecord(victim));
    const r = await fixYes(log, 'permissions');
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toMatch(/not under Odoo's data dir.*nor the logfile/);
    expect(own(victim)).toBe('0:0 600');
  });

  it('the logfile\'s own rotation owned by root is given to Odoo\'s user, and nothing else in the log dir', async () => {
    const rotated = join(logDir, 'odoo-server.log.1');
    writeFileSync(rotated, 'old log\n', { mode: 0o600 });
    chmodSync(rotated, 0o600);
    const log = join(dir, 'forged-rotation.log');
    writeFileSync(log, forgedPermissionRecord(rotated));
    const r = await fixYes(log, 'permissions');
    expect(r.code, r.out).toBe(0);
    expect(own(rotated)).toBe(`${NOBODY}:${NOBODY} 600`);
    expect(own(logDir)).toBe('0:0 755'); // the log dir itself is never changed
  });

  it('a missing logfile does not make the fix chown the (root-owned, shared) log dir', async () => {
    const log = join(dir, 'forged-missing.log');
    writeFileSync(log, forgedPermissionRecord(join(logDir, 'odoo-server.log')));
    const r = await fixYes(log, 'permissions');
    expect(r.code, r.out).not.toBe(0);
    expect(own(logDir)).toBe('0:0 755');
  });

  it('a ParseError naming an XML file in the data dir or the log dir is not edited', async () => {
    cpSync(join(ROOT, 'test', 'fixtures', 'legacy_cron'), join(data, 'legacy_cron'), { recursive: true });
    cpSync(join(ROOT, 'test', 'fixtures', 'legacy_cron'), join(logDir, 'legacy_cron'), { recursive: true });
    const real = readFileSync(join(ROOT, 'test', 'fixtures', 'logs', 'cron_deprecated_field.log'), 'utf8');
    for (const where of [data, logDir]) {
      const xml = join(where, 'legacy_cron', 'data', 'ir_cron_data.xml');
      const before = readFileSync(xml);
      const log = join(dir, 'forged-xml.log');
      writeFileSync(log, real.replaceAll('/tmp/realodoo/custom_addons', where));
      const r = await fixYes(log, 'cron-deprecated-fields');
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toMatch(/not under addons_path/);
      expect(readFileSync(xml).equals(before)).toBe(true);
    }
  });
});

describe.skipIf(!isRoot)('permissions fix: whose files it may change (root)', () => {
  function setup() {
    const base = mkdtempSync(join(tmpdir(), 'odoo-heal-owner-'));
    chmodSync(base, 0o755);
    const data = join(base, 'data');
    const db = join(data, 'filestore', 'healdb');
    mkdirSync(join(db, 'aa'), { recursive: true });
    for (const d of [data, join(data, 'filestore'), db, join(db, 'aa')]) chownSync(d, NOBODY, NOBODY);
    const ctx = makeFixContext({ roots: [data], odoo: { dataDir: data }, odooUser: 'nobody' });
    const inc = (path: string) =>
      testIncident({
        id: 'i-0wner000',
        origin: { kind: 'pattern', patternId: 'permission-denied', captures: { path } },
        category: 'permission',
        fix: { id: 'permissions', params: { path }, unattended: false },
      });
    const planFor = async (path: string) => {
      const d = permissions.detect(inc(path), ctx);
      if (!d.ok) throw new Error(d.reason);
      return permissions.plan(d.params, inc(path), ctx);
    };
    return { base, data, db, ctx, planFor, done: () => (ctx.cleanup(), rmSync(base, { recursive: true, force: true })) };
  }

  it('refuses a file of another uid, a root file with a second hard link, and a root set-uid file', async () => {
    const s = setup();
    try {
      const other = join(s.db, 'aa', 'other');
      writeFileSync(other, 'x', { mode: 0o600 });
      chownSync(other, OTHER, OTHER);
      await expect(s.planFor(other)).rejects.toThrow(/owned by uid 4242, neither Odoo's user/);

      const system = join(s.base, 'system-secret'); // plays /etc/shadow, hard-linked into the filestore
      writeFileSync(system, 'secret', { mode: 0o600 });
      const linked = join(s.db, 'aa', 'linked');
      linkSync(system, linked);
      await expect(s.planFor(linked)).rejects.toThrow(/2 hard links/);

      const setuid = join(s.db, 'aa', 'setuid');
      writeFileSync(setuid, 'x');
      chmodSync(setuid, 0o4755);
      await expect(s.planFor(setuid)).rejects.toThrow(/set-uid/);
      expect(own(system)).toBe('0:0 600');
      expect(own(other)).toBe(`${OTHER}:${OTHER} 600`);
    } finally {
      s.done();
    }
  });

  it('in a recursive repair, others\' files are left alone and listed; root\'s and Odoo\'s are repaired', async () => {
    const s = setup();
    try {
      const rootFile = join(s.db, 'aa', 'root-made');
      const otherFile = join(s.db, 'aa', 'other-made');
      writeFileSync(rootFile, 'x', { mode: 0o444 });
      chmodSync(rootFile, 0o444);
      writeFileSync(otherFile, 'y', { mode: 0o444 });
      chownSync(otherFile, OTHER, OTHER);
      const plan = await s.planFor(rootFile);
      expect(plan.data.changes.map((c) => c.path)).toEqual([rootFile]);
      expect(plan.data.leftAlone?.join('\n')).toContain(otherFile);
      expect(plan.preview).toMatch(/Left alone \(not Odoo's\): 1/);
      await permissions.apply(plan, s.ctx);
      expect(own(rootFile)).toBe(`${NOBODY}:${NOBODY} 644`);
      expect(own(otherFile)).toBe(`${OTHER}:${OTHER} 444`);
    } finally {
      s.done();
    }
  });

  it('a hard link put in place of a planned root file between plan and apply is refused', async () => {
    const s = setup();
    try {
      const f = join(s.db, 'aa', 'f');
      writeFileSync(f, 'x', { mode: 0o444 });
      chmodSync(f, 0o444);
      const plan = await s.planFor(f);
      const system = join(s.base, 'system');
      writeFileSync(system, 'secret');
      chmodSync(system, 0o444);
      rmSync(f);
      linkSync(system, f); // same owner and mode as planned, another file
      await expect(permissions.apply(plan, s.ctx)).rejects.toThrow(/changed since the plan/);
      expect(own(system)).toBe('0:0 444');
    } finally {
      s.done();
    }
  });
});
