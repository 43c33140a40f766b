// CommandFollower with real child processes (node -e scripts standing in for journalctl / docker logs).
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandFollower, type CommandFollowerOptions } from '../src/engine/logs/follow-command.js';
import type { FollowError } from '../src/engine/logs/follow-file.js';

async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Running (not gone and not a zombie waiting for this sandbox's init to reap it). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const followers: CommandFollower[] = [];
afterEach(async () => {
  await Promise.all(followers.splice(0).map((f) => f.stop()));
});

function run(argv: string[], opts: Partial<CommandFollowerOptions> = {}) {
  const lines: string[] = [];
  const sources = new Set<string>();
  const errors: FollowError[] = [];
  const f = new CommandFollower({
    name: 'journald',
    argv,
    onLines: (ls, source) => {
      lines.push(...ls);
      sources.add(source);
    },
    onError: (e) => errors.push(e),
    restartBaseMs: 30,
    restartMaxMs: 120,
    ...opts,
  });
  followers.push(f);
  return { f, lines, errors, sources };
}

const node = process.execPath;

describe('CommandFollower', () => {
  it('follows stdout and stderr as lines under the configured name; restarts a command that exits, reporting once', async () => {
    const { f, lines, errors, sources } = run([
      node,
      '-e',
      'console.log("out 1"); console.log("out 2"); console.error("err 1"); process.exit(3)',
    ]);
    await f.start();
    await waitFor(() => lines.filter((l) => l === 'out 1').length >= 3, 5000, 'three runs');
    expect(lines.slice(0, 3).sort()).toEqual(['err 1', 'out 1', 'out 2']);
    expect([...sources]).toEqual(['journald']);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('EXIT');
    expect(errors[0]!.message).toContain('exited with code 3');
    expect(errors[0]!.message).toContain('err 1'); // last stderr line says why
  });

  it('delivers a last line without newline when the command ends', async () => {
    const { f, lines } = run([node, '-e', 'process.stdout.write("line\\nno newline at exit")'], {
      restartBaseMs: 60_000,
    });
    await f.start();
    await waitFor(() => lines.length === 2);
    expect(lines).toEqual(['line', 'no newline at exit']);
  });

  it('reports a missing binary once, naming it, and keeps retrying quietly', async () => {
    const { f, errors } = run(['odoo-heal-no-such-binary', '-f'], { restartBaseMs: 10, restartMaxMs: 20 });
    await f.start();
    await waitFor(() => errors.length >= 1);
    await new Promise((r) => setTimeout(r, 200)); // several retries at 10-20 ms
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('ENOENT');
    expect(errors[0]!.message).toContain('command not found: odoo-heal-no-such-binary');
    expect(f.status.state).toBe('error');
  });

  it('stop() kills the command and the helpers it started (process group)', async () => {
    const script = `
      const { spawn } = require('node:child_process');
      const helper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      console.log('pids ' + process.pid + ' ' + helper.pid);
      setInterval(() => {}, 1000);`;
    const { f, lines } = run([node, '-e', script]);
    await f.start();
    await waitFor(() => lines.some((l) => l.startsWith('pids ')));
    const pids = lines.find((l) => l.startsWith('pids '))!.split(' ').slice(1).map(Number);
    expect(pids.every(alive)).toBe(true);
    await f.stop();
    await waitFor(() => !pids.some(alive), 5000, 'command and helper to exit');
    expect(f.status.state).toBe('stopped');
  });

  it('stop() escalates to SIGKILL for a command that ignores SIGTERM', async () => {
    const script = `process.on('SIGTERM', () => {}); console.log('pid ' + process.pid); setInterval(() => {}, 1000);`;
    const { f, lines } = run([node, '-e', script], { killGraceMs: 200 });
    await f.start();
    await waitFor(() => lines.some((l) => l.startsWith('pid ')));
    const pid = Number(lines.find((l) => l.startsWith('pid '))!.slice(4));
    await f.stop();
    await waitFor(() => !alive(pid), 5000, 'SIGKILL');
  });
});
