// The console and --auto show the odoo.conf audit as incidents of category `config`: audited at
// start and again when odoo.conf changes, never on every probe round.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readOdooConf } from '../src/engine/config/odoo-conf.js';
import { createOdooConfProbe } from '../src/engine/config-audit/probe.js';
import { Engine } from '../src/engine/run/engine.js';
import { testConfig, testCtx, testOdoo } from './helpers/config.js';

const PATTERNS = resolve(__dirname, '..', 'patterns');
const DEBIAN = resolve(__dirname, 'fixtures', 'config', 'odoo-debian.conf');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('odoo.conf audit in the engine', () => {
  it('runs once, then returns the same result until invalidated (odoo.conf re-read)', async () => {
    const probe = createOdooConfProbe({ when: 'on-change' });
    const ctx = testCtx(testConfig(), testOdoo({ dbHost: '127.0.0.1', dbPort: 9 }));
    const signal = new AbortController().signal;
    // A round waits for the audit only briefly: on a loaded box the first answers may be "in progress".
    const landed = async () => {
      const r = await probe.run(ctx, signal);
      expect(r.summary).not.toBe('odoo.conf audit in progress');
      return r;
    };
    const first = await vi.waitFor(landed, { timeout: 10_000 });
    expect(await probe.run(ctx, signal)).toBe(first);
    expect(await probe.run(ctx, signal)).toBe(first);
    probe.invalidate();
    await vi.waitFor(async () => expect(await probe.run(ctx, signal)).not.toBe(first), { timeout: 10_000 });
  });

  it("Debian's packaged odoo.conf opens a config incident naming the line; fixing the file ends it", async () => {
    const root = mkdtempSync(join(tmpdir(), 'odoo-heal-conf-audit-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const path = join(root, 'odoo.conf');
    writeFileSync(path, readFileSync(DEBIAN, 'utf8'));
    const config = testConfig((c) => {
      c.paths = { stateDir: join(root, 'state'), backupDir: join(root, 'state', 'backups'), auditLog: join(root, 'state', 'audit.log') };
      c.probes.intervalMs = 60_000;
      c.probes.timeoutMs = 2000;
    });
    const odoo = { ...readOdooConf(path).conf, path, dbHost: '127.0.0.1', dbPort: 9 };
    const engine = new Engine({ config, odoo, patternsDir: PATTERNS, mode: 'auto', sources: [] });
    cleanups.push(() => engine.stop());
    await engine.start(); // its first probe round audits odoo.conf
    const audit = () => Object.values(engine.store.getState().incidents).find((i) => i.fingerprint === 'probe:odoo_conf:audit-database-manager-exposed');
    await vi.waitFor(
      async () => {
        await engine.probeTick();
        expect(audit()).toMatchObject({ category: 'config', severity: 'warning', status: 'open' });
      },
      { timeout: 10_000 },
    );
    expect(audit()!.title).toBe(`${path} (admin_passwd not set): The database manager is reachable (list_db on, http_interface all interfaces) and admin_passwd is unset`);

    writeFileSync(path, `${readFileSync(DEBIAN, 'utf8').trimEnd()}\nlist_db = False\n`);
    const before = engine.store.getState().probes.odoo_conf;
    await engine.probeTick();
    // An unchanged file is not audited again on the next round.
    expect(audit()?.status).toBe('open');
    expect(engine.store.getState().probes.odoo_conf?.data).toBe(before?.data);
    await engine.reloadOdooConf('odoo.conf changed');
    await vi.waitFor(
      async () => {
        await engine.probeTick();
        expect(audit()?.status).toBe('resolved');
      },
      { timeout: 10_000 },
    );
  });
});
