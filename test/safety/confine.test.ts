import { constants, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfiner, openChecked, openConfined } from '../../src/fixes/lib/confine.js';

describe('Confiner', () => {
  let base: string;
  let data: string;
  let outside: string;
  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'odoo-heal-conf-')));
    data = join(base, 'data');
    outside = join(base, 'outside');
    mkdirSync(join(data, 'filestore', 'db1'), { recursive: true });
    mkdirSync(join(base, 'data2'), { recursive: true });
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(data, 'filestore', 'db1', 'ok.bin'), 'ok');
    writeFileSync(join(outside, 'secret'), 'secret');
    writeFileSync(join(base, 'data2', 'f'), 'x');
    symlinkSync(join(outside, 'secret'), join(data, 'escape-file'));
    symlinkSync(outside, join(data, 'escape-dir'));
    symlinkSync(join(data, 'filestore'), join(data, 'inner-link'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('accepts real paths inside a root, existing or not', () => {
    const c = createConfiner([data]);
    expect(c.check(join(data, 'filestore', 'db1', 'ok.bin'))).toEqual({ ok: true, path: join(data, 'filestore', 'db1', 'ok.bin'), root: data });
    expect(c.check(join(data, 'filestore', 'new', 'deeper', 'f'))).toMatchObject({ ok: true, path: join(data, 'filestore', 'new', 'deeper', 'f') });
    // A symlink that stays inside the roots resolves to its real target.
    expect(c.check(join(data, 'inner-link', 'db1', 'ok.bin'))).toMatchObject({ ok: true, path: join(data, 'filestore', 'db1', 'ok.bin') });
  });

  it('refuses .., absolute paths outside, relative paths, NUL bytes, with reasons', () => {
    const c = createConfiner([data]);
    expect(c.check(`${data}/filestore/../../outside/secret`)).toEqual({ ok: false, reason: expect.stringMatching(/contains '\.\.'/) });
    expect(c.check(`${data}/filestore/..`)).toMatchObject({ ok: false });
    expect(c.check('/etc/passwd')).toEqual({ ok: false, reason: expect.stringMatching(/outside the allowed roots/) });
    expect(c.check('filestore/db1/ok.bin')).toEqual({ ok: false, reason: expect.stringMatching(/relative path/) });
    expect(c.check(`${data}/ok\0.bin`)).toEqual({ ok: false, reason: expect.stringMatching(/NUL/) });
    expect(c.check('')).toMatchObject({ ok: false });
  });

  it('refuses symlinks that leave the roots', () => {
    const c = createConfiner([data]);
    expect(c.check(join(data, 'escape-file'))).toEqual({ ok: false, reason: expect.stringMatching(/symbolic link to .*outside\/secret, outside the allowed roots/) });
    expect(c.check(join(data, 'escape-dir', 'secret'))).toMatchObject({ ok: false, reason: expect.stringMatching(/symbolic link/) });
    expect(c.check(join(data, 'escape-dir', 'not-yet'))).toMatchObject({ ok: false });
  });

  it('uses a path-separator boundary: /data2 is not inside /data', () => {
    const c = createConfiner([data]);
    expect(c.check(join(base, 'data2', 'f'))).toMatchObject({ ok: false, reason: expect.stringMatching(/outside the allowed roots/) });
    expect(c.check(data)).toMatchObject({ ok: true });
  });

  it('with no roots, refuses everything', () => {
    expect(createConfiner([]).check(join(data, 'x'))).toMatchObject({ ok: false, reason: expect.stringMatching(/no confinement roots/) });
  });

  it('openConfined opens a confined file and refuses an escaping one', async () => {
    const c = createConfiner([data]);
    const f = await openConfined(c, join(data, 'filestore', 'db1', 'ok.bin'));
    expect((await f.handle.readFile()).toString()).toBe('ok');
    await f.handle.close();
    await expect(openConfined(c, join(data, 'escape-file'))).rejects.toThrow(/outside the allowed roots/);
  });

  it('refuses a file that became a symlink between check and use', async () => {
    const c = createConfiner([data]);
    const p = join(data, 'filestore', 'db1', 'victim');
    writeFileSync(p, 'mine');
    const checked = c.check(p);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    // The race: the file is swapped for a symlink to a file outside the roots.
    rmSync(p);
    symlinkSync(join(outside, 'secret'), p);
    await expect(openChecked(checked, constants.O_RDWR)).rejects.toThrow(/became a symbolic link after it was checked/);
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('secret');
  });

  it('refuses when a parent directory became a symlink between check and use', async () => {
    const c = createConfiner([data]);
    mkdirSync(join(data, 'sessions'));
    writeFileSync(join(data, 'sessions', 'secret'), 'inside');
    const checked = c.check(join(data, 'sessions', 'secret'));
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    renameSync(join(data, 'sessions'), join(data, 'sessions.old'));
    symlinkSync(outside, join(data, 'sessions'));
    await expect(openChecked(checked)).rejects.toThrow(/changed after it was checked: it now opens .*outside\/secret/);
  });
});
