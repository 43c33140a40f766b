// Issue 11 item 5: Odoo's user owns the log directory and can put a FIFO (or a socket, or a device
// link) where the logfile should be. A blocking open() of a FIFO never returns, and Node cannot even
// exit while a thread of its pool is stuck in it: `check`, `detect` and `fix --log` hung forever
// and cron/CI jobs piled up. Each is run here against what an attacker would plant, with a kill
// timer: a hang fails the test instead of hanging it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileFollower, type FollowError } from '../../src/engine/logs/follow-file.js';
import { readTail } from '../../src/engine/logs/tail.js';
import { ensureBuilt, ROOT } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'oh-fifo-'));
const fifo = join(dir, 'odoo-server.log');
const sock = join(dir, 'odoo-socket.log');
const zero = join(dir, 'odoo-zero.log');
let server: Server;

beforeAll(async () => {
  ensureBuilt(['src/cli/main.ts', 'src/engine/logs/open-log.ts', 'src/engine/logs/read-records.ts', 'src/engine/patterns/scan.ts', 'src/engine/run/health.ts']);
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  symlinkSync('/dev/zero', zero);
  server = createServer();
  await new Promise<void>((r) => server.listen(sock, r));
}, 120_000);
afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI; kills it after `killMs` (then `killed` is true). */
function cli(args: string[], killMs = 20_000): Promise<{ code: number | null; killed: boolean; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'odoo-heal'), ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, killMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, killed, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end();
  });
}

describe('a FIFO, socket or device at the log path', () => {
  it('detect refuses each in one line naming the file, exit 3 (UNKNOWN), without hanging', async () => {
    for (const [path, what] of [
      [fifo, 'a FIFO'],
      [zero, 'a character device'],
      ['/dev/zero', 'a character device'],
    ] as const) {
      const r = await cli(['detect', path]);
      expect(r.killed, path).toBe(false);
      expect(r.code, path).toBe(3);
      expect(r.stderr).toContain(`${path}: cannot read log: ${what}, not a regular file: refused`);
    }
    const s = await cli(['detect', sock]);
    expect(s.killed).toBe(false);
    expect(s.code).toBe(3);
    expect(s.stderr).toContain(`${sock}: cannot read log:`);
  });

  it('detect on the configured sources (odoo.conf logfile = FIFO) does not hang', async () => {
    const conf = join(dir, 'odoo.conf');
    writeFileSync(conf, `[options]\nlogfile = ${fifo}\ndb_host = 127.0.0.1\ndb_port = 1\n`);
    const cfg = join(dir, 'heal.yaml');
    writeFileSync(cfg, `services: []\nendpoints: []\nlogs:\n  commands: []\n  postgres: []\npaths:\n  stateDir: ${join(dir, 'state')}\n`);
    const r = await cli(['detect', '--odoo-config', conf, '--config', cfg]);
    expect(r.killed).toBe(false);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('a FIFO, not a regular file: refused');

    const fix = await cli(['fix', '--log', fifo, '--odoo-config', conf, '--config', cfg]);
    expect(fix.killed).toBe(false);
    expect(fix.code).not.toBe(0);
    expect(fix.stderr).toContain(`${fifo}: cannot read log: a FIFO, not a regular file: refused`);
  }, 60_000);

  it('check with the logfile a FIFO answers within its budget and exits', async () => {
    const conf = join(dir, 'odoo-check.conf');
    writeFileSync(conf, `[options]\nlogfile = ${fifo}\ndb_host = 127.0.0.1\ndb_port = 1\nhttp_port = 1\n`);
    const cfg = join(dir, 'heal-check.yaml');
    writeFileSync(cfg, `services: []\nendpoints: []\nlogs:\n  commands: []\n  postgres: []\nprobes:\n  timeoutMs: 1000\npaths:\n  stateDir: ${join(dir, 'state')}\n`);
    const r = await cli(['check', '--odoo-config', conf, '--config', cfg, '--timeout', '3000']);
    expect(r.killed).toBe(false);
    expect(r.ms).toBeLessThan(15_000);
    expect(r.stdout + r.stderr).toContain('a FIFO, not a regular file: refused');
  }, 60_000);

  it('the follower reports the FIFO and stops cleanly; readTail refuses it', async () => {
    const errors: FollowError[] = [];
    const f = new FileFollower(fifo, { onLines: () => {}, onError: (e) => errors.push(e), start: 'start', pollMs: 50 });
    await f.start();
    const until = Date.now() + 5000;
    while (errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await f.stop();
    // The follower stats the path first (ENOTFILE); a swap between that and the open is refused by
    // the open itself (ENOTREG), never waited on.
    expect(['ENOTFILE', 'ENOTREG']).toContain(errors[0]!.code);
    expect(errors[0]!.message).toContain('not a regular file');
    await expect(readTail(fifo, 4096)).rejects.toThrow('a FIFO, not a regular file: refused');
  });
});
