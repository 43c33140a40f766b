// `odoo-heal fix`, `rollback`, `history` and `audit verify` as an admin or a script runs them, on a
// temp copy of the broken addon and the real log record that names it.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'oh-fix-cli-'));
const addons = join(dir, 'addons');
const xml = join(addons, 'legacy_cron', 'data', 'ir_cron_data.xml');
const log = join(dir, 'odoo.log');
const odooConf = join(dir, 'odoo.conf');
const yaml = join(dir, 'config.yaml');
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
let original: string;

beforeAll(() => {
  ensureBuilt(['src/cli/commands/fix.ts', 'src/cli/commands/rollback.ts', 'src/fixes/attempts.ts']);
  mkdirSync(addons);
  cpSync(join(ROOT, 'test', 'fixtures', 'legacy_cron'), join(addons, 'legacy_cron'), { recursive: true });
  original = sha(xml);
  const real = readFileSync(join(ROOT, 'test', 'fixtures', 'logs', 'cron_deprecated_field.log'), 'utf8');
  writeFileSync(log, real.replaceAll('/tmp/realodoo/custom_addons', addons));
  writeFileSync(odooConf, `[options]\naddons_path = ${addons}\ndata_dir = ${join(dir, 'data')}\nlogfile = ${log}\n`);
  writeFileSync(yaml, `services: []\npaths:\n  stateDir: ${join(dir, 'state')}\n`);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli([...args, '--config', yaml, '--odoo-config', odooConf]);

describe('odoo-heal fix / rollback / history / audit verify', () => {
  let incidentId: string;
  let attemptId: string;

  it('lists the fixable incidents of a log', async () => {
    const r = await cli('fix', '--log', log, '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { format: string; incidents: { id: string; fix: { id: string } }[] };
    expect(out.format).toBe('odoo-heal/fix@1');
    const cron = out.incidents.find((i) => i.fix.id === 'cron-deprecated-fields');
    expect(cron).toBeDefined();
    incidentId = cron!.id;
  });

  it('--dry-run shows the diff and changes nothing', async () => {
    const r = await cli('fix', '--log', log, incidentId, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('-            <field name="numbercall">-1</field>');
    expect(r.stdout).toContain('-            <field name="doall" eval="False"/>');
    expect(sha(xml)).toBe(original);
  });

  it('refuses to apply without a terminal unless --yes, and changes nothing', async () => {
    const r = await cli('fix', '--log', log, incidentId);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pass --yes/);
    expect(sha(xml)).toBe(original);
  });

  it('--yes applies, verifies and prints the attempt id; the pattern id works as a reference too', async () => {
    const r = await cli('fix', '--log', log, 'cron-deprecated-fields', '--yes');
    expect(r.code).toBe(0);
    const m = /Attempt (a-\d{8}-\d{6}-[0-9a-f]{4}): verified/.exec(r.stdout);
    expect(m).not.toBeNull();
    attemptId = m![1]!;
    expect(readFileSync(xml, 'utf8')).not.toMatch(/numbercall|doall/);
  });

  it('history shows the attempt, the audit chain verifies, rollback restores byte for byte', async () => {
    const h = await cli('history');
    expect(h.code).toBe(0);
    expect(h.stdout).toContain(attemptId);
    const v = await cli('audit', 'verify');
    expect(v.code).toBe(0);
    const rb = await cli('rollback', attemptId);
    expect(rb.code).toBe(0);
    expect(rb.stdout).toContain(xml);
    expect(sha(xml)).toBe(original);
  });

  it('an unknown incident is a usage error naming it', async () => {
    const r = await cli('fix', '--log', log, 'i-00000000', '--dry-run');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no incident matches "i-00000000"');
  });
});
