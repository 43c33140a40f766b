import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unifiedDiff } from '../src/fixes/diff.js';
import { checkCronFile, removeCronFields } from '../src/fixes/xml-cron-edit.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const VARIANTS = join(FIXTURES, 'xml-variants');
const tmp = mkdtempSync(join(tmpdir(), 'odoo-heal-xml-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The sample addon's XML with the real fix diff applied by patch(1). */
function expectedSampleBytes(): Buffer {
  const dir = join(tmp, 'patched');
  cpSync(join(FIXTURES, 'legacy_cron'), join(dir, 'legacy_cron'), { recursive: true });
  execFileSync('patch', ['-p1', '-s', '-i', join(FIXTURES, 'legacy_cron_fix.diff')], { cwd: dir });
  return readFileSync(join(dir, 'legacy_cron/data/ir_cron_data.xml'));
}

describe('removeCronFields', () => {
  it('turns the sample addon XML into exactly what legacy_cron_fix.diff shows', () => {
    const before = readFileSync(join(FIXTURES, 'legacy_cron/data/ir_cron_data.xml'));
    const edit = removeCronFields(before);
    expect(edit.removed.map((r) => [r.field, r.line])).toEqual([
      ['numbercall', 12],
      ['doall', 13],
    ]);
    expect(edit.content.equals(expectedSampleBytes())).toBe(true);
    expect(checkCronFile(edit.content).ok).toBe(true);
    expect(checkCronFile(before)).toMatchObject({ ok: false });
  });

  const variants = readdirSync(VARIANTS).filter((f) => f.endsWith('.xml') && !f.endsWith('.expected.xml'));
  it.each(variants)('variant %s: removes only the ir.cron fields, byte for byte', (name) => {
    const input = readFileSync(join(VARIANTS, name));
    const expected = readFileSync(join(VARIANTS, name.replace(/\.xml$/, '.expected.xml')));
    const edit = removeCronFields(input);
    expect(edit.removed.length).toBeGreaterThan(0);
    expect(edit.content.toString('latin1')).toBe(expected.toString('latin1'));
    expect(checkCronFile(edit.content)).toMatchObject({ ok: true });
    // Idempotent: a second pass finds nothing.
    expect(removeCronFields(edit.content).removed).toEqual([]);
  });

  it('keeps fields of other models, including inside a nested ir.cron record', () => {
    const out = removeCronFields(readFileSync(join(VARIANTS, 'other-models.xml'))).content.toString('utf8');
    expect(out).toContain('<field name="numbercall">3</field>');
    expect(out).toContain('<field name="numbercall">7</field>');
    expect(out).not.toContain('<field name="numbercall">-1</field>');
  });

  it('refuses a file that is not well-formed XML', () => {
    expect(() => removeCronFields(Buffer.from('<odoo><record model="ir.cron"><field name="doall"/></odoo>'))).toThrow(
      /not well-formed/,
    );
    expect(checkCronFile(Buffer.from('<odoo><record>'))).toMatchObject({ ok: false });
  });

  it('produces a unified diff that patch(1) applies to the same bytes (CRLF included)', () => {
    for (const name of ['crlf-bom.xml', 'multi-line.xml']) {
      const before = readFileSync(join(VARIANTS, name));
      const after = removeCronFields(before).content;
      const file = join(tmp, 'p', name);
      cpSync(join(VARIANTS, name), file);
      const diff = unifiedDiff(file, before.toString('latin1'), after.toString('latin1'));
      const diffFile = join(tmp, `${name}.diff`);
      writeFileSync(diffFile, Buffer.from(diff, 'latin1'));
      execFileSync('patch', ['-p1', '-s', '--binary', '-i', diffFile], { cwd: '/' });
      expect(readFileSync(file).equals(after)).toBe(true);
    }
  });
});
