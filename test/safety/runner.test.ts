import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandRefused, createRunner } from '../../src/fixes/lib/runner.js';

describe('CommandRunner', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'odoo-heal-run-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses executables that are not allowlisted, with the reason', async () => {
    const r = createRunner({ allow: ['echo'], timeoutMs: 5000 });
    await expect(r.run(['rm', '-rf', join(dir, 'x')])).rejects.toBeInstanceOf(CommandRefused);
    await expect(r.run(['rm', '-rf', join(dir, 'x')])).rejects.toThrow(/rm \(.*\/rm\) is not in fixes\.allowCommands \[echo\]/);
    await expect(r.run(['./echo'])).rejects.toThrow(/relative executable paths are not allowed/);
    await expect(r.run(['no-such-binary-odoo-heal'])).rejects.toThrow(/not found on PATH/);
    await expect(r.run([])).rejects.toThrow(/empty argv/);
  });

  it('an absolute allowlist entry admits exactly that file', async () => {
    const script = join(dir, 'tool');
    writeFileSync(script, '#!/bin/sh\necho "tool:$1"\n');
    chmodSync(script, 0o755);
    const other = join(dir, 'other');
    writeFileSync(other, '#!/bin/sh\necho other\n');
    chmodSync(other, 0o755);
    const r = createRunner({ allow: [script], timeoutMs: 5000 });
    const res = await r.run([script, 'x']);
    expect(res.stdout).toBe('tool:x\n');
    await expect(r.run([other])).rejects.toThrow(/not in fixes\.allowCommands/);
  });

  it('never uses a shell: metacharacters are passed literally', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'still here');
    const r = createRunner({ allow: ['echo', 'printf'], timeoutMs: 5000 });
    const res = await r.run(['echo', `hello; rm -rf ${victim}`, '$(touch pwned)', '`id`', '*']);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toBe(`hello; rm -rf ${victim} $(touch pwned) \`id\` *\n`);
    expect(existsSync(victim)).toBe(true);
    expect(existsSync('pwned')).toBe(false);
    const res2 = await r.run(['printf', '%s|', 'a b', 'c']);
    expect(res2.stdout).toBe('a b|c|');
  });

  it('captures stdout, stderr and the exit code', async () => {
    const r = createRunner({ allow: ['sh'], timeoutMs: 5000 });
    const res = await r.run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(res).toMatchObject({ argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'], exitCode: 3, signal: null, stdout: 'out\n', stderr: 'err\n', timedOut: false });
  });

  it('bounds captured output, keeping head and tail', async () => {
    const r = createRunner({ allow: ['head'], timeoutMs: 10_000 });
    const res = await r.run(['head', '-c', '1000000', '/dev/zero']);
    expect(res.exitCode).toBe(0);
    expect(res.stdout.length).toBeLessThan(70 * 1024);
    expect(res.stdout).toMatch(/bytes omitted/);
  });

  it('times out a sleep 10 and kills its process group', async () => {
    const r = createRunner({ allow: ['sleep', 'sh'], timeoutMs: 10_000 });
    const res = await r.run(['sleep', '10'], { timeoutMs: 300 });
    expect(res.timedOut).toBe(true);
    expect(res.exitCode).toBeNull();
    expect(res.signal).toBe('SIGTERM');
    // A grandchild in the same group dies too.
    const pidFile = join(dir, 'grandchild.pid');
    const res2 = await r.run(['sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`], { timeoutMs: 300 });
    expect(res2.timedOut).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r2) => setTimeout(r2, 100));
    // Gone, or a zombie waiting for init to reap it (state Z): either way it no longer runs.
    const state = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone';
    expect(['gone', 'Z']).toContain(state);
  });
});
