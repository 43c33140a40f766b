// The console in a real terminal (tmux on a private socket) against the real Odoo 18: PostgreSQL is
// stopped, the queue shows the outage as one root line with its symptoms, `f` plans the restart,
// `y` runs it, the console says verified, and Odoo answers /web/health again. Auto-heal is off in the
// console, so it is the admin's keypress that heals.
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { realOdoo, ROOT, skipReason } from '../helpers/real-odoo.js';

const odoo = realOdoo();
const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0;
const SOCKET = `odoo-heal-ro-${process.pid}`;
const tmux = (args: string[]) => {
  const env = { ...process.env };
  for (const k of ['CI', 'CONTINUOUS_INTEGRATION', 'TMUX', 'NO_COLOR']) delete env[k];
  return spawnSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8', env });
};
const capture = () => tmux(['capture-pane', '-p', '-t', 'ro']).stdout ?? '';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitScreen(what: string, pred: (s: string) => boolean, timeoutMs = 60_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let s = '';
  while (Date.now() < end) {
    s = capture();
    if (pred(s)) return s;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}; screen was:\n${s}`);
}

afterAll(() => {
  tmux(['kill-server']);
  odoo?.ensureUp();
});

describe.skipIf(!odoo || !HAVE_TMUX)(`the console in tmux on the real Odoo${odoo ? (HAVE_TMUX ? '' : ' (skipped: no tmux)') : ` (skipped: ${skipReason()})`}`, () => {
  it('PostgreSQL stopped: one root line with symptoms, f + y restarts it, verified, Odoo healthy again', async () => {
    const o = odoo!;
    o.ensureUp();
    o.freshLogs();
    const { config } = o.healConfig();
    const cmd = `cd ${ROOT} && node bin/odoo-heal --config ${config} --odoo-config ${o.conf}`;
    const r = tmux(['new-session', '-d', '-s', 'ro', '-x', '120', '-y', '40', cmd]);
    expect(r.status, r.stderr).toBe(0);
    await waitScreen('the console', (s) => s.includes('lines read') && /Database/.test(s));

    o.stopPg();
    const screen = await waitScreen('the outage in the queue', (s) => /PostgreSQL/.test(s.split('Incidents')[1] ?? '') && /symptom/i.test(s), 90_000);
    console.warn(`console-tmux: queue during the outage:\n${screen.split('\n').filter((l) => /CRIT|WARN|symptom/.test(l)).join('\n')}`);

    // Select the root (the line carrying the symptoms) and ask for its plan.
    let planned = false;
    for (let attempt = 0; attempt < 5 && !planned; attempt++) {
      for (let i = 0; i < 12; i++) {
        const rows = capture().split('\n');
        const cursor = rows.findIndex((l) => l.includes('›'));
        const target = rows.findIndex((l) => /symptom/i.test(l));
        if (cursor >= 0 && cursor === target) break;
        tmux(['send-keys', '-t', 'ro', cursor >= 0 && target >= 0 && target < cursor ? 'k' : 'j']);
        await sleep(150);
      }
      tmux(['send-keys', '-t', 'ro', 'f']);
      planned = await waitScreen('the restart plan', (s) => /postgresql/i.test(s) && s.includes('Apply this fix?'), 8000).then(
        () => true,
        () => false,
      );
      if (!planned) {
        tmux(['send-keys', '-t', 'ro', 'Escape']);
        await sleep(300);
      }
    }
    expect(planned).toBe(true);
    // A key sent while the prompt is still being drawn can be lost: repeat it while the prompt stays.
    for (let i = 0; i < 5 && capture().includes('Apply this fix?'); i++) {
      tmux(['send-keys', '-t', 'ro', 'y']);
      await sleep(2000);
    }
    const done = await waitScreen('the fix verified', (s) => /restart-service verified|postgresql is back/i.test(s), 120_000);
    console.warn(`console-tmux: after y:\n${done.split('\n').filter((l) => /verified|back|CRIT/i.test(l)).join('\n')}`);
    expect(o.pgRunning()).toBe(true);
    const end = Date.now() + 60_000;
    while (!(await o.health()) && Date.now() < end) await sleep(500);
    expect(await o.health()).toBe(true);
    tmux(['send-keys', '-t', 'ro', 'q']);
  });
});
