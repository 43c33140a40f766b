// "Can Odoo write here now?" asked of the kernel as Odoo's user: a short child of our own Node
// binary (no shell, no configured command: nothing an admin must allow) running with that uid/gid
// creates a uniquely named file in the directory (O_EXCL|O_NOFOLLOW), writes and fsyncs it, and
// removes it; for a file, it opens it for appending without writing. Mode bits, ACLs, read-only
// mounts and a full disk all answer the way they answer Odoo.
import { spawn } from 'node:child_process';

export type WriteTest = { ok: true; detail: string } | { ok: false; detail: string } | { ok: null; detail: string };

const SCRIPT = `
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const [target, isDir] = [process.argv[1], process.argv[2] === 'dir'];
const C = fs.constants;
let probe = null;
try {
  if (isDir) {
    probe = path.join(target, '.odoo-heal-write-test-' + crypto.randomBytes(6).toString('hex'));
    const fd = fs.openSync(probe, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    try { fs.writeSync(fd, 'odoo-heal write test\\n'); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
    fs.unlinkSync(probe);
  } else {
    fs.closeSync(fs.openSync(target, C.O_WRONLY | C.O_APPEND | C.O_NOFOLLOW));
  }
  process.stdout.write('ok');
} catch (e) {
  if (probe) { try { fs.unlinkSync(probe); } catch {} }
  process.stdout.write(String(e && e.code ? e.code : e));
  process.exitCode = 1;
}`;

/**
 * Tries a write as uid/gid in `target` (a directory: create + remove a file; a file: open for
 * append). `ok: null` when this process cannot take that identity (not root and not that user).
 */
export function writeTestAs(user: { uid: number; gid: number; name: string | null }, target: string, isDir: boolean, timeoutMs = 10_000): Promise<WriteTest> {
  const who = user.name ?? `uid ${user.uid}`;
  const self = process.getuid?.();
  if (self !== 0 && self !== user.uid) return Promise.resolve({ ok: null, detail: `write test as ${who} skipped (odoo-heal is not root)` });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', SCRIPT, target, isDir ? 'dir' : 'file'], {
      ...(self === 0 ? { uid: user.uid, gid: user.gid } : {}),
      cwd: '/',
      env: { PATH: '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: timeoutMs,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (err) => resolve({ ok: null, detail: `write test as ${who} could not run: ${err.message}` }));
    child.on('close', (code, signal) => {
      if (code === 0 && out === 'ok') resolve({ ok: true, detail: `${who} can write ${isDir ? 'in ' : ''}${target}` });
      else if (signal) resolve({ ok: null, detail: `write test as ${who} did not finish (${signal})` });
      else resolve({ ok: false, detail: `${who} still cannot write ${isDir ? 'in ' : ''}${target} (${out.slice(0, 80) || `exit ${code}`})` });
    });
  });
}
