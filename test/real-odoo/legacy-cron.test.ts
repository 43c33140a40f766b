// The legacy_cron addon (test/fixtures/legacy_cron, verbatim from ../shared/odoo-logs/legacy_cron) on
// the real Odoo 18: installing it as the web client does fails on the ir.cron fields Odoo 18 removed;
// `--auto` must find that in Odoo's log, fix the XML, run the configured follow-up (which must choose
// `-i`: the module is not installed), and say "verified" only because Odoo now lists it installed.
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { realOdoo, RpcError, ROOT, skipReason } from '../helpers/real-odoo.js';
import type { AutoProcess } from '../helpers/auto-sandbox.js';

const odoo = realOdoo();
let auto: AutoProcess | null = null;
afterAll(() => auto?.kill('SIGKILL'));

describe.skipIf(!odoo)(`legacy_cron on the real Odoo${odoo ? '' : ` (skipped: ${skipReason()})`}`, () => {
  it('the failed install becomes an incident, the fix applies and the module ends installed', async () => {
    const o = odoo!;
    o.ensureUp();
    o.freshLogs();
    const addon = join(o.extraAddons, 'legacy_cron');
    rmSync(addon, { recursive: true, force: true });
    cpSync(join(ROOT, 'test', 'fixtures', 'legacy_cron'), addon, { recursive: true });
    expect(o.moduleState('legacy_cron') ?? 'uninstalled').toBe('uninstalled');

    auto = o.startAuto({
      fixes: {
        unattended: ['cron-deprecated-fields'],
        allowCommands: ['runuser'],
        // How an admin runs it beside a live server: as Odoo's user, no HTTP, no workers, no pid file.
        moduleUpdate: ['runuser', '-u', 'odoo', '--', '/usr/bin/python3', join(o.base, 'odoo', 'odoo-bin'), '-c', '${config}', '-d', '${db}',
          '-u', '${module}', '--stop-after-init', '--no-http', '--workers=0', '--max-cron-threads=0', '--pidfile='],
      },
    });
    await auto.waitFor((l) => l.event === 'ready', 'ready', 30_000);

    const err = await o.installModule('legacy_cron').then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(String((err as Error).message)).toMatch(/numbercall|ParseError|Invalid field/);
    expect(o.moduleState('legacy_cron')).toBe('uninstalled');

    const opened = await auto.waitFor((l) => l.event === 'incident.opened' && /ir\.cron/i.test(String(l.title)), 'the cron incident', 60_000);
    const result = await auto.waitFor((l) => l.event === 'fix.result' && l.incident === opened.incident, 'the fix result', 180_000);
    expect(result.fix).toBe('cron-deprecated-fields');
    expect(result.outcome, String(result.message)).toBe('verified');
    expect(String(result.message)).toMatch(/legacy_cron is installed in Odoo's database \(was uninstalled\)/);

    // Odoo agrees: the module is installed and its scheduled action exists.
    expect(o.moduleState('legacy_cron')).toBe('installed');
    const crons = o.psql("SELECT c.active FROM ir_cron c JOIN ir_model_data d ON d.model = 'ir.cron' AND d.res_id = c.id WHERE d.module = 'legacy_cron'");
    expect(crons).toEqual([['t']]);
    const xml = readFileSync(join(addon, 'data', 'ir_cron_data.xml'), 'utf8');
    expect(xml).not.toMatch(/numbercall|doall/);
  });
});
