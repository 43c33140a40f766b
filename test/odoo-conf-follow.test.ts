// odoo.conf is followed (issue 12 §3): an addons path added, the log moved and the database port
// changed take effect in the running engine without restarting it — roots, log sources, probes.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readOdooConf } from '../src/engine/config/odoo-conf.js';
import { Engine, type EngineEvent } from '../src/engine/run/engine.js';
import { rootsFor } from '../src/fixes/attempts.js';
import { testConfig } from './helpers/config.js';

const PATTERNS = resolve(__dirname, '..', 'patterns');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function waitFor<T>(get: () => T | undefined | null | false, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('odoo.conf followed while running', () => {
  it('a new addons path, log file and db port move the roots, the log sources and the database target', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-conf-follow-'));
    dirs.push(dir);
    for (const d of ['addons', 'custom', 'log1', 'log2', 'data']) mkdirSync(join(dir, d));
    const conf = join(dir, 'odoo.conf');
    const write = (addons: string, log: string, port: number) =>
      writeFileSync(conf, `[options]\naddons_path = ${addons}\ndata_dir = ${join(dir, 'data')}\nlogfile = ${log}\ndb_host = 127.0.0.1\ndb_port = ${port}\nworkers = 0\n`);
    const log1 = join(dir, 'log1', 'odoo.log');
    const log2 = join(dir, 'log2', 'odoo.log');
    writeFileSync(log1, '');
    writeFileSync(log2, '');
    write(join(dir, 'addons'), log1, 9);
    const config = testConfig((c) => {
      c.logs.commands = [];
      c.probes.intervalMs = 60_000;
      c.probes.timeoutMs = 500;
      c.paths = { stateDir: join(dir, 'state'), backupDir: join(dir, 'state', 'b'), auditLog: join(dir, 'state', 'audit.log') };
    });
    const events: EngineEvent[] = [];
    const engine = new Engine({ config, odoo: readOdooConf(conf).conf, patternsDir: PATTERNS, mode: 'console', emit: (e) => events.push(e) });
    try {
      await engine.start();
      expect(engine.sourceNames).toEqual([log1]);
      expect(rootsFor(config, engine.odoo)).not.toContain(join(dir, 'custom'));

      write(`${join(dir, 'addons')},${join(dir, 'custom')}`, log2, 10);
      await waitFor(() => events.find((e) => e.event === 'odoo-conf.reloaded'));
      expect(events.find((e) => e.event === 'odoo-conf.reloaded')?.changed).toEqual(['addonsPath', 'logfile', 'dbPort']);
      expect(rootsFor(config, engine.odoo)).toEqual(expect.arrayContaining([join(dir, 'custom'), join(dir, 'log2')]));
      expect(engine.sourceNames).toEqual([log2]);
      expect(engine.probeContext().odoo.dbPort).toBe(10);

      // The new log is followed: a record written there reaches the tail.
      appendFileSync(log2, '2026-11-28 19:53:25,717 8264 INFO healdb odoo.modules.loading: moved log works \n');
      await waitFor(() => engine.store.getState().tail.some((t) => t.record.message.includes('moved log works')));
    } finally {
      await engine.stop();
    }
  }, 30_000);
});
