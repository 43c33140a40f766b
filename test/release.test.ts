// `npm run release` end to end: the tarball and the .deb are built, the .deb is installed on this
// machine, and odoo-heal runs from it as its service user with no Node.js on PATH (the bundled
// runtime, the bundled patterns and the wasm kernel); systemd-analyze accepts the unit; a changed
// config survives an upgrade; purge removes everything. Needs root, dpkg and x86-64 Linux.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from './helpers/auto-sandbox.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const DEB = join(ROOT, 'build', 'release', `odoo-heal_${VERSION}_amd64.deb`);
const TARBALL = join(ROOT, 'build', 'release', `odoo-heal-${VERSION}-linux-x64.tar.gz`);

function why(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'the artifact is for x86-64 Linux';
  if (process.getuid?.() !== 0) return 'installing a .deb needs root';
  if (spawnSync('sh', ['-c', 'command -v dpkg-deb && command -v dpkg && command -v runuser'], { stdio: 'ignore' }).status !== 0) return 'dpkg or runuser not found';
  const installed = spawnSync('dpkg-query', ['-W', '-f=${Status}', 'odoo-heal'], { encoding: 'utf8' });
  if (installed.stdout.includes('installed')) return 'an odoo-heal package is already installed on this machine; not touching it';
  return null;
}
const skip = why();

/** Runs with nothing of the caller's environment: PATH has no node. */
function bare(cmd: string, args: string[], asUser: string | null = null, cwd = '/'): SpawnSyncReturns<string> {
  const env = ['env', '-i', 'PATH=/nonexistent', 'HOME=/var/lib/odoo-heal', cmd, ...args];
  const argv = asUser ? ['runuser', '-u', asUser, '--', ...env] : env;
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd, timeout: 60_000 });
}

describe.skipIf(skip !== null)(`release artifact and .deb${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'odoo-heal-release-'));
  afterAll(() => {
    // Never leave the package behind, whatever failed.
    spawnSync('dpkg', ['--purge', 'odoo-heal'], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  });

  it('builds, installs, runs without Node on PATH, keeps a changed config on upgrade, and purges cleanly', () => {
    ensureBuilt();
    const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'release.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 15 * 60_000 });
    expect(built.stderr).not.toMatch(/release:/);
    expect(built.status).toBe(0);
    expect(existsSync(TARBALL)).toBe(true);
    expect(existsSync(DEB)).toBe(true);

    // The tarball runs from wherever it is unpacked.
    expect(spawnSync('tar', ['-xzf', TARBALL, '-C', work]).status).toBe(0);
    // Its launcher resolves its own path (readlink, dirname): PATH holds those two and no node.
    const tools = join(work, 'tools');
    mkdirSync(tools);
    for (const t of ['readlink', 'dirname']) symlinkSync(spawnSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).stdout.trim(), join(tools, t));
    const tarRun = spawnSync(join(work, `odoo-heal-${VERSION}-linux-x64`, 'bin', 'odoo-heal'), ['--version'], { encoding: 'utf8', env: { PATH: tools } });
    expect(tarRun.stderr).toBe('');
    expect(tarRun.stdout.trim()).toBe(VERSION);

    const install = spawnSync('dpkg', ['-i', DEB], { encoding: 'utf8' });
    expect(install.stderr).not.toMatch(/error/i);
    expect(install.status).toBe(0);
    expect(spawnSync('id', ['-u', 'odoo-heal']).status).toBe(0);
    for (const f of ['/usr/bin/odoo-heal', '/lib/systemd/system/odoo-auto-heal.service', '/usr/share/polkit-1/rules.d/50-odoo-heal.rules', '/usr/share/doc/odoo-heal/examples/sudoers.odoo-heal', '/etc/odoo-heal/config.yaml']) {
      expect(existsSync(f), f).toBe(true);
    }

    const version = bare('/usr/bin/odoo-heal', ['--version'], 'odoo-heal');
    expect(version.stdout.trim()).toBe(VERSION);

    // check --json as the service user: the versioned document, whatever this machine's state.
    const check = bare('/usr/bin/odoo-heal', ['check', '--json', '--timeout', '8000'], 'odoo-heal');
    const report = JSON.parse(check.stdout) as { format: string; exitCode: number };
    expect(report.format).toBe('odoo-heal/check@1');
    expect(check.status).toBe(report.exitCode);

    // detect with the bundled patterns and the wasm kernel, on a real Odoo 18 log.
    const log = join(work, 'cron_deprecated_field.log');
    copyFileSync(join(ROOT, 'test', 'fixtures', 'logs', 'cron_deprecated_field.log'), log);
    chmodSync(work, 0o755);
    chmodSync(log, 0o644);
    const detect = bare('/usr/bin/odoo-heal', ['detect', '--json', log], 'odoo-heal');
    // stderr may carry this machine's config warnings (e.g. several Odoo instances), never an error.
    expect(detect.stderr).not.toMatch(/error|cannot|failed/i);
    const found = JSON.parse(detect.stdout) as { format: string; incidents: Array<{ patternId: string | null }> };
    expect(found.format).toBe('odoo-heal/detect@1');
    expect(found.incidents.map((i) => i.patternId)).toContain('cron-deprecated-fields');

    const verify = spawnSync('systemd-analyze', ['verify', '/lib/systemd/system/odoo-auto-heal.service'], { encoding: 'utf8' });
    if (verify.error === undefined) {
      expect(`${verify.stdout}${verify.stderr}`.trim()).toBe('');
      expect(verify.status).toBe(0);
    }

    // An admin's change to the config survives an upgrade (a conffile), then purge removes all.
    appendFileSync('/etc/odoo-heal/config.yaml', '\n# changed by the admin\n');
    expect(spawnSync('dpkg', ['-i', '--force-confold', DEB], { encoding: 'utf8' }).status).toBe(0);
    expect(readFileSync('/etc/odoo-heal/config.yaml', 'utf8')).toContain('# changed by the admin');

    const purge = spawnSync('dpkg', ['--purge', 'odoo-heal'], { encoding: 'utf8' });
    expect(purge.status).toBe(0);
    for (const f of ['/usr/bin/odoo-heal', '/usr/lib/odoo-heal', '/etc/odoo-heal', '/var/lib/odoo-heal', '/lib/systemd/system/odoo-auto-heal.service']) {
      expect(existsSync(f), f).toBe(false);
    }
    expect(spawnSync('id', ['-u', 'odoo-heal']).status).not.toBe(0);
  }, 20 * 60_000);
});
