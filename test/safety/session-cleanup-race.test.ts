// Issue 11 item 1: Odoo's user owns <data_dir>/sessions, so between odoo-heal's check of a session file
// and its unlink it can swap a subdirectory (or sessions/ itself) for a symlink to a root-owned
// directory. The fix must delete relative to the directory it opened and checked, and refuse when a
// parent changed. The race is forged deterministically: the backup step (between check and delete)
// is the attacker's window.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sessionCleanup } from '../../src/fixes/session-cleanup.js';
import type { SafeWriter } from '../../src/fixes/types.js';
import { makeFixContext, type TestFixContext, testIncident } from '../helpers/fix-context.js';

const incident = testIncident({
  id: 'i-5e55a001',
  origin: { kind: 'pattern', patternId: 'disk-full', captures: {} },
  category: 'disk',
  fix: { id: 'session-cleanup', params: {}, unattended: true },
});

describe('session cleanup against a symlink swap between check and delete', () => {
  let base: string;
  let data: string;
  let rootDir: string;
  let ctx: TestFixContext;

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'odoo-heal-race-'));
    data = join(base, 'data');
    rootDir = join(base, 'root-owned');
    mkdirSync(join(data, 'sessions', 'ab'), { recursive: true });
    mkdirSync(rootDir);
    const old = Date.now() / 1000 - 30 * 86_400;
    for (const name of ['ab01', 'ab02']) {
      writeFileSync(join(data, 'sessions', 'ab', name), `session ${name}`);
      utimesSync(join(data, 'sessions', 'ab', name), old, old);
      // The victims: same names, in a directory Odoo's user must never reach.
      writeFileSync(join(rootDir, name), `root file ${name}`);
      utimesSync(join(rootDir, name), old, old);
    }
    // Thresholds at 0: the disk counts as full, so the plan is made (item 3's gate is not under test here).
    ctx = makeFixContext({ roots: [data], odoo: { dataDir: data }, fixes: { sessionMaxAgeDays: 7 } });
    ctx.config.thresholds = { ...ctx.config.thresholds, diskWarnPercent: 0, diskCritPercent: 0 };
  });
  afterEach(() => {
    ctx.cleanup();
    rmSync(base, { recursive: true, force: true });
  });

  /** Wraps the writer so that the attacker acts right after the first backup (check done, unlink not yet). */
  function attackDuringBackup(swap: () => void): void {
    const real: SafeWriter = ctx.writer;
    let done = false;
    ctx.writer = {
      ...real,
      backup: async (p) => {
        const entry = await real.backup(p);
        if (!done) {
          done = true;
          swap();
        }
        return entry;
      },
    };
  }

  it('a subdirectory swapped for a symlink after the check: no root file is deleted, the rest is refused', async () => {
    const d = sessionCleanup.detect(incident, ctx);
    if (!d.ok) throw new Error(d.reason);
    const plan = await sessionCleanup.plan(d.params, incident, ctx);
    expect(plan.data.files).toHaveLength(2);
    expect(plan.data.backup).toBe(true);
    attackDuringBackup(() => {
      renameSync(join(data, 'sessions', 'ab'), join(data, 'sessions', 'ab.moved'));
      symlinkSync(rootDir, join(data, 'sessions', 'ab'));
    });
    const applied = await sessionCleanup.apply(plan, ctx);
    expect(readFileSync(join(rootDir, 'ab01'), 'utf8')).toBe('root file ab01');
    expect(readFileSync(join(rootDir, 'ab02'), 'utf8')).toBe('root file ab02');
    const undo = applied.undo as { deleted: string[]; refused: string[] };
    expect(undo.deleted).toEqual([]);
    expect(undo.refused).toHaveLength(2);
    expect(undo.refused[0]).toMatch(/no longer the planned directory/);
    const v = await sessionCleanup.verify(plan, applied, ctx);
    expect(v.detail).toMatch(/REFUSED 2 whose directory changed/);
  });

  it('sessions/ itself swapped for a symlink after the check: nothing outside is deleted', async () => {
    mkdirSync(join(rootDir, 'ab'));
    writeFileSync(join(rootDir, 'ab', 'ab02'), 'root file ab/ab02');
    const d = sessionCleanup.detect(incident, ctx);
    if (!d.ok) throw new Error(d.reason);
    const plan = await sessionCleanup.plan(d.params, incident, ctx);
    attackDuringBackup(() => {
      renameSync(join(data, 'sessions'), join(data, 'sessions.moved'));
      symlinkSync(rootDir, join(data, 'sessions'));
    });
    const applied = await sessionCleanup.apply(plan, ctx);
    expect(readFileSync(join(rootDir, 'ab', 'ab02'), 'utf8')).toBe('root file ab/ab02');
    expect((applied.undo as { deleted: string[] }).deleted).toEqual([]);
  });

  it('a swap before apply opens the directory is refused too; an untouched run still deletes', async () => {
    const d = sessionCleanup.detect(incident, ctx);
    if (!d.ok) throw new Error(d.reason);
    const plan = await sessionCleanup.plan(d.params, incident, ctx);
    renameSync(join(data, 'sessions', 'ab'), join(data, 'sessions', 'ab.moved'));
    symlinkSync(rootDir, join(data, 'sessions', 'ab'));
    const applied = await sessionCleanup.apply(plan, ctx);
    expect(existsSync(join(rootDir, 'ab01'))).toBe(true);
    expect((applied.undo as { refused: string[] }).refused).toHaveLength(2);

    // Put things back: the same plan made afresh deletes both session files through the opened dir.
    rmSync(join(data, 'sessions', 'ab'));
    renameSync(join(data, 'sessions', 'ab.moved'), join(data, 'sessions', 'ab'));
    const plan2 = await sessionCleanup.plan(d.params, incident, ctx);
    const applied2 = await sessionCleanup.apply(plan2, ctx);
    expect((applied2.undo as { deleted: string[] }).deleted).toHaveLength(2);
    expect(existsSync(join(data, 'sessions', 'ab', 'ab01'))).toBe(false);
    expect(existsSync(join(rootDir, 'ab01'))).toBe(true);
  });
});
