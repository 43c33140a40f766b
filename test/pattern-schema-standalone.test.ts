// The pattern schema's validator compiled ahead of time (src/engine/patterns/schema-validator.generated.ts)
// must be the one Ajv compiles from patterns/schema.json today, and judge documents the same way.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { AJV_OPTIONS, generatedPath, schemaPath, standaloneSource } from '../src/engine/patterns/schema-standalone.js';
import { validate } from '../src/engine/patterns/schema-validator.generated.js';

describe('precompiled pattern schema validator', () => {
  it('is up to date with patterns/schema.json (regenerate: npm run build && node dist/engine/patterns/schema-standalone.js)', () => {
    expect(readFileSync(generatedPath(), 'utf8')).toBe(standaloneSource(readFileSync(schemaPath(), 'utf8')));
  });

  it('gives the same verdicts and errors as the schema compiled at run time', () => {
    const runtime = new Ajv(AJV_OPTIONS).compile(JSON.parse(readFileSync(schemaPath(), 'utf8')) as object);
    const good = { id: 'a-b', title: 't', severity: 'info', category: 'other', hint: 'h', match: { message: 'x' }, fingerprint: [] };
    const docs: unknown[] = [
      { patterns: [good] },
      { patterns: [{ ...good, id: 'Bad Id' }] },
      { patterns: [{ ...good, match: { levels: ['INFO', 'INFO'], message: 'x' } }] },
      { patterns: [{ ...good, match: { logger: 'x' } }] },
      { patterns: [{ ...good, fix: { id: 'f', params: { a: 1 }, unattended: true } }] },
      { patterns: [{ ...good, title: '' }], extra: 1 },
      { patterns: [{ ...good, priority: 1.5 }] },
      [],
    ];
    const v = validate as unknown as typeof runtime;
    for (const d of docs) {
      expect(v(d), JSON.stringify(d)).toBe(runtime(d));
      expect(v.errors ?? null).toEqual(runtime.errors ?? null);
    }
  });
});
