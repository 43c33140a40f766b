// "Can Odoo write here now?" asked of the kernel as Odoo's user: a short child of our own Node
// binary (no shell, no configured command: nothing an admin must allow) running with that uid/gid
// creates a uniquely named file in each directory (O_EXCL|O_NOFOLLOW), writes and fsyncs it, and
// removes it; for a file, it opens it for appending without writing. Mode bits, ACLs, read-only
// mounts and a full disk all answer the way they answer Odoo. One child tests every target (a Node
// start costs a few hundred ms on a loaded host).
import { spawn } from 'node:child_process';

export type WriteTest = { ok: true; detail: string } | { ok: false; detail: string } | { ok: null; detail: string };

const SCRIPT = `
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const C = fs.constants;
const args = process.argv.slice(1);
for (let i = 0; i + 1 < args.length; i += 2) {
  const [target, isDir] = [args[i], args[i + 1] === 'dir'];
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
    process.stdout.write('ok\\n');
  } catch (e) {
    if (probe) { try { fs.unlinkSync(probe); } catch {} }
    process.stdout.write(String(e && e.code ? e.code : e).replace(/\\n/g, ' ') + '\\n');
  }
}`;

export interface WriteTarget {
  path: string;
  isDir: boolean;
}

type User = { uid: number; gid: number; name: string | null };

/**
 * Tries a write as uid/gid in each target (a directory: create + remove a file; a file: open for
 * append), in one child; answers in the targets' order. `ok: null` when this process cannot take
 * that identity (not root and not that user) or the child did not finish.
 */
export function writeTestsAs(user: User, targets: readonly WriteTarget[], timeoutMs = 10_000): Promise<WriteTest[]> {
  const who = user.name ?? `uid ${user.uid}`;
  const self = process.getuid?.();
  const all = (t: WriteTest) => targets.map(() => t);
  if (targets.length === 0) return Promise.resolve([]);
  if (self !== 0 && self !== user.uid) return Promise.resolve(all({ ok: null, detail: `write test as ${who} skipped (odoo-heal is not root)` }));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', SCRIPT, ...targets.flatMap((t) => [t.path, t.isDir ? 'dir' : 'file'])], {
      ...(self === 0 ? { uid: user.uid, gid: user.gid } : {}),
      cwd: '/',
      env: { PATH: '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: timeoutMs,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (err) => resolve(all({ ok: null, detail: `write test as ${who} could not run: ${err.message}` })));
    child.on('close', (code, signal) => {
      const lines = out.split('\n');
      resolve(
        targets.map((t, i): WriteTest => {
          const where = `${t.isDir ? 'in ' : ''}${t.path}`;
          const line = lines[i];
          if (line === 'ok') return { ok: true, detail: `${who} can write ${where}` };
          if (line === undefined || line === '') return { ok: null, detail: `write test as ${who} did not finish (${signal ?? `exit ${code}`})` };
          return { ok: false, detail: `${who} cannot write ${where} (${line.slice(0, 80)})` };
        }),
      );
    });
  });
}

/** One target: see writeTestsAs. */
export async function writeTestAs(user: User, target: string, isDir: boolean, timeoutMs = 10_000): Promise<WriteTest> {
  return (await writeTestsAs(user, [{ path: target, isDir }], timeoutMs))[0]!;
}
