// Bundled pattern files are loaded without re-running the checks when their exact text is recorded
// as verified (src/engine/patterns/verified-patterns.ts). The record must be what the checks say
// today, the shortcut must return what the checks return, and nothing but an exact text may take it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultPatternsDir, loadPatternFile, loadPatterns, patternFiles } from '../src/engine/patterns/load.js';
import { isVerifiedPatternText, verifiedGeneratedPath, verifiedSource } from '../src/engine/patterns/verified-patterns.js';

const dir = defaultPatternsDir();
const schemaPath = join(dir, 'schema.json');
const bundled = patternFiles(dir);
const tmp = mkdtempSync(join(tmpdir(), 'oh-verified-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('verified pattern files', () => {
  it('are exactly the bundled files, checked against today\'s schema (regenerate: npm run build && node dist/engine/patterns/verified-patterns-build.js)', () => {
    const texts = bundled.map((f) => readFileSync(f, 'utf8'));
    expect(readFileSync(verifiedGeneratedPath(), 'utf8')).toBe(verifiedSource(readFileSync(schemaPath, 'utf8'), texts));
    for (const t of texts) expect(isVerifiedPatternText(t, schemaPath)).toBe(true);
  });

  it('load as the full checks load them, wherever the file is', () => {
    for (const f of bundled) {
      const full = loadPatternFile(f, { trustVerified: false });
      expect(loadPatternFile(f)).toEqual(full);
      const copy = join(tmp, `copy-${f.split('/').pop()}`);
      writeFileSync(copy, readFileSync(f));
      expect(loadPatternFile(copy)).toEqual(full.map((p) => ({ ...p, file: copy })));
    }
  });

  it('are checked in full once edited, even by one byte', () => {
    const text = readFileSync(bundled[0]!, 'utf8');
    const data = JSON.parse(text) as { patterns: { match: Record<string, string> }[] };
    const field = Object.keys(data.patterns[0]!.match).find((k) => k !== 'levels' && k !== 'kind')!;
    data.patterns[0]!.match[field] = '(a+)+$'; // refused by the backtracking check
    const edited = join(tmp, 'edited.json');
    writeFileSync(edited, JSON.stringify(data, null, 2));
    expect(isVerifiedPatternText(readFileSync(edited, 'utf8'), schemaPath)).toBe(false);
    expect(() => loadPatternFile(edited)).toThrow(/regular expression refused/);
    // A trailing newline more: valid, but not the verified text.
    expect(isVerifiedPatternText(`${text}\n`, schemaPath)).toBe(false);
  });

  it('are not trusted against another schema', () => {
    const otherSchema = join(tmp, 'schema.json');
    writeFileSync(otherSchema, `${readFileSync(schemaPath, 'utf8')} `);
    expect(isVerifiedPatternText(readFileSync(bundled[0]!, 'utf8'), otherSchema)).toBe(false);
  });

  it('still have duplicate ids across files refused', () => {
    const twin = join(tmp, 'twin.json');
    writeFileSync(twin, readFileSync(bundled[0]!));
    expect(() => loadPatterns([bundled[0]!, twin])).toThrow(/duplicate id/);
  });
});
