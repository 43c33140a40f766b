import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock, LOCK_FILE, LockHeldError, processStartTime } from '../../src/engine/state/lock.js';
import { transpileModules, type TranspiledTree } from '../helpers/safety-child.js';

describe('host lock', () => {
  let dir: string;
  let tree: TranspiledTree;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'odoo-heal-lock-'));
    tree = transpileModules(['src/engine/core/durable.ts', 'src/engine/core/space-reserve.ts', 'src/engine/state/lock.ts']);
  });
  afterAll(() => {
    tree.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a second acquire (another process) fails naming the holder; release frees it', async () => {
    const state = join(dir, 's1');
    const lock = await acquireLock(state);
    expect(lock.tookOver).toBeNull();
    const script = join(tree.dir, 'try.mjs');
    writeFileSync(
      script,
      `import { acquireLock } from ${JSON.stringify(tree.js('src/engine/state/lock.ts'))};
       try { const l = await acquireLock(process.argv[2]); console.log('ACQUIRED', JSON.stringify(l.tookOver)); await l.release(); }
       catch (e) { console.log('REFUSED', e.message); }`,
    );
    const run = (): Promise<string> =>
      new Promise((res) => {
        const p = spawn(process.execPath, [script, state], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        p.stdout.on('data', (c: Buffer) => (out += c.toString()));
        p.once('close', () => res(out));
      });
    const refused = await run();
    expect(refused).toMatch(new RegExp(`REFUSED another odoo-heal is acting on this host: pid ${process.pid}\\b`));
    await expect(acquireLock(state)).rejects.toBeInstanceOf(LockHeldError);
    await lock.release();
    expect(existsSync(join(state, LOCK_FILE))).toBe(false);
    expect(await run()).toMatch(/^ACQUIRED null/);
  });

  it('takes over a stale lock of a dead pid, and one whose pid was reused', async () => {
    const state = join(dir, 's2');
    // A process that ran and exited: its pid is dead.
    const p = spawn(process.execPath, ['-e', '0']);
    const deadPid = p.pid!;
    await new Promise((r) => p.once('exit', r));
    const first = await acquireLock(state);
    await first.release();
    writeFileSync(join(state, LOCK_FILE), JSON.stringify({ pid: deadPid, startTime: '1', host: 'h', acquiredAt: 'then', argv: [] }));
    const lock = await acquireLock(state);
    expect(lock.tookOver).toEqual({ pid: deadPid, reason: `pid ${deadPid} is not running` });
    expect(JSON.parse(readFileSync(join(state, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await lock.release();

    // A live pid whose start time differs from the lock's: the pid was reused by another process.
    const mine = processStartTime(process.pid);
    expect(mine).toMatch(/^\d+$/);
    writeFileSync(join(state, LOCK_FILE), JSON.stringify({ pid: process.ppid, startTime: '42', host: 'h', acquiredAt: 'then', argv: [] }));
    const lock2 = await acquireLock(state);
    expect(lock2.tookOver?.reason).toMatch(/now belongs to another process/);
    await lock2.release();
  });
});
