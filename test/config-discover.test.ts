import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { discoverOdooConf, findOdooProcesses, parseOdooCmdline } from '../src/engine/config/discover.js';

let dir: string;
let proc: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'odoo-heal-discover-'));
  proc = join(dir, 'proc');
  mkdirSync(proc);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A fake /proc/<pid> with the given argv (NUL-separated, like the kernel writes it). */
function fakeProcess(pid: number, argv: string[], extra: { cwd?: string; environ?: string[] } = {}): void {
  const p = join(proc, String(pid));
  mkdirSync(p);
  writeFileSync(join(p, 'cmdline'), `${argv.join('\0')}\0`);
  if (extra.cwd) symlinkSync(extra.cwd, join(p, 'cwd'));
  if (extra.environ) writeFileSync(join(p, 'environ'), `${extra.environ.join('\0')}\0`);
}

function conf(name: string, port: number): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, `[options]\nhttp_port = ${port}\n`);
  return p;
}

describe('parseOdooCmdline', () => {
  test.each([
    [['/opt/odoo/odoo-bin', '-c', '/etc/odoo/odoo.conf'], '/etc/odoo/odoo.conf', false],
    [['/usr/bin/python3', '/usr/bin/odoo', '--config=/etc/odoo/odoo.conf', '--logfile', '/var/log/odoo/odoo.log'], '/etc/odoo/odoo.conf', false],
    [['python3', '-u', '-m', 'odoo', '--config', 'rel.conf'], 'rel.conf', false],
    [['/usr/bin/python3', '/opt/odoo/odoo-bin', '-c/etc/o.conf', '-u', 'sale', '--stop-after-init'], '/etc/o.conf', true],
    [['odoo-bin', 'shell', '-c', 'x.conf'], 'x.conf', true],
    [['/usr/bin/openerp-server'], null, false],
  ])('%j', (argv, config, transient) => {
    expect(parseOdooCmdline(argv)).toMatchObject({ configArg: config, transient });
  });

  test.each([
    [['vim', '/etc/odoo/odoo.conf']],
    [['/usr/bin/python3', 'manage.py', 'odoo-bin']],
    [['less', 'odoo-bin']],
    [['grep', '-r', 'odoo']],
  ])('not Odoo: %j', (argv) => {
    expect(parseOdooCmdline(argv)).toBeNull();
  });
});

