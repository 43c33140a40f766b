import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOdooScanner, createProcessProbe, parseOdooCommand, type ProcessData } from '../src/engine/probes/process.js';
import { runProbe } from '../src/engine/probes/run.js';
import { testConfig, testCtx, testOdoo } from './helpers/config.js';
import { createFakeOdoo, type FakeOdoo } from './helpers/probes-fake-odoo.js';

describe('parseOdooCommand', () => {
  it('recognises the ways Odoo is started and nothing else', () => {
    expect(parseOdooCommand(['/usr/bin/python3', '/usr/bin/odoo', '-c', '/etc/odoo/odoo.conf'])).toMatchObject({ kind: 'server', config: '/etc/odoo/odoo.conf' });
    expect(parseOdooCommand(['/opt/odoo/odoo-bin', '--config=/a.conf', '--workers', '4'])).toMatchObject({ kind: 'server', config: '/a.conf', workers: 4 });
    expect(parseOdooCommand(['python3.11', '-u', '-m', 'odoo', 'server', '-c/x.conf', '--max-cron-threads=1'])).toMatchObject({ kind: 'server', config: '/x.conf', maxCronThreads: 1 });
    expect(parseOdooCommand(['/usr/bin/python3', '/usr/bin/odoo', 'gevent', '-c', '/etc/odoo/odoo.conf'])).toMatchObject({ kind: 'gevent' });
    expect(parseOdooCommand(['python3', 'odoo-bin', 'shell', '-d', 'db'])).toMatchObject({ kind: 'tool' });
    expect(parseOdooCommand(['odoo', '-u', 'sale', '--stop-after-init'])).toMatchObject({ kind: 'tool' });
    expect(parseOdooCommand(['/usr/bin/python3', '/opt/openerp/openerp-server'])).toMatchObject({ kind: 'server', config: null });
    expect(parseOdooCommand(['odoo: WorkerHTTP 4242 127.0.0.1'])).toEqual({ kind: 'titled', title: 'WorkerHTTP' });
    expect(parseOdooCommand(['odoo:', 'WorkerCron', '4243', ''])).toEqual({ kind: 'titled', title: 'WorkerCron' });
    expect(parseOdooCommand(['tail', '-f', '/var/log/odoo/odoo-bin.log'])).toBeNull();
    expect(parseOdooCommand(['vim', 'odoo-bin'])).toBeNull();
    expect(parseOdooCommand(['python3', '-c', 'import odoo'])).toBeNull();
    expect(parseOdooCommand(['python3', 'manage.py', 'odoo'])).toBeNull();
    expect(parseOdooCommand([])).toBeNull();
  });
});

