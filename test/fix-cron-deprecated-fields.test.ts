import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Incident } from '../src/engine/types.js';
import { cronDeprecatedFields } from '../src/fixes/cron-deprecated-fields.js';
import { sha256Hex } from '../src/fixes/fix-util.js';
import { makeFixContext, type TestFixContext, testIncident } from './helpers/fix-context.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const REAL_LOG = join(FIXTURES, 'logs/cron_deprecated_field.log');

/** The ParseError line of the real log: `while parsing <file>:<line>, somewhere inside`. */
function realParseError(): { file: string; line: string } {
  const text = readFileSync(REAL_LOG, 'utf8');
  const m = /ParseError: while parsing (\/\S+?):(\d+), somewhere inside/.exec(text);
  if (!m) throw new Error('ParseError line not found in the real log');
  return { file: m[1]!, line: m[2]! };
}

function incidentFor(file: string, line: string): Incident {
  return testIncident({
    id: 'i-0badc0de',
    fingerprint: `cron-deprecated-field|${file}`,
    origin: { kind: 'pattern', patternId: 'odoo.cron-deprecated-field', captures: { file, line } },
    title: 'Deprecated ir.cron field',
    category: 'cron',
    fix: { id: 'cron-deprecated-fields', params: { file }, unattended: false },
  });
}

let base: string;
let addons: string;
let ctx: TestFixContext;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'odoo-heal-cron-'));
  addons = join(base, 'custom_addons');
  mkdirSync(addons);
  cpSync(join(FIXTURES, 'legacy_cron'), join(addons, 'legacy_cron'), { recursive: true });
});
afterEach(() => {
  ctx?.cleanup();
  rmSync(base, { recursive: true, force: true });
});

function expectedBytes(): Buffer {
  const dir = join(base, 'expected');
  cpSync(join(FIXTURES, 'legacy_cron'), join(dir, 'legacy_cron'), { recursive: true });
  execFileSync('patch', ['-p1', '-s', '-i', join(FIXTURES, 'legacy_cron_fix.diff')], { cwd: dir });
  return readFileSync(join(dir, 'legacy_cron/data/ir_cron_data.xml'));
}

