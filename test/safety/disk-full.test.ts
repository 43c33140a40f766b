// Issue 11 item 6: a full disk must not defeat the disk-full fix, leave truncated backups or an
// attempt stuck 'running', nor let a failed rollback exit 0. Real small tmpfs mounts (root only) play
// the full filesystems; the CLI runs as an admin would (`fix --yes`, `rollback`).
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, writeSync, readdirSync, readFileSync, rmSync, statfsSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT, runCli } from '../helpers/cli.js';

const isRoot = process.getuid?.() === 0;
const canMount = isRoot && process.platform === 'linux';

const mounts: string[] = [];
function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount tmpfs on ${dir}: ${r.stderr}`);
  mounts.push(dir);
}

/** Fills the filesystem holding `dir` until at most `leave` bytes are free (0: until ENOSPC). */
function fill(dir: string, leave = 0): void {
  const fd = openSync(join(dir, `filler-${mounts.length}-${Date.now()}`), 'w');
  try {
    const chunk = Buffer.alloc(4096, 0x61);
    for (;;) {
      const fs = statfsSync(dir);
      if (leave > 0 && fs.bavail * fs.bsize <= leave) return;
      try {
        writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
        throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}

const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : []);

describe.skipIf(!canMount)(`a full disk (tmpfs mounts; root only)${canMount ? '' : ' (skipped: mounting tmpfs needs root)'}`, () => {
  let dir: string;
  beforeAll(() => {
    ensureBuilt(['src/fixes/attempts.ts', 'src/cli/commands/fix.ts', 'src/cli/commands/rollback.ts', 'src/engine/state/lock.ts']);
    dir = mkdtempSync(join(tmpdir(), 'odoo-heal-full-'));
  }, 120_000);
  afterAll(() => {
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
    rmSync(dir, { recursive: true, force: true });
  });

  function layout(name: string, opts: { dataOn?: string; stateOn?: string; addonsOn?: string }) {
    const base = join(dir, name);
    const data = join(opts.dataOn ?? base, 'data');
    const state = join(opts.stateOn ?? base, 'state');
    const addons = join(opts.addonsOn ?? base, 'addons');
    for (const d of [data, state, addons]) mkdirSync(d, { recursive: true });
    cpSync(join(ROOT, 'test', 'fixtures', 'legacy_cron'), join(addons, 'legacy_cron'), { recursive: true });
    const odooConf = join(base, 'odoo.conf');
    const yaml = join(base, 'config.yaml');
    writeFileSync(odooConf, `[options]\naddons_path = ${addons}\ndata_dir = ${data}\nlogfile = ${join(base, 'odoo.log')}\n`);
    writeFileSync(yaml, `services: []\nfixes:\n  allowCommands: []\npaths:\n  stateDir: ${state}\n`);
    const cli = (...a: string[]) => runCli([...a, '--config', yaml, '--odoo-config', odooConf]);
    /** Real Odoo 18 records (test/fixtures/logs), paths moved into this layout. */
    const log = (fixture: string): string => {
      const p = join(base, `${fixture}`);
      const text = readFileSync(join(ROOT, 'test', 'fixtures', 'logs', fixture), 'utf8')
        .replaceAll('/tmp/realodoo/custom_addons', addons)
        .replaceAll('/tmp/realodoo/data', data);
      writeFileSync(p, text);
      return p;
    };
    const incidentFor = async (logPath: string, fixId: string): Promise<string> => {
      const r = await cli('fix', '--log', logPath, '--json');
      expect(r.code, r.stderr).toBe(0);
      const inc = (JSON.parse(r.stdout) as { incidents: { id: string; fix: { id: string } }[] }).incidents.find((i) => i.fix.id === fixId);
      expect(inc, r.stdout).toBeDefined();
      return inc!.id;
    };
    return { base, data, state, addons, xml: join(addons, 'legacy_cron', 'data', 'ir_cron_data.xml'), cli, log, incidentFor };
  }

  it('session cleanup frees a full filesystem that also holds the state dir, and records it afterwards', async () => {
    const fs = join(dir, 'fs1');
    mountTmpfs(fs, '4m');
    const l = layout('sessions', { dataOn: fs, stateOn: fs });
    const sessions = join(l.data, 'sessions');
    const old = Date.now() / 1000 - 30 * 86_400;
    for (let i = 0; i < 60; i++) {
      const d = join(sessions, `s${i % 10}`);
      mkdirSync(d, { recursive: true });
      const f = join(d, `s${i % 10}session${i}`);
      writeFileSync(f, Buffer.alloc(16 * 1024, 0x73));
      utimesSync(f, old, old);
    }
    const logPath = l.log('disk_full_filestore.log');
    const id = await l.incidentFor(logPath, 'session-cleanup');
    // odoo-heal ran here before (the disk was not full then: nothing to do, the lock left its reserve).
    const before = await l.cli('fix', '--log', logPath, id, '--yes');
    expect(before.stdout, before.stderr).toMatch(/Not deleting session files/);
    fill(l.data);
    expect(statfsSync(fs).bavail).toBe(0);

    const r = await l.cli('fix', '--log', logPath, id, '--yes');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/verified — verified: deleted 60 expired session file\(s\)/);
    expect(files(sessions).filter((f) => f.includes('session'))).toEqual([]);
    const audit = readFileSync(join(l.state, 'audit.log'), 'utf8').trim().split('\n').map((x) => JSON.parse(x) as { action: string; result: string });
    expect(audit.slice(-2).map((e) => e.action)).toEqual(['planned', 'verified']);
    const v = await l.cli('audit', 'verify');
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });

  it('a cron fix on a nearly full state dir: no truncated backup, the attempt finalized, one line, exit non-zero', async () => {
    const fs = join(dir, 'fs2');
    mountTmpfs(fs, '1m');
    const l = layout('cron', { stateOn: fs });
    // A module data file larger than the room left for its backup (a long comment keeps it valid XML).
    appendFileSync(l.xml, `<!-- ${'padding '.repeat(40_000)} -->\n`);
    const original = readFileSync(l.xml);
    const logPath = l.log('cron_deprecated_field.log');
    const id = await l.incidentFor(logPath, 'cron-deprecated-fields');
    fill(l.state, 120 * 1024);

    const r = await l.cli('fix', '--log', logPath, id, '--yes');
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    const result = r.stdout.split('\n').filter((x) => x.startsWith('Attempt '));
    expect(result).toHaveLength(1);
    expect(result[0]).toMatch(/no space left to back up .*ir_cron_data\.xml \(ENOSPC\); the file was not changed/);
    expect(readFileSync(l.xml).equals(original)).toBe(true);
    expect(files(join(l.state, 'backups')).filter((f) => /partial/.test(f))).toEqual([]);
    const attempts = files(join(l.state, 'attempts')).filter((f) => f.endsWith('.json'));
    expect(attempts).toHaveLength(1);
    const rec = JSON.parse(readFileSync(join(l.state, 'attempts', attempts[0]!), 'utf8')) as { outcome: string };
    expect(rec.outcome).not.toBe('running');
    const audit = readFileSync(join(l.state, 'audit.log'), 'utf8').trim().split('\n').map((x) => JSON.parse(x) as { action: string });
    expect(audit.at(-1)!.action).toBe(rec.outcome);
    const v = await l.cli('audit', 'verify');
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });

  it('a rollback that hits ENOSPC says so and exits non-zero, leaving the file whole', async () => {
    const fs = join(dir, 'fs3');
    mountTmpfs(fs, '1m');
    const l = layout('rollback', { addonsOn: fs });
    const logPath = l.log('cron_deprecated_field.log');
    const id = await l.incidentFor(logPath, 'cron-deprecated-fields');
    const r = await l.cli('fix', '--log', logPath, id, '--yes');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const attempt = /Attempt (a-\d{8}-\d{6}-[0-9a-f]{4})/.exec(r.stdout)![1]!;
    const fixed = readFileSync(l.xml);
    fill(l.addons);

    const rb = await l.cli('rollback', attempt);
    expect(rb.code, rb.stdout + rb.stderr).not.toBe(0);
    expect(rb.stderr).toMatch(/rollback of a-.* FAILED: .*ENOSPC/);
    expect(readFileSync(l.xml).equals(fixed)).toBe(true);
    expect(files(join(l.addons, 'legacy_cron', 'data')).filter((f) => f !== 'ir_cron_data.xml')).toEqual([]);
  });
});
