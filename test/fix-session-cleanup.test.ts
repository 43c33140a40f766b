import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Incident } from '../src/engine/core/types.js';
import { sessionCleanup } from '../src/fixes/session-cleanup.js';
import { makeFixContext, type TestFixContext, testIncident } from './helpers/fix-context.js';

const incident: Incident = testIncident({
  id: 'i-5e55a000',
  fingerprint: 'disk-full',
  origin: { kind: 'pattern', patternId: 'disk-full', captures: {} },
  title: 'Disk full',
  category: 'disk',
  fix: { id: 'session-cleanup', params: {}, unattended: false },
});

const DAY = 86_400;

describe('session-cleanup fix', () => {
  let base: string;
  let data: string;
  let ctx: TestFixContext;
  const old = (p: string, days: number): void => {
    const t = Date.now() / 1000 - days * DAY;
    utimesSync(p, t, t);
  };

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'odoo-heal-sess-'));
    data = join(base, 'data');
    mkdirSync(join(data, 'sessions', 'ab'), { recursive: true });
    mkdirSync(join(data, 'sessions', 'cd'), { recursive: true });
    mkdirSync(join(data, 'filestore', 'healdb', 'ab'), { recursive: true });
    writeFileSync(join(data, 'sessions', 'ab', 'ab12old'), 'old session 1');
    writeFileSync(join(data, 'sessions', 'cd', 'cd34old'), 'old session two');
    writeFileSync(join(data, 'sessions', 'ab', 'ab56new'), 'fresh session');
    writeFileSync(join(data, 'sessions', 'stale.__wz_sess'), 'leftover temp');
    old(join(data, 'sessions', 'ab', 'ab12old'), 30);
    old(join(data, 'sessions', 'cd', 'cd34old'), 8);
    old(join(data, 'sessions', 'stale.__wz_sess'), 10);
    // An old attachment and an old file outside, reachable through symlinks: never touched.
    writeFileSync(join(data, 'filestore', 'healdb', 'ab', 'abcdef'), 'attachment');
    old(join(data, 'filestore', 'healdb', 'ab', 'abcdef'), 100);
    writeFileSync(join(base, 'outside'), 'not a session');
    old(join(base, 'outside'), 100);
    symlinkSync(join(base, 'outside'), join(data, 'sessions', 'ab', 'ab99link'));
    symlinkSync(join(data, 'filestore', 'healdb'), join(data, 'sessions', 'ef'));
    ctx = makeFixContext({ roots: [data], odoo: { dataDir: data }, fixes: { sessionMaxAgeDays: 7 } });
    // Critical at 0%: the disk counts as full, so the statfs check confirms (tested on its own below).
    ctx.config.thresholds = { ...ctx.config.thresholds, diskCritPercent: 0 };
  });
  afterEach(() => {
    ctx.cleanup();
    rmSync(base, { recursive: true, force: true });
  });

  it('deletes only old regular session files, with backups, and rollback restores them', async () => {
    const d = sessionCleanup.detect(incident, ctx);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    const plan = await sessionCleanup.plan(d.params, incident, ctx);
    const planned = plan.data.files.map((f) => f.path).sort();
    expect(planned).toEqual(
      [join(data, 'sessions', 'ab', 'ab12old'), join(data, 'sessions', 'cd', 'cd34old'), join(data, 'sessions', 'stale.__wz_sess')].sort(),
    );
    expect(plan.data.totalBytes).toBe('old session 1'.length + 'old session two'.length + 'leftover temp'.length);
    expect(plan.summary).toMatch(/Delete 3 session file\(s\)/);
    expect(existsSync(planned[0]!)).toBe(true); // no side effect

    const applied = await sessionCleanup.apply(plan, ctx);
    for (const p of planned) expect(existsSync(p)).toBe(false);
    expect(readFileSync(join(data, 'sessions', 'ab', 'ab56new'), 'utf8')).toBe('fresh session');
    expect(readFileSync(join(base, 'outside'), 'utf8')).toBe('not a session');
    expect(readFileSync(join(data, 'filestore', 'healdb', 'ab', 'abcdef'), 'utf8')).toBe('attachment');
    expect(await sessionCleanup.verify(plan, applied, ctx)).toMatchObject({ ok: true });

    expect(plan.data.backup).toBe(true);
    await sessionCleanup.rollback(plan, applied, ctx);
    expect(readFileSync(join(data, 'sessions', 'ab', 'ab12old'), 'utf8')).toBe('old session 1');
  });

  it('skips a file replaced since the plan', async () => {
    const d = sessionCleanup.detect(incident, ctx);
    if (!d.ok) throw new Error(d.reason);
    const plan = await sessionCleanup.plan(d.params, incident, ctx);
    const victim = join(data, 'sessions', 'cd', 'cd34old');
    rmSync(victim);
    symlinkSync(join(base, 'outside'), victim);
    const applied = await sessionCleanup.apply(plan, ctx);
    expect((applied.undo as { skipped: string[] }).skipped).toEqual([victim]);
    expect(readFileSync(join(base, 'outside'), 'utf8')).toBe('not a session');
  });

  it('refuses when the sessions dir is a symlink out of the roots', () => {
    rmSync(join(data, 'sessions'), { recursive: true });
    mkdirSync(join(base, 'elsewhere'));
    symlinkSync(join(base, 'elsewhere'), join(data, 'sessions'));
    expect(sessionCleanup.detect(incident, ctx).ok).toBe(false);
  });
});

describe('session-cleanup fix: the disk must really be full', () => {
  it('a disk-full incident from the log deletes nothing while the disk is under its critical threshold', async () => {
    const base = mkdtempSync(join(tmpdir(), 'odoo-heal-sess-ok-'));
    const data = join(base, 'data');
    mkdirSync(join(data, 'sessions', 'ab'), { recursive: true });
    const f = join(data, 'sessions', 'ab', 'ab12old');
    writeFileSync(f, 'old session');
    const t = Date.now() / 1000 - 30 * DAY;
    utimesSync(f, t, t);
    const ctx = makeFixContext({ roots: [data], odoo: { dataDir: data }, fixes: { sessionMaxAgeDays: 7 } });
    try {
      ctx.config.thresholds = { ...ctx.config.thresholds, diskCritPercent: 100, inodeCritPercent: 100 };
      const d = sessionCleanup.detect(incident, ctx);
      if (!d.ok) throw new Error(d.reason);
      const plan = await sessionCleanup.plan(d.params, incident, ctx);
      expect(plan.applicable).toBe(false);
      expect(plan.actions).toEqual([]);
      expect(plan.preview).toMatch(/^Not confirmed by the disk usage check \(statfs of .*\) at .*: space .*% used .* critical at 100% \/ 100%/);
      expect(existsSync(f)).toBe(true);
    } finally {
      ctx.cleanup();
      rmSync(base, { recursive: true, force: true });
    }
  });
});