describe('cron-deprecated-fields fix', () => {
  it('refuses the real record path outside the configured roots, fixes the copy inside them, rolls back byte-identically', async () => {
    ctx = makeFixContext({ roots: [addons], odoo: { addonsPath: [addons] }, fixId: 'cron-deprecated-fields' });
    const real = realParseError();
    expect(real.file).toBe('/tmp/realodoo/custom_addons/legacy_cron/data/ir_cron_data.xml');

    const refused = cronDeprecatedFields.detect(incidentFor(real.file, real.line), ctx);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.reason).toMatch(/outside the allowed roots/);

    // The same record, its path remapped into the temp addons root.
    const file = real.file.replace('/tmp/realodoo/custom_addons', addons);
    const original = readFileSync(file);
    const incident = incidentFor(file, real.line);
    const detected = cronDeprecatedFields.detect(incident, ctx);
    expect(detected).toEqual({ ok: true, params: { file, line: 4 } });
    if (!detected.ok) return;

    const plan = await cronDeprecatedFields.plan(detected.params, incident, ctx);
    expect(plan.applicable).toBe(true);
    expect(plan.data.module).toBe('legacy_cron');
    expect(plan.preview).toContain('-            <field name="numbercall">-1</field>');
    expect(plan.preview).toContain('-            <field name="doall" eval="False"/>');
    expect(readFileSync(file).equals(original)).toBe(true); // plan has no side effect

    const applied = await cronDeprecatedFields.apply(plan, ctx);
    expect(readFileSync(file).equals(expectedBytes())).toBe(true);
    expect(await cronDeprecatedFields.verify(plan, applied, ctx)).toMatchObject({ ok: true });
    expect(applied.backups[0]?.sha256).toBe(sha256Hex(original));

    await cronDeprecatedFields.rollback(plan, applied, ctx);
    expect(sha256Hex(readFileSync(file))).toBe(sha256Hex(original));
  });

  it('refuses a path that escapes the roots through a symlink or ..', () => {
    ctx = makeFixContext({ roots: [addons], odoo: { addonsPath: [addons] } });
    const outside = join(base, 'outside.xml');
    writeFileSync(outside, '<odoo/>');
    execFileSync('ln', ['-s', outside, join(addons, 'legacy_cron/data/link.xml')]);
    for (const p of [join(addons, 'legacy_cron/data/link.xml'), `${addons}/../outside.xml`]) {
      const r = cronDeprecatedFields.detect(incidentFor(p, '1'), ctx);
      expect(r.ok).toBe(false);
    }
  });

  it('refuses to apply when the file changed since the plan', async () => {
    ctx = makeFixContext({ roots: [addons], odoo: { addonsPath: [addons] } });
    const file = join(addons, 'legacy_cron/data/ir_cron_data.xml');
    const incident = incidentFor(file, '4');
    const d = cronDeprecatedFields.detect(incident, ctx);
    if (!d.ok) throw new Error(d.reason);
    const plan = await cronDeprecatedFields.plan(d.params, incident, ctx);
    writeFileSync(file, `${readFileSync(file, 'utf8')}<!-- edited -->\n`);
    await expect(cronDeprecatedFields.apply(plan, ctx)).rejects.toThrow(/changed since the plan/);
  });

  it('runs the configured module update with ${module} and checks its exit code', async () => {
    const script = join(base, 'fake-odoo-bin');
    // Stands in for odoo-bin: fails unless asked to update legacy_cron.
    writeFileSync(script, '#!/bin/sh\n[ "$2" = "legacy_cron" ] && exit 0\necho "no module $2" >&2\nexit 3\n', { mode: 0o755 });
    const file = join(addons, 'legacy_cron/data/ir_cron_data.xml');
    const incident = incidentFor(file, '4');

    ctx = makeFixContext({ roots: [addons], odoo: { addonsPath: [addons] }, fixes: { allowCommands: [script], moduleUpdate: [script, '-u', '${module}'] } });
    const d = cronDeprecatedFields.detect(incident, ctx);
    if (!d.ok) throw new Error(d.reason);
    const plan = await cronDeprecatedFields.plan(d.params, incident, ctx);
    expect(plan.data.moduleUpdate).toEqual([script, '-u', 'legacy_cron']);
    const applied = await cronDeprecatedFields.apply(plan, ctx);
    expect(applied.commands[0]?.exitCode).toBe(0);
    expect(await cronDeprecatedFields.verify(plan, applied, ctx)).toMatchObject({ ok: true });
    await cronDeprecatedFields.rollback(plan, applied, ctx);

    ctx.cleanup();
    ctx = makeFixContext({ roots: [addons], odoo: { addonsPath: [addons] }, fixes: { allowCommands: [script], moduleUpdate: [script, '-u', 'other_${module}'] } });
    const plan2 = await cronDeprecatedFields.plan(d.params, incident, ctx);
    const applied2 = await cronDeprecatedFields.apply(plan2, ctx);
    const v = await cronDeprecatedFields.verify(plan2, applied2, ctx);
    expect(v.ok).toBe(false);
    expect(v.detail).toMatch(/exit code 3.*no module other_legacy_cron/);
  });

  it('says there is nothing to do on an already fixed file', async () => {
    ctx = makeFixContext({ roots: [addons], odoo: { addonsPath: [addons] } });
    const file = join(addons, 'legacy_cron/data/ir_cron_data.xml');
    writeFileSync(file, expectedBytes());
    const incident = incidentFor(file, '4');
    const d = cronDeprecatedFields.detect(incident, ctx);
    if (!d.ok) throw new Error(d.reason);
    const plan = await cronDeprecatedFields.plan(d.params, incident, ctx);
    expect(plan.applicable).toBe(false);
    expect(plan.actions).toEqual([]);
  });
});
