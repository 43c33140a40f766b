// The writable-paths audit as the kernel answers it: a write test as Odoo's user (here `nobody`,
// the suite runs as root) in a data dir, its sessions and filestore, and the logfile's directory;
// and the mode-bit fallback used when odoo-heal cannot take that user's identity.
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOdooConf } from '../src/engine/config/odoo-conf.js';
import { auditOdooConf, optionLines, type AuditFacts } from '../src/engine/config-audit/rules.js';
import { modeAllowsWrite, writablePaths } from '../src/engine/config-audit/writable.js';
import { testConfig } from './helpers/config.js';

const asRoot = process.getuid?.() === 0;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const NOBODY = 65534;
const noFacts: AuditFacts = { pg: null, ramBytes: null, workerVmsBytes: null, geventListening: null, nginxRunning: false, writable: null, longCrons: null, nginx: null, odooMajor: 18 };

function setup() {
  const base = mkdtempSync(join(tmpdir(), 'heal-writable-'));
  dirs.push(base);
  chmodSync(base, 0o755);
  const data = join(base, 'data');
  for (const d of [data, join(data, 'sessions'), join(data, 'filestore'), join(data, 'filestore', 'prod'), join(base, 'log')]) mkdirSync(d);
  for (const d of [data, join(data, 'sessions'), join(data, 'filestore'), join(data, 'filestore', 'prod'), join(base, 'log')]) chownSync(d, NOBODY, NOBODY);
  const text = `[options]\nlist_db = False\ndb_name = prod\ndata_dir = ${data}\nlogfile = ${join(base, 'log', 'odoo.log')}\n`;
  return { base, data, text, odoo: parseOdooConf(text, join(base, 'odoo.conf')), lines: optionLines(text) };
}

describe('writable paths', () => {
  it('mode bits pick the owner, group or other class like the kernel', () => {
    const st = { uid: 105, gid: 112, mode: 0o40575 };
    expect(modeAllowsWrite(st, 105, [112])).toBe(false); // owner class: r-x, even though the group may write
    expect(modeAllowsWrite(st, 106, [112])).toBe(true);
    expect(modeAllowsWrite(st, 106, [113])).toBe(false);
    expect(modeAllowsWrite(st, 0, [0])).toBe(true);
  });

  it.skipIf(!asRoot)("a sessions dir root took over is reported with its owner, mode and data_dir's line; Odoo's own tree is not", async () => {
    const { base, data, odoo, lines, text } = setup();
    const config = testConfig((c) => (c.odoo.user = 'nobody'));
    const ok = await writablePaths(config, odoo, null);
    expect(ok?.user).toMatchObject({ uid: NOBODY, source: 'config odoo.user' });
    expect(ok?.paths.map((p) => [p.tested.slice(base.length + 1), p.writable, p.how])).toEqual([
      ['data', true, 'write test'],
      ['data/sessions', true, 'write test'],
      ['data/filestore', true, 'write test'],
      ['data/filestore/prod', true, 'write test'],
      ['log', true, 'write test'], // the logfile does not exist yet: its directory
    ]);
    expect(auditOdooConf(odoo, lines, { ...noFacts, writable: ok })).toEqual([]);

    chownSync(join(data, 'sessions'), 0, 0);
    const bad = await writablePaths(config, odoo, null);
    const [f, ...rest] = auditOdooConf(odoo, lines, { ...noFacts, writable: bad });
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ key: 'data-dir-not-writable', option: 'data_dir', severity: 'warning' });
    expect(text.split('\n')[f!.line! - 1]).toBe(`data_dir = ${data}`);
    expect(f!.title).toBe(`Odoo's user nobody cannot write ${join(data, 'sessions')}, owned root:root 0755`);
    expect(f!.why).toContain('a write test as nobody (uid 65534, from config odoo.user) failed');
  });

  it.skipIf(!asRoot)('a root-owned logfile is tested as a file (append), a missing data dir by the parent Odoo would create it in', async () => {
    const { base, data } = setup();
    const log = join(base, 'log', 'odoo.log');
    writeFileSync(log, '');
    chmodSync(log, 0o644);
    const text = `[options]\nlist_db = False\ndata_dir = ${join(data, 'missing', 'deeper')}\nlogfile = ${log}\n`;
    const odoo = parseOdooConf(text, join(base, 'odoo.conf'));
    chmodSync(data, 0o555);
    const w = await writablePaths(testConfig((c) => (c.odoo.user = 'nobody')), odoo, null);
    expect(w?.paths.map((p) => [p.option, p.tested, p.writable])).toEqual([
      ['data_dir', data, false],
      ['logfile', log, false],
    ]);
    const list = auditOdooConf(odoo, optionLines(text), { ...noFacts, writable: w });
    expect(list.map((f) => `${f.key}:${f.line}`)).toEqual(['data-dir-not-writable:3', 'logfile-not-writable:4']);
    expect(list[0]!.title).toContain(`cannot write ${data} (where Odoo would create ${join(data, 'missing', 'deeper')}), owned nobody:nogroup 0555`);
    expect(list[1]!.why).toContain("couldn't create the logfile directory. Logging to the standard output.");
  });

  it("Odoo's user is the one this odoo.conf's Odoo runs as; unknown (no finding) when nothing says", async () => {
    const { odoo } = setup();
    expect(await writablePaths(testConfig(), odoo, null)).toBeNull();
    if (!asRoot) return;
    const child = spawn('sleep', ['30'], { uid: NOBODY, gid: NOBODY, stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      const w = await writablePaths(testConfig(), odoo, child.pid!);
      expect(w?.user).toMatchObject({ uid: NOBODY, source: `running Odoo process ${child.pid}` });
      expect(w?.paths.every((p) => p.writable)).toBe(true);
    } finally {
      child.kill();
    }
  });
});