describe('discoverOdooConf with a fake /proc', () => {
  test('explicit path beats running processes; running process beats candidates; candidates in order', () => {
    const fromProc = conf('proc.conf', 1001);
    const first = conf('etc/odoo/odoo.conf', 1002);
    const second = conf('etc/odoo.conf', 1003);
    const explicit = conf('explicit.conf', 1004);
    fakeProcess(100, ['/usr/bin/python3', '/usr/bin/odoo', '--config', fromProc]);
    const missing = join(dir, 'missing.conf');

    expect(discoverOdooConf({ explicit, procRoot: proc, candidates: [first] })).toMatchObject({ source: 'explicit', odoo: { httpPort: 1004 } });
    expect(discoverOdooConf({ procRoot: proc, candidates: [first] })).toMatchObject({ source: 'process', pid: 100, odoo: { path: fromProc, httpPort: 1001 }, warnings: [] });
    const empty = join(dir, 'noproc');
    mkdirSync(empty);
    expect(discoverOdooConf({ procRoot: empty, candidates: [missing, first, second] })).toMatchObject({ source: 'candidate', odoo: { path: first } });
    expect(discoverOdooConf({ procRoot: empty, candidates: [missing, second] })).toMatchObject({ source: 'candidate', odoo: { path: second } });
  });

  test('nothing found: Odoo defaults with path null and a warning, not an error', () => {
    const r = discoverOdooConf({ procRoot: proc, candidates: [join(dir, 'a.conf')] });
    expect(r.source).toBe('none');
    expect(r.odoo.path).toBeNull();
    expect(r.odoo.httpPort).toBe(8069);
    expect(r.warnings).toEqual([`no odoo.conf found (no running Odoo with -c, none of ${join(dir, 'a.conf')}); using Odoo's defaults`]);
  });

  test('a relative -c is resolved against /proc/<pid>/cwd, and so are relative paths inside it', () => {
    const work = join(dir, 'srv');
    mkdirSync(work);
    writeFileSync(join(work, 'dev.conf'), '[options]\nlogfile = odoo.log\n');
    fakeProcess(300, ['python3', '-m', 'odoo', '-c', 'dev.conf'], { cwd: work });
    const r = discoverOdooConf({ procRoot: proc, candidates: [] });
    expect(r).toMatchObject({ source: 'process', pid: 300, odoo: { path: join(work, 'dev.conf'), logfile: join(work, 'odoo.log') } });
    expect(r.warnings).toEqual([]);
  });

  test('servers are preferred over transient runs; ODOO_RC from the environment counts; several configs warn', () => {
    const a = conf('a.conf', 2001);
    const b = conf('b.conf', 2002);
    const c = conf('c.conf', 2003);
    fakeProcess(50, ['odoo-bin', '-c', a, '-u', 'all', '--stop-after-init']);
    fakeProcess(120, ['/usr/bin/odoo'], { environ: ['HOME=/var/lib/odoo', `ODOO_RC=${b}`] });
    fakeProcess(130, ['/opt/odoo/odoo-bin', '-c', c]);
    fakeProcess(140, ['vim', a]);
    fakeProcess(141, ['/opt/odoo/odoo-bin', '-c', c]); // a prefork worker: same config, no extra warning
    const r = discoverOdooConf({ procRoot: proc, candidates: [] });
    expect(r).toMatchObject({ source: 'process', pid: 120, odoo: { path: b } });
    expect(r.warnings).toEqual([
      `several Odoo instances run with different configs: ${b} (pid 120), ${c} (pid 130), ${a} (pid 50); using the first (pass --odoo-config to choose)`,
    ]);
  });

  test('the user Odoo runs as comes from /proc/<pid>/status and passwd; http_interface is reported', () => {
    const c = join(dir, 'iface.conf');
    writeFileSync(c, '[options]\nxmlrpc_interface = 10.1.2.3\n');
    fakeProcess(77, ['/usr/bin/odoo', '-c', c]);
    writeFileSync(join(proc, '77', 'status'), 'Name:\todoo\nUid:\t999\t999\t999\t999\nGid:\t999\t999\t999\t999\n');
    const passwd = join(dir, 'passwd');
    writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\nodoo:x:999:999::/var/lib/odoo:/usr/sbin/nologin\n');
    const r = discoverOdooConf({ procRoot: proc, candidates: [], passwdPath: passwd });
    expect(r).toMatchObject({ source: 'process', pid: 77, user: 'odoo', httpInterface: '10.1.2.3' });
    // Without a readable status the user is unknown, not guessed.
    rmSync(join(proc, '77', 'status'));
    expect(discoverOdooConf({ procRoot: proc, candidates: [], passwdPath: passwd }).user).toBeNull();
  });

  test('a process config that vanished is skipped with a warning', () => {
    const gone = join(dir, 'gone.conf');
    const fallback = conf('fallback.conf', 3000);
    fakeProcess(10, ['odoo-bin', '-c', gone]);
    const r = discoverOdooConf({ procRoot: proc, candidates: [fallback] });
    expect(r).toMatchObject({ source: 'candidate', odoo: { path: fallback } });
    expect(r.warnings).toEqual([`Odoo process 10 uses ${gone}, which does not exist (deleted?)`]);
  });

  test.skipIf(process.getuid?.() === 0)('an unreadable candidate (odoo.conf is often 640 odoo:odoo) warns and discovery goes on', () => {
    const locked = conf('locked.conf', 4000);
    chmodSync(locked, 0o000);
    const next = conf('next.conf', 4001);
    const r = discoverOdooConf({ procRoot: proc, candidates: [locked, next] });
    expect(r).toMatchObject({ source: 'candidate', odoo: { path: next, httpPort: 4001 } });
    expect(r.warnings).toEqual([`${locked}: odoo.conf: cannot read (permission denied); run as root or the Odoo user, or pass --odoo-config`]);
  });

  test('a broken discovered odoo.conf is an error naming file and key', () => {
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, '[options]\nworkers = lots\n');
    fakeProcess(10, ['odoo-bin', '-c', bad]);
    expect(() => discoverOdooConf({ procRoot: proc, candidates: [] })).toThrow(`${bad}: workers: expected an integer >= 0, got "lots"`);
  });
});

describe('discoverOdooConf with the real /proc', () => {
  let child: ChildProcess | null = null;
  afterEach(() => {
    // The child leads its own process group: kill the shell and its sleep together.
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    child = null;
  });

  async function waitForCmdline(pid: number, needle: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) return;
      } catch {
        /* not there yet */
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`process ${pid} never showed ${needle}`);
  }

  test('finds `odoo-bin -c <relative conf>` of a real running process via its cwd', async () => {
    const script = join(dir, 'odoo-bin');
    writeFileSync(script, 'sleep 30\n');
    writeFileSync(join(dir, 'odoo.conf'), '[options]\nhttp_port = 18069\ndb_port = 55432\n');
    child = spawn('sh', [script, '-c', 'odoo.conf'], { cwd: dir, detached: true, stdio: 'ignore' });
    const pid = child.pid;
    if (pid === undefined) throw new Error('spawn failed');
    await waitForCmdline(pid, 'odoo-bin');

    // The real /proc: our process is recognised among whatever else runs on this machine.
    expect(findOdooProcesses()).toContainEqual(expect.objectContaining({ pid, configArg: 'odoo.conf', transient: false }));
    // Other tests may run Odoo look-alikes in parallel, so discovery looks at a proc root that holds
    // only our process — a symlink to its real /proc entry (real cmdline, cwd and status).
    symlinkSync(`/proc/${pid}`, join(proc, String(pid)));
    const r = discoverOdooConf({ procRoot: proc, candidates: [] });
    expect(r.source).toBe('process');
    expect(r.odoo.path).toBe(join(dir, 'odoo.conf'));
    expect(r.odoo.httpPort).toBe(18069);
    expect(r.odoo.dbPort).toBe(55432);
    // The real uid of the child is ours; /etc/passwd names it.
    const me = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[2] === String(process.getuid?.()))?.[0];
    expect(r.user).toBe(me ?? null);
  });
});
