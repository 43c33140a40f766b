// The harness itself, against the real Odoo: JSON-RPC as admin, SQL as postgres, and the built
// binary's `check --json` seeing this server's PostgreSQL and Odoo as they are.
import { describe, expect, it } from 'vitest';
import { realOdoo, skipReason } from '../helpers/real-odoo.js';

const odoo = realOdoo();

describe.skipIf(!odoo)(`real Odoo harness${odoo ? '' : ` (skipped: ${skipReason()})`}`, () => {
  it('logs in over JSON-RPC and reads the same module states SQL sees', async () => {
    const o = odoo!;
    o.ensureUp();
    expect(await o.health()).toBe(true);
    const rows = await o.rpc.executeKw<{ name: string; state: string }[]>('ir.module.module', 'search_read', [[['name', 'in', ['web', 'heal_probe']]]], {
      fields: ['name', 'state'],
    });
    expect(Object.fromEntries(rows.map((r) => [r.name, r.state]))).toEqual({ web: 'installed', heal_probe: 'installed' });
    expect(o.moduleState('heal_probe')).toBe('installed');
    const res = await fetch(`${o.url}/heal_probe/sleep?s=0`);
    expect(await res.text()).toContain('slept 0');
  });

  it('check --json finds this Odoo healthy, and its database critical once PostgreSQL is stopped', async () => {
    const o = odoo!;
    o.ensureUp();
    const up = await o.check();
    const db = up.json.probes.find((p) => p.probe === 'database');
    expect(db?.status).toBe('ok');
    expect(up.json.probes.find((p) => p.probe === 'odoo_http')?.status).toBe('ok');
    o.stopPg();
    try {
      const down = await o.check();
      expect(down.code).toBe(2);
      expect(down.json.probes.find((p) => p.probe === 'database')?.status).toBe('critical');
    } finally {
      o.startPg();
    }
    expect(o.pgRunning()).toBe(true);
  });
});
