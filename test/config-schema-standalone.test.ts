// The config schema's validator compiled ahead of time (src/engine/config/schema-validator.generated.ts)
// must be the one Ajv compiles from src/engine/config/schema.json today, and judge configs the same way.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_AJV_OPTIONS,
  CONFIG_KEYWORDS,
  configGeneratedPath,
  configSchemaPath,
  configStandaloneSource,
} from '../src/engine/config/schema-standalone.js';
import { validate } from '../src/engine/config/schema-validator.generated.js';

const schema = JSON.parse(readFileSync(configSchemaPath(), 'utf8')) as object;

describe('precompiled config schema validator', () => {
  it('is up to date with src/engine/config/schema.json (regenerate: npm run build && node dist/engine/config/schema-standalone.js)', () => {
    expect(readFileSync(configGeneratedPath(), 'utf8')).toBe(configStandaloneSource(schema));
  });

  it('gives the same verdicts and errors (with their schema annotations) as the schema compiled at run time', () => {
    const ajv = new Ajv(CONFIG_AJV_OPTIONS);
    for (const k of CONFIG_KEYWORDS) ajv.addKeyword(k as never);
    const runtime = ajv.compile(schema);
    const docs: unknown[] = [
      {},
      { thresholds: { diskWarnPercent: 80 } },
      { thresholds: { diskWarnPercent: 'high' } },
      { thresholds: { diskWarnPercent: 180 } },
      { thresholdz: {} },
      { services: [{ name: 'postgresql', unit: 3 }] },
      { alerts: { targets: [{ kind: 'slack', url: 'https://x.invalid' }] } },
      { http: { token: 'short' } },
      [],
    ];
    const v = validate as unknown as typeof runtime;
    for (const d of docs) {
      expect(v(d), JSON.stringify(d)).toBe(runtime(d));
      expect(v.errors ?? null).toEqual(runtime.errors ?? null);
    }
  });
});
