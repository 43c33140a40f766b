import { afterAll, describe, expect, it } from 'vitest';
import type { Incident } from '../src/engine/core/types.js';
import { debianPackage, guidance } from '../src/fixes/guidance.js';
import { allFixes, getFix } from '../src/fixes/registry.js';
import { makeFixContext, testIncident } from './helpers/fix-context.js';

function incident(patternId: string, captures: Record<string, string>, params: Record<string, string> = {}): Incident {
  return testIncident({
    id: 'i-00000001',
    fingerprint: patternId,
    origin: { kind: 'pattern', patternId, captures },
    title: patternId,
    category: 'module',
    hint: 'look at it',
    fix: { id: 'guidance', params, unattended: false },
  });
}

describe('guidance fix', () => {
  const ctx = makeFixContext({ roots: [], odoo: { path: '/etc/odoo/odoo.conf', dbName: 'healdb', limitTimeReal: 6, limitTimeCpu: 1 } });
  afterAll(() => ctx.cleanup());

  it('gives install commands for a missing external dependency (real capture values)', async () => {
    const inc = incident('odoo.module-external-dependency', { module: 'ext_dep_missing', lib: 'nonexistent_lib_xyz' }, { topic: 'external-dependency' });
    const d = guidance.detect(inc, ctx);
    if (!d.ok) throw new Error(d.reason);
    const plan = await guidance.plan(d.params, inc, ctx);
    expect(plan.applicable).toBe(false);
    expect(plan.preview).toContain('apt install python3-nonexistent-lib-xyz');
    expect(plan.preview).toContain('pip install nonexistent_lib_xyz');
    expect(plan.preview).toContain('odoo-bin -c /etc/odoo/odoo.conf -d healdb -i ext_dep_missing --stop-after-init');
    await expect(guidance.apply(plan, ctx)).rejects.toThrow();
  });

  it('says which odoo.conf limit to raise and to what', async () => {
    const inc = incident('odoo.worker-timeout', { limit: 'real' });
    const d = guidance.detect(inc, ctx);
    if (!d.ok) throw new Error(d.reason);
    expect(d.params.topic).toBe('worker-limits');
    const plan = await guidance.plan(d.params, inc, ctx);
    expect(plan.preview).toContain('set limit_time_real = 120 (now 6)');
  });

  it('drops capture values that are not plain names (they end up in shell commands)', () => {
    const d = guidance.detect(incident('odoo.module-not-found', { module: 'x; rm -rf /' }), ctx);
    expect(d.ok && d.params.values.module).toBe(undefined);
    expect(debianPackage('Py_Foo')).toBe('python3-py-foo');
  });
});

describe('registry', () => {
  it('has every fix, ids unique', () => {
    const ids = allFixes().map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ['cron-deprecated-fields', 'restart-service', 'permissions', 'terminate-idle', 'session-cleanup', 'guidance', 'terminate-cron']) {
      expect(getFix(id)?.id).toBe(id);
    }
    expect(getFix('nope')).toBeUndefined();
  });
});
