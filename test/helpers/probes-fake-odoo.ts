// A stand-in Odoo process tree for the process/memory probe tests: a script file really named
// `odoo-bin`, run by node with argv[0] set to `python3`, so /proc shows exactly what a real
// `python3 /opt/odoo/odoo-bin -c /etc/odoo/odoo.conf` shows. A "master" forks children the way
// Odoo's prefork server does: workers retitled `odoo: WorkerHTTP <pid> ` (what setproctitle makes
// of them), or left with the master's own argv (`plain`; `plain-cron` also renices itself by 10 like
// WorkerCron), and a gevent child started as `odoo-bin gevent ...`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = String.raw`
const { spawn } = require('node:child_process');
const role = process.env.FAKE_ODOO || 'threaded';
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
// Burns CPU time, not wall time: on a loaded host the amount used must still be what was asked.
function burn(ms) { const start = process.cpuUsage(); while (true) { const u = process.cpuUsage(start); if ((u.user + u.system) / 1000 >= ms) break; } }
process.stdin.on('data', (d) => { if (String(d).includes('burn')) { burn(300); say({ burned: true }); } });
// Children and fake servers die with their parent / the test: stdin closes.
process.stdin.on('end', () => process.exit(0));
if (role.startsWith('title:')) {
  process.title = 'odoo: ' + role.slice(6) + ' ' + process.pid + ' ';
  say({ ready: process.pid });
} else if (role === 'child' || role === 'child-niced') {
  // Odoo's WorkerCron.start() calls os.nice(10); without setproctitle that is what tells it apart.
  if (role === 'child-niced') require('node:os').setPriority(require('node:os').getPriority() + 10);
  say({ ready: process.pid });
} else if (role === 'master') {
  const kinds = (process.env.FAKE_CHILDREN || '').split(',').filter(Boolean);
  const args = process.argv.slice(2);
  const pids = {};
  let pending = kinds.length;
  const start = (kind, i) => {
    const argv = kind === 'gevent' ? [process.argv[1], 'gevent', ...args] : [process.argv[1], ...args];
    const env = { ...process.env, FAKE_ODOO: kind === 'gevent' || kind === 'plain' ? 'child' : kind === 'plain-cron' ? 'child-niced' : 'title:' + kind };
    const c = spawn(process.execPath, argv, { argv0: 'python3', env, stdio: ['pipe', 'pipe', 'inherit'] });
    c.stdout.once('data', () => {
      pids[i] = c.pid;
      if (pending > 0 && --pending === 0) say({ children: Object.values(pids) });
      else if (pending === 0) say({ respawned: c.pid, children: Object.values(pids) });
    });
    // Like Odoo's master: a dead worker is replaced.
    c.on('exit', () => { if (!process.exitCode) start(kind, i); });
  };
  kinds.forEach(start);
  if (kinds.length === 0) say({ children: [] });
} else {
  say({ ready: process.pid });
}
setInterval(() => {}, 1 << 30);
`;

export interface FakeOdoo {
  dir: string;
  conf: string;
  script: string;
  /** Starts a process; resolves with it and its first JSON message. */
  start(role: 'threaded' | 'master', opts?: { children?: string[]; extraArgs?: string[] }): Promise<{ proc: ChildProcess; first: Record<string, unknown> }>;
  /** Next JSON message from a started process. */
  next(proc: ChildProcess): Promise<Record<string, unknown>>;
  cleanup(): void;
}

export function createFakeOdoo(): FakeOdoo {
  const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-fake-odoo-'));
  const script = join(dir, 'odoo-bin');
  const conf = join(dir, 'odoo.conf');
  writeFileSync(script, SCRIPT);
  writeFileSync(conf, '[options]\n');
  const started: ChildProcess[] = [];
  const queues = new Map<ChildProcess, { buf: string; waiting: ((m: Record<string, unknown>) => void)[]; msgs: Record<string, unknown>[] }>();

  function track(proc: ChildProcess) {
    const q = { buf: '', waiting: [] as ((m: Record<string, unknown>) => void)[], msgs: [] as Record<string, unknown>[] };
    queues.set(proc, q);
    proc.stdout?.on('data', (d: Buffer) => {
      q.buf += d.toString();
      let nl: number;
      while ((nl = q.buf.indexOf('\n')) >= 0) {
        const line = q.buf.slice(0, nl);
        q.buf = q.buf.slice(nl + 1);
        const msg = JSON.parse(line) as Record<string, unknown>;
        const w = q.waiting.shift();
        if (w) w(msg);
        else q.msgs.push(msg);
      }
    });
  }

  function next(proc: ChildProcess): Promise<Record<string, unknown>> {
    const q = queues.get(proc);
    if (!q) throw new Error('unknown process');
    const m = q.msgs.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => q.waiting.push(resolve));
  }

  return {
    dir,
    conf,
    script,
    async start(role, opts = {}) {
      const proc = spawn(process.execPath, [script, '-c', conf, ...(opts.extraArgs ?? [])], {
        argv0: 'python3',
        env: { ...process.env, FAKE_ODOO: role, FAKE_CHILDREN: (opts.children ?? []).join(',') },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      started.push(proc);
      track(proc);
      return { proc, first: await next(proc) };
    },
    next,
    cleanup() {
      for (const p of started) {
        // Closing stdin makes the fake (and, through theirs, its children) exit; SIGKILL as a backstop.
        p.stdin?.end();
        p.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
