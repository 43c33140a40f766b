// Errors no pattern knows, on the real Odoo 18: an addon of this test's own
// (test/fixtures/addons/heal_unclassified) divides by zero in custom code, from an HTTP route and from
// a scheduled action. odoo-heal must show them as ONE unclassified incident with its count, addon
// and failing request, in `detect`, in `check` (WARNING), and draft a proved pattern for it.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, realOdoo, skipReason } from '../helpers/real-odoo.js';

const odoo = realOdoo();
const BIN = join(ROOT, 'bin', 'odoo-heal');
const ROUTE_HITS = 8;

interface DetectIncident {
  id: string;
  kind: string;
  title: string;
  severity: string;
  count: number;
  unclassified: { addon: string | null; frame: string | null; request: string | null } | null;
}

function detect(since: string): { code: number; incidents: DetectIncident[] } {
  const o = odoo!;
  const r = spawnSync(process.execPath, [BIN, 'detect', '--json', '--since', since, o.serverLog], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: o.base } });
  return { code: r.status ?? -1, incidents: (JSON.parse(r.stdout) as { incidents: DetectIncident[] }).incidents };
}

describe.skipIf(!odoo)(`unclassified errors on a real Odoo${odoo ? '' : ` (skipped: ${skipReason()})`}`, () => {
  let since = '';

  beforeAll(async () => {
    const o = odoo!;
    o.ensureUp();
    execFileSync('cp', ['-r', join(ROOT, 'test', 'fixtures', 'addons', 'heal_unclassified'), o.extraAddons]);
    execFileSync('chmod', ['-R', 'a+rX', o.extraAddons]);
    expect(await o.installModule('heal_unclassified')).toBe('installed');
    // Odoo writes its log in UTC here; whole seconds, a second early, so no record of ours is cut.
    since = new Date(Date.now() - 1000).toISOString().slice(0, 19) + 'Z';
    for (let i = 0; i < ROUTE_HITS; i++) {
      const res = await fetch(`${o.url}/heal_unclassified/confirm?qty=0&db=${o.db}`);
      expect(res.status).toBe(500);
    }
    const crons = await o.rpc.executeKw<number[]>('ir.cron', 'search', [[['cron_name', '=', 'Heal unclassified: margin']]], { context: { active_test: false } });
    expect(crons).toHaveLength(1);
    await o.rpc.executeKw('ir.cron', 'method_direct_trigger', [crons]);
    // The last record reaches the file when its worker flushes: wait for all of them.
    for (let t = 0; t < 50; t++) {
      const u = detect(since).incidents.find((i) => i.kind === 'unclassified' && i.unclassified?.addon === 'heal_unclassified');
      if (u && u.count >= ROUTE_HITS + 1) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 300_000);

  it('detect: one incident for the route and the scheduled action, with count, addon, frame and request', () => {
    const { code, incidents } = detect(since);
    const ours = incidents.filter((i) => i.kind === 'unclassified' && i.unclassified?.addon === 'heal_unclassified');
    expect(ours).toHaveLength(1);
    const i = ours[0]!;
    expect(i.count).toBe(ROUTE_HITS + 1);
    expect(i.title).toBe('ZeroDivisionError in heal_unclassified/models/margin.py:margin');
    expect(i.unclassified).toMatchObject({ frame: 'heal_unclassified/models/margin.py:margin', request: 'GET /heal_unclassified/confirm' });
    expect(i.severity).toBe('warning');
    expect(code).toBeGreaterThanOrEqual(1);
  });

  it('check: the incident makes it WARNING (exit 1 unless something else is worse)', async () => {
    const r = await odoo!.check();
    const ours = r.json.incidents.filter((i) => (i.origin as { kind?: string; addon?: string }).kind === 'unclassified' && (i.origin as { addon?: string }).addon === 'heal_unclassified');
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatchObject({ severity: 'warning', count: ROUTE_HITS + 1 });
    expect(r.code).toBeGreaterThanOrEqual(1);
    if (r.json.incidents.every((i) => i === ours[0] || i.severity !== 'critical') && r.json.probes.every((p) => p.status === 'ok')) expect(r.code).toBe(1);
  });

  it('patterns suggest drafts a pattern that matches all of its records and nothing else', () => {
    const o = odoo!;
    const id = detect(since).incidents.find((i) => i.kind === 'unclassified' && i.unclassified?.addon === 'heal_unclassified')!.id;
    const r = spawnSync(process.execPath, [BIN, 'patterns', 'suggest', id, '--log', o.serverLog, '--json'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: o.base } });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { proved: boolean; proof: { matched: number; of: number; otherHits: string[]; baselineHits: string[] } };
    expect(out.proved).toBe(true);
    // Every record of the incident in the whole server log (earlier suites may have hit it too).
    expect(out.proof.matched).toBe(out.proof.of);
    expect(out.proof.of).toBeGreaterThanOrEqual(ROUTE_HITS + 1);
    expect(out.proof.otherHits).toEqual([]);
  });
});
