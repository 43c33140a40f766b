// The shipped unit, polkit rule and sudoers file: systemd-analyze verifies the unit, the security
// score stays "OK", and the polkit rule (real JavaScript, run here) allows exactly restarts of the
// listed units for the odoo-heal user.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const UNIT = join(ROOT, 'deploy', 'odoo-auto-heal.service');
const haveAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * verify checks that ExecStart's binary exists and is executable. odoo-heal is not installed on
 * the test machine, so the copy under test points ExecStart at this checkout's bin/odoo-heal —
 * the only line that differs from the shipped unit (asserted below).
 */
function unitUnderTest(): string {
  const text = readFileSync(UNIT, 'utf8');
  const patched = text.replace(/^ExecStart=\/usr\/bin\/odoo-heal /m, `ExecStart=${join(ROOT, 'bin', 'odoo-heal')} `);
  const diff = text.split('\n').filter((l, i) => l !== patched.split('\n')[i]);
  expect(diff).toEqual(['ExecStart=/usr/bin/odoo-heal --auto --config /etc/odoo-heal/config.yaml']);
  const path = join(dir, 'odoo-auto-heal.service');
  writeFileSync(path, patched);
  return path;
}

function directives(): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of readFileSync(UNIT, 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) map.set(m[1]!, [...(map.get(m[1]!) ?? []), m[2]!]);
  }
  return map;
}

describe('deploy/odoo-auto-heal.service', () => {
  it('has what issue 5 asks for', () => {
    const d = directives();
    const one = (k: string) => d.get(k)?.join(' ');
    expect(one('Type')).toBe('notify');
    expect(one('NotifyAccess')).toBe('all');
    expect(one('WatchdogSec')).toBeTruthy();
    expect(one('Restart')).toBe('on-failure');
    expect(one('StartLimitIntervalSec')).toBeTruthy();
    expect(one('StartLimitBurst')).toBeTruthy();
    expect(one('MemoryMax')).toBeTruthy();
    expect(one('CPUQuota')).toBeTruthy();
    expect(one('After')).toMatch(/postgresql\.service.*odoo\.service/);
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('RestrictAddressFamilies')).toBe('AF_UNIX AF_INET AF_INET6');
    expect(one('CapabilityBoundingSet')).toBe('CAP_CHOWN CAP_FOWNER');
    expect(one('User')).toBe('odoo-heal');
    expect(one('ExecStart')).toMatch(/ --auto /);
    expect(one('StandardOutput')).toBe('journal');
  });

  it.skipIf(!haveAnalyze)('passes `systemd-analyze verify`', () => {
    const r = spawnSync('systemd-analyze', ['verify', unitUnderTest()], { encoding: 'utf8', cwd: dir });
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!haveAnalyze)('scores OK (below 3.0) in `systemd-analyze security --offline=yes`, as docs/systemd.md reports', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unitUnderTest()], { encoding: 'utf8', cwd: dir });
    const m = /Overall exposure level for odoo-auto-heal\.service: (\d+\.\d)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    const score = Number(m![1]);
    expect(score).toBeLessThan(3);
    expect(readFileSync(join(ROOT, 'docs', 'systemd.md'), 'utf8')).toContain(`exposure level ${score.toFixed(1)}`);
  });
});

describe('deploy/polkit/50-odoo-heal.rules', () => {
  type Rule = (action: { id: string; lookup(k: string): string | undefined }, subject: { user: string }) => unknown;
  const rules: Rule[] = [];
  const polkit = { Result: { YES: 'yes', NO: 'no', NOT_HANDLED: null }, addRule: (f: Rule) => rules.push(f) };
  new Function('polkit', readFileSync(join(ROOT, 'deploy', 'polkit', '50-odoo-heal.rules'), 'utf8'))(polkit);
  const ask = (user: string, unit: string, verb: string, id = 'org.freedesktop.systemd1.manage-units') =>
    rules[0]!({ id, lookup: (k) => ({ unit, verb })[k as 'unit' | 'verb'] }, { user });

  it('allows odoo-heal to restart the four services', () => {
    for (const unit of ['postgresql.service', 'odoo.service', 'redis-server.service', 'nginx.service']) expect(ask('odoo-heal', unit, 'restart')).toBe('yes');
  });

  it('leaves everything else to the default policy', () => {
    expect(ask('odoo-heal', 'odoo.service', 'stop')).toBeNull();
    expect(ask('odoo-heal', 'sshd.service', 'restart')).toBeNull();
    expect(ask('www-data', 'odoo.service', 'restart')).toBeNull();
    expect(ask('odoo-heal', 'odoo.service', 'restart', 'org.freedesktop.systemd1.manage-unit-files')).toBeNull();
  });
});

describe('deploy/sudoers.d/odoo-heal', () => {
  it('grants only `systemctl restart <unit>` for the four units, without a password', () => {
    const text = readFileSync(join(ROOT, 'deploy', 'sudoers.d', 'odoo-heal'), 'utf8');
    const commands = [...text.matchAll(/^\s+(\/usr\/bin\/systemctl [^,\n]+?)(?:, \\|$)/gm)].map((m) => m[1]);
    expect(commands).toEqual(['postgresql', 'odoo', 'redis-server', 'nginx'].map((u) => `/usr/bin/systemctl restart ${u}.service`));
    expect(text).toMatch(/^odoo-heal ALL=\(root\) NOPASSWD: ODOO_HEAL_RESTART$/m);
  });
});
