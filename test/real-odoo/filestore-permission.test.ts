// The filestore made unwritable for Odoo's user (restored as root, a classic): an attachment upload
// fails, `--auto` raises the permission incident, the permissions fix gives the directory back to
// `odoo`, and an attachment upload through Odoo works again (its file is on disk, owned by odoo).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AutoProcess } from '../helpers/auto-sandbox.js';
import { realOdoo, skipReason } from '../helpers/real-odoo.js';

const odoo = realOdoo();
let auto: AutoProcess | null = null;
afterAll(() => {
  auto?.kill('SIGKILL');
  if (odoo && existsSync(odoo.filestore)) execFileSync('chown', ['-R', 'odoo:odoo', odoo.filestore]);
});

async function upload(content: string): Promise<number> {
  return odoo!.rpc.executeKw<number>('ir.attachment', 'create', [{ name: 'heal-test.txt', datas: Buffer.from(content).toString('base64') }]);
}

describe.skipIf(!odoo)(`filestore unwritable on the real Odoo${odoo ? '' : ` (skipped: ${skipReason()})`}`, () => {
  it('raises the permission incident, fixes it, and an attachment upload works again', async () => {
    const o = odoo!;
    o.ensureUp();
    o.freshLogs();
    mkdirSync(o.filestore, { recursive: true });
    execFileSync('chown', ['-R', 'odoo:odoo', o.filestore]);
    auto = o.startAuto({ fixes: { unattended: ['permissions'] } });
    await auto.waitFor((l) => l.event === 'ready', 'ready', 30_000);

    execFileSync('chown', ['-R', 'root:root', o.filestore]);
    execFileSync('chmod', ['755', o.filestore]);
    const failed = await upload(`before the fix ${Date.now()}`).then(
      () => null,
      (e: unknown) => e,
    );
    // Odoo 18 either fails the request or (logged at INFO) creates the attachment without its file.
    if (failed === null) console.warn('filestore-permission: the upload "succeeded" without its file, as Odoo logs at INFO');

    const opened = await auto.waitFor((l) => l.event === 'incident.opened' && /permission denied/i.test(String(l.title)), 'the permission incident', 60_000);
    const fixed = await auto.waitFor((l) => l.event === 'fix.result' && l.incident === opened.incident, 'the permissions fix', 60_000);
    expect(fixed.fix).toBe('permissions');
    expect(fixed.outcome, String(fixed.message)).toBe('verified');
    expect(statSync(o.filestore).uid).not.toBe(0);

    const content = `after the fix ${Date.now()}`;
    const id = await upload(content);
    const [row] = await o.rpc.executeKw<{ datas: string; store_fname: string }[]>('ir.attachment', 'read', [[id]], { fields: ['datas', 'store_fname'] });
    expect(Buffer.from(row!.datas, 'base64').toString()).toBe(content);
    const file = join(o.filestore, row!.store_fname);
    expect(existsSync(file)).toBe(true);
    expect(execFileSync('stat', ['-c', '%U', file], { encoding: 'utf8' }).trim()).toBe('odoo');
  });
});
