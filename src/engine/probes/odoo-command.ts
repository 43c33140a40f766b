// Which command lines are Odoo, and what they say about it.
//
// How processes are recognised (Odoo 18, odoo/service/server.py):
// - The server runs `odoo-bin`, `odoo` or `openerp-server` (directly or through a python
//   interpreter), or `python -m odoo`. A first positional argument other than `server` is a
//   subcommand (`shell`, `scaffold`, ...) and `--stop-after-init` is a one-off update: both are tools,
//   not the server.
// - The main process is an Odoo server process whose parent is not an Odoo process.
// - Prefork workers are fork()ed children of the main process. With the `setproctitle` package
//   installed, Odoo retitles them `odoo: WorkerHTTP <pid> ...` / `odoo: WorkerCron <pid> ...`; without
//   it they keep the master's exact command line and can only be counted, not told apart.
// - The gevent (websocket) process is started by the master with `Popen([python, argv[0], 'gevent',
//   ...])`: `gevent` is the first argument after the script.
import { basename } from 'node:path';

const ODOO_SCRIPTS = new Set(['odoo-bin', 'odoo', 'openerp-server', 'odoo.py']);
const ODOO_MODULES = new Set(['odoo', 'openerp']);
const INTERPRETER = /^(python|pypy)[\d.]*$/;
/** Python options that take a value as the next word. */
const PY_OPTS_WITH_VALUE = new Set(['-W', '-X', '-Q']);

export type WorkerTitle = 'WorkerHTTP' | 'WorkerCron' | 'Worker';

export type OdooCommand =
  | { kind: 'server' | 'gevent' | 'tool'; config: string | null; workers: number | null; maxCronThreads: number | null }
  | { kind: 'titled'; title: WorkerTitle };

/** Index of the Odoo script/module word in argv, or -1 when argv is not Odoo. */
function odooWordIndex(argv: readonly string[]): number {
  const exe = argv[0];
  if (exe === undefined) return -1;
  if (ODOO_SCRIPTS.has(basename(exe))) return 0;
  if (!INTERPRETER.test(basename(exe))) return -1;
  for (let j = 1; j < argv.length; j++) {
    const a = argv[j] ?? '';
    if (a === '-m') return ODOO_MODULES.has(argv[j + 1] ?? '') ? j + 1 : -1;
    if (a.startsWith('-m')) return ODOO_MODULES.has(a.slice(2)) ? j : -1;
    if (a === '-c') return -1; // python -c '<code>'
    if (PY_OPTS_WITH_VALUE.has(a)) {
      j++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return ODOO_SCRIPTS.has(basename(a)) ? j : -1;
  }
  return -1;
}

function optionValue(args: readonly string[], long: string, short: string | null): string | null {
  for (let j = 0; j < args.length; j++) {
    const a = args[j] ?? '';
    if (a === long || (short !== null && a === short)) return args[j + 1] ?? null;
    if (a.startsWith(`${long}=`)) return a.slice(long.length + 1);
    if (short !== null && a.startsWith(short) && !a.startsWith('--') && a.length > short.length) return a.slice(short.length);
  }
  return null;
}

function intOrNull(s: string | null): number | null {
  if (s === null || !/^\d+$/.test(s)) return null;
  return Number(s);
}

export function parseOdooCommand(argv: readonly string[]): OdooCommand | null {
  // setproctitle rewrites the whole argv area; the title may come back as one word or several.
  const title = /^odoo: (Worker\w*) \d+/.exec(argv.join(' '));
  if (title) {
    const t = title[1] === 'WorkerHTTP' || title[1] === 'WorkerCron' ? title[1] : 'Worker';
    return { kind: 'titled', title: t };
  }
  const i = odooWordIndex(argv);
  if (i < 0) return null;
  let rest = argv.slice(i + 1);
  let kind: 'server' | 'gevent' | 'tool' = 'server';
  const first = rest[0];
  if (first !== undefined && !first.startsWith('-')) {
    if (first === 'gevent') kind = 'gevent';
    else if (first === 'server') rest = rest.slice(1);
    else kind = 'tool';
  }
  if (rest.includes('--stop-after-init')) kind = 'tool';
  return {
    kind,
    config: optionValue(rest, '--config', '-c'),
    workers: intOrNull(optionValue(rest, '--workers', null)),
    maxCronThreads: intOrNull(optionValue(rest, '--max-cron-threads', null)),
  };
}