describe('process probe on real processes', () => {
  let fake: FakeOdoo;
  beforeEach(() => {
    fake = createFakeOdoo();
  });
  afterEach(() => fake.cleanup());

  it('reports Odoo not running when no server uses our odoo.conf', async () => {
    const probe = createProcessProbe();
    const r = await runProbe(probe, testCtx(testConfig(), testOdoo({ path: fake.conf })), 5000);
    expect(r.status).toBe('critical');
    expect(r.findings.map((f) => f.key)).toEqual(['down']);
    expect((r.data as ProcessData).mode).toBe('stopped');
  });

  it('does not take an Odoo started with another odoo.conf for ours, but names it', async () => {
    const { proc } = await fake.start('threaded');
    const r = await runProbe(createProcessProbe(), testCtx(testConfig(), testOdoo({ path: `${fake.dir}/other.conf` })), 5000);
    expect(r.findings.map((f) => f.key)).toEqual(['down']);
    expect((r.data as ProcessData).otherInstances).toContain(proc.pid);
    expect(r.findings[0]!.detail).toContain(`pid ${proc.pid} (-c ${fake.conf})`);
    // Without a known odoo.conf, any Odoo server is ours.
    const any = await runProbe(createProcessProbe(), testCtx(testConfig(), testOdoo({ path: null })), 5000);
    expect((any.data as ProcessData).main).not.toBeNull();
  });

  it('finds a threaded Odoo with CPU, RSS and uptime, and measures CPU between runs', async () => {
    const { proc } = await fake.start('threaded');
    const ctx = testCtx(testConfig(), testOdoo({ path: fake.conf, workers: 0 }));
    // maxAgeMs 0: every run rescans, as two rounds of the console would.
    const probe = createProcessProbe({ scanner: createOdooScanner({ maxAgeMs: 0 }) });
    const first = await runProbe(probe, ctx, 5000);
    const d = first.data as ProcessData;
    expect(first.status).toBe('ok');
    expect(d.mode).toBe('threaded');
    expect(d.main?.pid).toBe(proc.pid);
    expect(d.configPath).toBe(fake.conf);
    // Cross-check with the kernel's own numbers for that pid.
    const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    expect(d.main!.rssBytes).toBeGreaterThan(1024 * 1024);
    expect(Math.abs(d.main!.rssBytes - rssKb * 1024)).toBeLessThan(32 * 1024 * 1024);
    const etimes = Number(execFileSync('ps', ['-o', 'etimes=', '-p', String(proc.pid)], { encoding: 'utf8' }).trim());
    expect(Math.abs(d.main!.uptimeSeconds - etimes)).toBeLessThanOrEqual(2);
    expect(d.main!.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(d.workers).toEqual([]);

    proc.stdin!.write('burn\n');
    await fake.next(proc);
    const second = await runProbe(probe, ctx, 5000);
    const d2 = second.data as ProcessData;
    // It burnt 300 ms of CPU between the two runs (an idle process shows ~0): the delta must show
    // it, whatever the wall-clock interval was on a busy host.
    expect(d2.main!.cpuPercent).toBeGreaterThan(1);
    expect(d2.restarts).toBe(0);
  });

  it('recognises a prefork master, classifies workers, flags missing ones, counts respawns and restarts', async () => {
    const ctx = testCtx(testConfig(), testOdoo({ path: fake.conf, workers: 2, maxCronThreads: 1 }));
    const { proc: master, first } = await fake.start('master', { children: ['WorkerHTTP', 'WorkerCron', 'gevent'] });
    const children = first.children as number[];
    expect(children).toHaveLength(3);
    const probe = createProcessProbe({ scanner: createOdooScanner({ maxAgeMs: 0 }) });

    const r1 = await runProbe(probe, ctx, 5000);
    const d1 = r1.data as ProcessData;
    expect(d1.mode).toBe('prefork');
    expect(d1.main?.pid).toBe(master.pid);
    expect(d1.titled).toBe(true);
    expect(d1.counts).toEqual({ http: 1, cron: 1, untitled: 0, gevent: 1 });
    expect(d1.workers.map((w) => w.pid).sort()).toEqual([...children].sort());
    expect(d1.workers.every((w) => w.ppid === master.pid && w.rssBytes > 0)).toBe(true);
    // odoo.conf asks for 2 HTTP workers, one runs.
    expect(r1.status).toBe('warning');
    expect(r1.findings.map((f) => f.key)).toEqual(['workers']);
    expect(r1.findings[0]!.title).toBe('1 of 2 HTTP workers running');

    // A worker dies; the master replaces it.
    const httpPid = d1.workers.find((w) => w.role === 'http')!.pid;
    process.kill(httpPid, 'SIGKILL');
    const respawn = await fake.next(master);
    expect(respawn.respawned).toBeTypeOf('number');
    const r2 = await runProbe(probe, ctx, 5000);
    const d2 = r2.data as ProcessData;
    expect(d2.workersRespawned).toBe(1);
    expect(d2.restarts).toBe(0);
    expect(d2.workers.some((w) => w.pid === httpPid)).toBe(false);

    // Odoo restarts: a new master pid.
    master.stdin!.end();
    master.kill('SIGKILL');
    await new Promise((r) => master.once('exit', r));
    const { proc: master2 } = await fake.start('master', { children: ['plain', 'plain', 'plain-cron', 'gevent'] });
    const r3 = await runProbe(probe, ctx, 5000);
    const d3 = r3.data as ProcessData;
    expect(d3.main?.pid).toBe(master2.pid);
    expect(d3.restarts).toBe(1);
    expect(d3.lastRestartAt).not.toBeNull();
    // Untitled workers (no setproctitle): the one niced by 10 above its master is the cron worker.
    expect(d3.titled).toBe(false);
    expect(d3.counts).toEqual({ http: 2, cron: 1, untitled: 0, gevent: 1 });
    expect(d3.workers.filter((w) => w.role === 'cron')).toHaveLength(1);
    expect(r3.status).toBe('ok');
  });

  it('notices on the next round a process that exec()s into Odoo under the same pid (wrapper scripts do)', async () => {
    // The official Odoo image's entrypoint waits for PostgreSQL, then `exec odoo ...`: same pid and
    // start time, new command line. The scanner must not keep calling it "not Odoo".
    const wrapper = spawn('bash', ['-c', 'read -r _; exec -a python3 "$0" "$@"', process.execPath, fake.script, '-c', fake.conf], {
      env: { ...process.env, FAKE_ODOO: 'threaded' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      const ctx = testCtx(testConfig(), testOdoo({ path: fake.conf, workers: 0 }));
      // maxAgeMs 0: every run is a new round; the full re-read of every command line stays far away.
      const probe = createProcessProbe({ scanner: createOdooScanner({ maxAgeMs: 0, fullEveryMs: 3_600_000 }) });
      const before = await runProbe(probe, ctx, 5000);
      expect((before.data as ProcessData).mode).toBe('stopped');
      const ready = new Promise((r) => wrapper.stdout.once('data', r));
      wrapper.stdin.write('\n');
      await ready;
      const after = await runProbe(probe, ctx, 5000);
      expect((after.data as ProcessData).main?.pid).toBe(wrapper.pid);
      expect(after.status).toBe('ok');
    } finally {
      wrapper.stdin.end();
      wrapper.kill('SIGKILL');
    }
  });

  // The real interpreter (not a pyenv/asdf shim script), or null when the host has no Python.
  const python = (() => {
    try {
      return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim() || null;
    } catch {
      return null;
    }
  })();

  it.skipIf(python === null)('notices a python3 launcher that exec()s python3 odoo-bin (same pid, same comm)', async () => {
    const odooBin = join(fake.dir, 'py', 'odoo-bin');
    mkdirSync(join(fake.dir, 'py'));
    writeFileSync(odooBin, "import sys\nprint('ready', flush=True)\nsys.stdin.read()\n");
    const launcher = spawn(
      python!,
      ['-c', 'import os, sys; sys.stdin.readline(); os.execv(sys.executable, [sys.executable] + sys.argv[1:])', odooBin, '-c', fake.conf],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      const ctx = testCtx(testConfig(), testOdoo({ path: fake.conf, workers: 0 }));
      const probe = createProcessProbe({ scanner: createOdooScanner({ maxAgeMs: 0, fullEveryMs: 3_600_000 }) });
      const commBefore = readFileSync(`/proc/${launcher.pid}/comm`, 'utf8');
      expect((await runProbe(probe, ctx, 5000)).findings.map((f) => f.key)).toEqual(['down']);
      const ready = new Promise((r) => launcher.stdout.once('data', r));
      launcher.stdin.write('\n');
      await ready;
      expect(readFileSync(`/proc/${launcher.pid}/comm`, 'utf8')).toBe(commBefore);
      const after = await runProbe(probe, ctx, 5000);
      expect((after.data as ProcessData).main?.pid).toBe(launcher.pid);
    } finally {
      launcher.stdin.end();
      launcher.kill('SIGKILL');
    }
  });

  it('takes --workers from the command line over odoo.conf and flags a missing gevent process', async () => {
    const ctx = testCtx(testConfig(), testOdoo({ path: fake.conf, workers: 0, maxCronThreads: 0 }));
    await fake.start('master', { children: ['WorkerHTTP'], extraArgs: ['--workers=2', '--max-cron-threads=0'] });
    const r = await runProbe(createProcessProbe(), ctx, 5000);
    expect((r.data as ProcessData).expected).toEqual({ http: 2, cron: 0, gevent: true });
    expect(r.findings.map((f) => f.key).sort()).toEqual(['gevent', 'workers']);
  });

  it('warns when a worker is near limit_memory_soft (virtual size, as Odoo measures)', async () => {
    // Any node process maps far more than 1 MiB of virtual memory.
    const ctx = testCtx(testConfig(), testOdoo({ path: fake.conf, workers: 1, maxCronThreads: 0, limitMemorySoft: 1024 * 1024 }));
    await fake.start('master', { children: ['WorkerHTTP', 'gevent'] });
    const r = await runProbe(createProcessProbe(), ctx, 5000);
    expect(r.findings.map((f) => f.key)).toEqual(['memory-soft']);
    expect(r.findings[0]!.detail).toMatch(/^pid \d+ \(http\) uses/);
  });
});
