// writePeriodicReport, as --auto calls it: a real Engine fed a real Odoo 18 log writes report.json,
// report.md and the incident history into the state dir; a restarted engine keeps the history.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultConfig, defaultOdooConf } from '../src/engine/config/defaults.js';
import type { Config } from '../src/engine/config/types.js';
import { Engine } from '../src/engine/run/engine.js';
import { writePeriodicReport, type Report } from '../src/engine/outputs/report.js';

const ROOT = join(import.meta.dirname, '..');
let tmp: string;
let config: Config;
const engines: Engine[] = [];

function newEngine(): Engine {
  const e = new Engine({ config, odoo: { ...defaultOdooConf(), dbPassword: 'Pg-Secret-4242' }, patternsDir: join(ROOT, 'patterns'), mode: 'auto', sources: [] });
  engines.push(e);
  return e;
}

async function ingestAndSettle(engine: Engine, file: string): Promise<void> {
  engine.ingest(file, readFileSync(join(ROOT, 'test/fixtures/logs', file), 'utf8').split('\n'));
  // The last record completes when the engine's flush timer fires.
  for (let i = 0; i < 100 && engine.store.getState().counters.records === 0; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 150));
}

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'odoo-heal-periodic-'));
  config = defaultConfig({ env: { XDG_STATE_HOME: tmp }, isRoot: false, home: '/nonexistent-home' });
  config.services = [];
  config.endpoints = [];
  // Nothing may act in this test: the report only reads.
  config.fixes.unattended = [];
});
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('writePeriodicReport', () => {
  it('writes report.json, report.md and the incident history atomically into the state dir', async () => {
    const engine = newEngine();
    await ingestAndSettle(engine, 'permission_denied_filestore.log');
    await vi.waitFor(() => expect(engine.store.getState().probes.disk).toBeTruthy(), { timeout: 10_000 });
    const stateDir = config.paths.stateDir;
    const { json, md } = await writePeriodicReport(engine, stateDir);
    expect(json).toBe(join(stateDir, 'report.json'));
    expect(md).toBe(join(stateDir, 'report.md'));
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    expect(report.format).toBe('odoo-heal/report@1');
    expect(report.health?.format).toBe('odoo-heal/check@1');
    // No probe round has run, but the record names a failed write, so the engine ran the disk probe at
    // once (a full disk would be the root). That one probe is all health knows of the host, and the
    // open CRITICAL incident decides the status, never a made-up OK.
    expect(report.health?.probes.map((p) => p.probe)).toEqual(['disk']);
    expect(report.health?.status).toBe('critical');
    const perm = report.effectiveness.find((e) => e.key === 'permission-denied')!;
    expect(perm).toMatchObject({ matches: 8, attempts: 0, open: 1 });
    expect(readFileSync(md, 'utf8')).toContain('`permission-denied`');
    for (const f of ['report.json', 'report.md', 'incident-history.json']) {
      expect((statSync(join(stateDir, f)).mode & 0o777).toString(8)).toBe('600');
      expect(readFileSync(join(stateDir, f), 'utf8')).not.toContain('Pg-Secret-4242');
    }
    // Atomic writes leave no temp files behind.
    const names = readdirSync(stateDir);
    expect(names).toEqual(expect.arrayContaining(['incident-history.json', 'report.json', 'report.md']));
    expect(names.filter((n) => /^(report\.(json|md)|incident-history\.json)./.test(n))).toEqual([]);

    // A restarted engine has an empty book; the history still knows the incident.
    await engine.stop();
    const again = newEngine();
    await writePeriodicReport(again, stateDir);
    const second = JSON.parse(readFileSync(json, 'utf8')) as Report;
    expect(second.effectiveness.find((e) => e.key === 'permission-denied')).toMatchObject({ matches: 8, open: 1 });
  });
});
