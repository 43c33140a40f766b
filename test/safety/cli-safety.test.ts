// rollback / history / audit verify commands, in-process against a temp config and state dir.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verify as auditVerify } from '../../src/cli/commands/audit.js';
import { run as history } from '../../src/cli/commands/history.js';
import { run as rollback } from '../../src/cli/commands/rollback.js';
import type { GlobalOptions } from '../../src/cli/global-options.js';
import { loadConfig } from '../../src/engine/config/load.js';
import { runAttempt } from '../../src/fixes/attempts.js';
import type { Fix } from '../../src/fixes/types.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const orig = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await fn(), out };
  } finally {
    process.stdout.write = orig;
  }
}

/** Not in the registry: rollback must restore from backups alone. */
const editFix: Fix<{ path: string }, { path: string }> = {
  id: 'unregistered-edit',
  title: 'edit',
  detect: (_i, ctx) => {
    const c = ctx.confiner.check(join(ctx.odoo.addonsPath[0]!, 'm', 'data.xml'));
    return c.ok ? { ok: true, params: { path: c.path } } : { ok: false, reason: c.reason };
  },
  plan: async (p, i) => ({ fixId: 'unregistered-edit', incidentId: i.id, summary: 'edit data.xml', why: 'test', preview: '+new', actions: [], applicable: true, data: p }),
  apply: async (plan, ctx) => ({ backups: [await ctx.writer.replaceFile(plan.data.path, 'new\n')], commands: [], undo: null }),
  verify: async () => ({ ok: true, detail: 'ok' }),
  rollback: async () => undefined,
};

describe('rollback, history, audit verify commands', () => {
  let base: string;
  let globals: GlobalOptions;
  let data: string;
  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'odoo-heal-cli-')));
    mkdirSync(join(base, 'addons', 'm'), { recursive: true });
    data = join(base, 'addons', 'm', 'data.xml');
    writeFileSync(join(base, 'odoo.conf'), `[options]\naddons_path = ${join(base, 'addons')}\n`);
    writeFileSync(join(base, 'config.yaml'), 'paths:\n  stateDir: ./state\n');
    globals = { config: join(base, 'config.yaml'), odooConfig: join(base, 'odoo.conf'), color: false };
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('history lists the attempt, rollback restores it, audit verify passes then catches tampering', async () => {
    writeFileSync(data, 'old\n');
    const { config, odoo } = await loadConfig({ configPath: globals.config, odooConfigPath: globals.odooConfig });
    const incident = {
      id: 'i-00000001', fingerprint: 'f', origin: { kind: 'probe' as const, probe: 'disk' as const, key: 'k' }, title: 't', severity: 'warning' as const,
      category: 'other' as const, hint: '', status: 'open' as const, count: 1, firstSeen: 0, lastSeen: 0, sample: null, detail: '', fix: null,
      resolvedAt: null, snoozedUntil: null, rootId: null,
    };
    const rec = await runAttempt(editFix, incident, { config, odoo, probe: () => Promise.reject(new Error('none')) }, { who: 'tester@pts/9' });
    expect(rec.outcome).toBe('verified');
    expect(readFileSync(data, 'utf8')).toBe('new\n');

    const h = await capture(() => history(globals, {}));
    expect(h.code).toBe(0);
    expect(h.out).toMatch(new RegExp(`${rec.id}\\s+\\S+ \\S+\\s+verified\\s+unregistered-edit\\s+i-00000001\\s+tester@pts/9`));
    const hj = await capture(() => history(globals, { json: true }));
    expect(JSON.parse(hj.out)).toEqual([expect.objectContaining({ id: rec.id, outcome: 'verified' })]);

    const r = await capture(() => rollback(globals, rec.id, {}));
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${rec.id}: rolled back`);
    expect(r.out).toContain(`restored ${data}`);
    expect(sha(readFileSync(data))).toBe(sha('old\n'));

    const v = await capture(() => auditVerify(globals, {}));
    expect(v).toEqual({ code: 0, out: `audit log ${config.paths.auditLog}: intact, 3 entries\n` });

    const lines = readFileSync(config.paths.auditLog, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('tester@pts/9', 'someone@else');
    writeFileSync(config.paths.auditLog, lines.join('\n'));
    const t = await capture(() => auditVerify(globals, { file: config.paths.auditLog }));
    expect(t.code).toBe(2);
    expect(t.out).toMatch(/TAMPERED at line 2: hash does not match the entry \(the entry was edited\)\n$/);
  });
});
