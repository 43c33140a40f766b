import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Incident } from '../src/engine/core/types.js';
import { permissions } from '../src/fixes/permissions.js';
import { makeFixContext, type TestFixContext, testIncident } from './helpers/fix-context.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = { uid: 65534, gid: 65534 };

function incident(path: string): Incident {
  return testIncident({
    id: 'i-9e5d0000',
    fingerprint: `permission|${path}`,
    origin: { kind: 'pattern', patternId: 'odoo.permission-denied', captures: { path } },
    title: 'Permission denied',
    category: 'permission',
    fix: { id: 'permissions', params: { path }, unattended: false },
  });
}

const owner = (p: string): string => {
  const st = lstatSync(p);
  return `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
};

describe.skipIf(!isRoot)('permissions fix (as root, on temp files)', () => {
  let base: string;
  let data: string;
  let db: string;
  let ctx: TestFixContext;

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'odoo-heal-perm-'));
    chmodSync(base, 0o755);
    data = join(base, 'data');
    db = join(data, 'filestore', 'healdb');
    // The Odoo data dir as Odoo (here: nobody) made it...
    for (const d of [data, join(data, 'filestore'), db, join(db, '24'), join(db, '42'), join(data, 'sessions')]) {
      mkdirSync(d, { recursive: true });
      chownSync(d, NOBODY.uid, NOBODY.gid);
      chmodSync(d, 0o755);
    }
    writeFileSync(join(db, '24', '2494648b98d44f8e9e2a4cb78c502135409e246d'), 'x');
    writeFileSync(join(db, '42', '42aa'), 'y');
    // ...then the filestore restored as root (the real incident: chown -R root:root; chmod -R 755).
    chownSync(db, 0, 0);
    chownSync(join(db, '24'), 0, 0);
    chownSync(join(db, '24', '2494648b98d44f8e9e2a4cb78c502135409e246d'), 0, 0);
    chmodSync(join(db, '24', '2494648b98d44f8e9e2a4cb78c502135409e246d'), 0o444);
    chownSync(join(db, '42', '42aa'), NOBODY.uid, NOBODY.gid); // already right: left alone
    chmodSync(join(db, '42', '42aa'), 0o640);
    // A symlink out of the filestore must never be followed or changed.
    writeFileSync(join(base, 'outside'), 'z');
    symlinkSync(join(base, 'outside'), join(db, '42', 'link'));
    ctx = makeFixContext({
      roots: [data],
      odoo: { dataDir: data },
      odooUser: 'nobody',
      // The write test needs no allowed command: it is our own binary as Odoo's user.
      fixes: { allowCommands: [] },
    });
  });
  afterEach(() => {
    ctx.cleanup();
    rmSync(base, { recursive: true, force: true });
  });

  it('plans every change, applies them, verifies with a write test as the Odoo user, and rolls back', async () => {
    // Odoo failed to create a new hash directory: the path does not exist.
    const inc = incident(join(db, 'f9'));
    const d = permissions.detect(inc, ctx);
    expect(d).toEqual({ ok: true, params: { path: join(db, 'f9'), base: data } });
    if (!d.ok) return;
    const before = {
      db: owner(db),
      dir24: owner(join(db, '24')),
      file: owner(join(db, '24', '2494648b98d44f8e9e2a4cb78c502135409e246d')),
      outside: owner(join(base, 'outside')),
    };
    const plan = await permissions.plan(d.params, inc, ctx);
    expect(plan.data.user).toMatchObject({ name: 'nobody', uid: 65534 });
    expect(plan.data.changes.map((c) => c.path).sort()).toEqual(
      [db, join(db, '24'), join(db, '24', '2494648b98d44f8e9e2a4cb78c502135409e246d')].sort(),
    );
    expect(plan.preview).toContain(`${db}/: 0:0 0755 -> 65534:65534 0755`);
    expect(plan.preview).toContain('0:0 0444 -> 65534:65534 0644');
    expect(owner(db)).toBe(before.db); // plan has no side effect

    const applied = await permissions.apply(plan, ctx);
    expect(owner(db)).toBe('65534:65534 755');
    expect(owner(join(db, '24', '2494648b98d44f8e9e2a4cb78c502135409e246d'))).toBe('65534:65534 644');
    expect(owner(join(base, 'outside'))).toBe(before.outside);
    const v = await permissions.verify(plan, applied, ctx);
    expect(v).toMatchObject({ ok: true });
    expect(v.detail).toMatch(/nobody can write in .*healdb/);
    expect(readdirSync(db).filter((f) => f.startsWith('.odoo-heal-write-test'))).toEqual([]); // removed again

    await permissions.rollback(plan, applied, ctx);
    expect(owner(db)).toBe(before.db);
    expect(owner(join(db, '24'))).toBe(before.dir24);
    expect(owner(join(db, '24', '2494648b98d44f8e9e2a4cb78c502135409e246d'))).toBe(before.file);
  });

  it('the write test fails when the repair did not make the path writable', async () => {
    const inc = incident(join(db, '24', '2494648b98d44f8e9e2a4cb78c502135409e246d'));
    const d = permissions.detect(inc, ctx);
    if (!d.ok) throw new Error(d.reason);
    const plan = await permissions.plan(d.params, inc, ctx);
    const applied = await permissions.apply(plan, ctx);
    const st = lstatSync(db);
    chmodSync(db, 0o000); // someone breaks it again right after
    const v = await permissions.verify(plan, applied, ctx);
    expect(v.ok).toBe(false);
    chmodSync(db, st.mode | 0o755);
  });

  it('refuses paths outside the data dir and log dir, and a plan gone stale', async () => {
    expect(permissions.detect(incident('/etc/passwd'), ctx).ok).toBe(false);
    expect(permissions.detect(incident(join(base, 'outside')), ctx).ok).toBe(false);
    const inc = incident(join(db, '24'));
    const d = permissions.detect(inc, ctx);
    if (!d.ok) throw new Error(d.reason);
    const plan = await permissions.plan(d.params, inc, ctx);
    chmodSync(join(db, '24'), 0o700); // changed between plan and apply
    await expect(permissions.apply(plan, ctx)).rejects.toThrow(/changed since the plan/);
    expect(owner(db)).toBe('0:0 755'); // what apply did before the conflict was undone
  });
});
