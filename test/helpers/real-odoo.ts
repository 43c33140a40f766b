// A real Odoo 18 server for end-to-end tests (test/real-odoo/*.test.ts), started ONCE per run by the
// globalSetup of vitest.real-odoo.config.ts with ../shared/real-odoo/up.sh (resolved from the repo
// root; REALODOO_SHARED=/path/to/real-odoo overrides it), on its own REALODOO_BASE under a temp dir and
// free ports, and stopped with down.sh at the end. REALODOO_KEEP=1 keeps the base dir (a post-mortem);
// REALODOO_REUSE=<that dir> runs against it again without a new setup (quick iteration on one test).
// Those test files run one after another (they inject faults into the same server) after the main suite:
// `npm test` runs `vitest run` then `vitest run -c vitest.real-odoo.config.ts`.
//
// API (in a test file):
//   const odoo = realOdoo();                 // RealOdoo, or null when skipped
//   describe.skipIf(!odoo)(...)              // skipReason() says why (printed once by the setup)
//   odoo.conf / base / url / db / httpPort / pgPort / serverLog / stdoutLog / dataDir / filestore / pgBin / pgData
//   await odoo.rpc.login()                   // uid of admin/admin
//   await odoo.rpc.executeKw(model, method, args, kwargs)   // JSON-RPC /jsonrpc "object" execute_kw
//   await odoo.installModule(name)           // update_list + button_immediate_install; returns final state
//   odoo.psql(sql)                           // as postgres on healdb, rows as string[][] (cells split on |)
//   odoo.moduleState(name)                   // ir_module_module.state or null
//   await odoo.restartOdoo({ workers, set }) // set `workers`/keys in odoo.conf, then restart-odoo.sh (below)
//   await odoo.stopOdoo() / startOdoo()      // stop by pid file / up.sh
//   odoo.stopPg() / startPg() / pgRunning()  // the private cluster, via pg_ctl as postgres
//   odoo.ensureUp()                          // PG + Odoo running and healthy (call in beforeAll; a failed
//                                            // scenario must not break the next one)
//   odoo.freshLogs()                         // empty both logs in place: no replay of the last scenario
//   await odoo.health()                      // /web/health?db_server_status=1 → true when "pass"
//   odoo.restartPgArgv / restartOdooArgv     // argv for fixes.restart.{postgresql,odoo} (allowCommands too);
//                                            // restart-odoo.sh: under a lock, stop by pid file, up.sh
//   odoo.healConfig(over)                    // writes an odoo-heal config.yaml for this server (deep-merged),
//                                            // in <base>/runs/run-*/ (removed with the base at teardown)
//   odoo.startAuto(over)                     // the built binary `--auto`: AutoProcess (JSON lines, waitFor),
//                                            // its stdout also in <dir>/auto.jsonl
//   await odoo.check(over)                   // `check --json`: { code, json, stderr }
//   await odoo.cli(args, over)               // the built binary with any command: { code, stdout, stderr }
// The config written by healConfig follows both logs (server log + stderr log), probes every second,
// restarts through the scripts above, and keeps its state in a fresh temp dir per call.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { collectJsonLines, type AutoProcess } from './auto-sandbox.js';
import { deepMerge } from './deep-merge.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'odoo-heal');

/** What the global setup hands to the test files (serialisable). */
export interface RealOdooInfo {
  shared: string;
  base: string;
  conf: string;
  db: string;
  httpPort: number;
  geventPort: number;
  pgPort: number;
  pgBin: string;
  extraAddons: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    realOdoo: RealOdooInfo | null;
    realOdooSkip: string;
  }
}

/**
 * $REALODOO_SHARED, else ../shared/real-odoo beside the repo; in a git worktree elsewhere, beside the
 * main checkout (the directory holding the common .git).
 */
export function sharedDir(): string {
  if (process.env.REALODOO_SHARED) return resolve(process.env.REALODOO_SHARED);
  const beside = resolve(ROOT, '..', 'shared', 'real-odoo');
  if (existsSync(beside)) return beside;
  const common = spawnSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: ROOT, encoding: 'utf8' });
  const main = common.status === 0 ? resolve(common.stdout.trim(), '..', '..', 'shared', 'real-odoo') : null;
  return main && existsSync(main) ? main : beside;
}

/** Why the real-Odoo suite cannot run here, or null when it can. */
export function unavailableReason(): string | null {
  const dir = sharedDir();
  if (!existsSync(join(dir, 'up.sh')) || !existsSync(join(dir, 'down.sh'))) return `${dir}/up.sh not found (set REALODOO_SHARED)`;
  if (process.getuid?.() !== 0) return 'up.sh must run as root and this run is not root';
  if (spawnSync('runuser', ['--version']).status !== 0) return 'runuser is missing';
  return null;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

function newestPgBin(): string {
  const dirs = readdirVersions('/usr/lib/postgresql');
  return process.env.PG_BIN ?? (dirs.length ? join('/usr/lib/postgresql', dirs[dirs.length - 1]!, 'bin') : '');
}

function readdirVersions(dir: string): string[] {
  try {
    return spawnSync('ls', [dir], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(a) - Number(b));
  } catch {
    return [];
  }
}

function envFor(info: RealOdooInfo, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    REALODOO_BASE: info.base,
    PG_PORT: String(info.pgPort),
    HTTP_PORT: String(info.httpPort),
    GEVENT_PORT: String(info.geventPort),
    PG_BIN: info.pgBin,
    ...extra,
  };
}

function runScript(info: RealOdooInfo, script: string, extra: Record<string, string> = {}): string {
  const r = spawnSync(join(info.shared, script), [], { env: envFor(info, extra), encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    throw new Error(`${script} failed (exit ${r.status}):\n${(r.stdout ?? '').slice(-3000)}\n${(r.stderr ?? '').slice(-3000)}`);
  }
  return r.stdout;
}

/**
 * Global setup: one Odoo for the whole run. Copies heal_probe into an extra addons dir (its routes
 * only exist once it is installed in the database) and installs it. Returns the info, or throws.
 */
export async function startRealOdoo(): Promise<RealOdooInfo> {
  const reuse = process.env.REALODOO_REUSE;
  if (reuse) {
    // A base kept by an earlier run (REALODOO_KEEP=1): start what is down, keep it afterwards.
    const kept = JSON.parse(readFileSync(join(reuse, 'realodoo-info.json'), 'utf8')) as RealOdooInfo;
    writeHelperScripts(kept);
    runScript(kept, 'up.sh');
    return kept;
  }
  const shared = sharedDir();
  const base = mkdtempSync(join(tmpdir(), 'odoo-heal-realodoo-'));
  chmodSync(base, 0o755); // postgres and odoo must traverse it
  const extraAddons = join(base, 'extra-addons');
  mkdirSync(extraAddons, { recursive: true });
  execFileSync('cp', ['-r', join(shared, 'addons', 'heal_probe'), extraAddons]);
  execFileSync('chmod', ['-R', 'a+rX', extraAddons]);
  const [httpPort, geventPort, pgPort] = [await freePort(), await freePort(), await freePort()];
  const info: RealOdooInfo = {
    shared,
    base,
    conf: join(base, 'odoo.conf'),
    db: 'healdb',
    httpPort,
    geventPort,
    pgPort,
    pgBin: newestPgBin(),
    extraAddons,
  };
  writeFileSync(join(base, 'realodoo-info.json'), JSON.stringify(info, null, 2));
  runScript(info, 'up.sh', { EXTRA_ADDONS: extraAddons });
  writeHelperScripts(info);
  const odoo = new RealOdoo(info);
  const state = await odoo.installModule('heal_probe');
  if (state !== 'installed') throw new Error(`heal_probe ended ${state}`);
  return info;
}

export function stopRealOdoo(info: RealOdooInfo): void {
  if (process.env.REALODOO_REUSE) return;
  try {
    runScript(info, 'down.sh');
  } finally {
    if (!process.env.REALODOO_KEEP) rmSync(info.base, { recursive: true, force: true });
    else console.warn(`real-odoo: kept ${info.base}`);
  }
}

/**
 * Restart scripts for odoo-heal's `fixes.restart` (the fix runner passes no environment we control,
 * so the ports and base are written into them). Owned by root, mode 700.
 */
function writeHelperScripts(info: RealOdooInfo): void {
  const pgCtl = join(info.pgBin, 'pg_ctl');
  const pgData = join(info.base, 'pg', 'data');
  writeFileSync(
    join(info.base, 'restart-pg.sh'),
    `#!/bin/sh\n# written by test/helpers/real-odoo.ts: (re)start the private PostgreSQL\ncd /\nexec runuser -u postgres -- ${pgCtl} -D ${pgData} -l ${join(info.base, 'pg', 'postgres.log')} -w -t 60 restart -m fast </dev/null\n`,
    { mode: 0o700 },
  );
  const env = Object.entries({
    REALODOO_BASE: info.base,
    PG_PORT: info.pgPort,
    HTTP_PORT: info.httpPort,
    GEVENT_PORT: info.geventPort,
    PG_BIN: info.pgBin,
  })
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  writeFileSync(
    join(info.base, 'restart-odoo.sh'),
    [
      '#!/bin/sh',
      '# written by test/helpers/real-odoo.ts: stop Odoo by its pid file, then up.sh (starts it, waits for health)',
      'cd /',
      // One restart at a time (the test's own and odoo-heal's): two up.sh racing start two servers,
      // one loses the port and the pid file names the wrong one.
      `exec 9>${join(info.base, 'restart.lock')}`,
      'flock 9',
      `pid=$(cat ${join(info.base, 'run', 'odoo.pid')} 2>/dev/null)`,
      'if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then',
      '  kill -TERM "$pid"',
      '  i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 60 ]; do sleep 0.5; i=$((i+1)); done',
      '  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"',
      'fi',
      // 9>&- : the server up.sh starts must not inherit the lock (it would hold it for its lifetime).
      `env ${env} ${join(info.shared, 'up.sh')} 9>&-`,
      '',
    ].join('\n'),
    { mode: 0o700 },
  );
}

export class RpcError extends Error {
  constructor(
    message: string,
    readonly data: unknown,
  ) {
    super(message);
  }
}

export class RealOdoo {
  readonly url: string;
  readonly rpc: { login(): Promise<number>; executeKw<T = unknown>(model: string, method: string, args?: unknown[], kwargs?: Record<string, unknown>): Promise<T> };
  private uid: number | null = null;

  constructor(readonly info: RealOdooInfo) {
    this.url = `http://127.0.0.1:${info.httpPort}`;
    const call = async <T>(service: string, method: string, args: unknown[]): Promise<T> => {
      const res = await fetch(`${this.url}/jsonrpc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id: Date.now(), params: { service, method, args } }),
        signal: AbortSignal.timeout(300_000),
      });
      const body = (await res.json()) as { result?: T; error?: { message: string; data?: { message?: string } } };
      if (body.error) throw new RpcError(`${service}.${method}: ${body.error.data?.message ?? body.error.message}`, body.error);
      return body.result as T;
    };
    this.rpc = {
      login: async () => {
        const uid = await call<number | false>('common', 'login', [info.db, 'admin', 'admin']);
        if (!uid) throw new Error('admin/admin login refused');
        this.uid = uid;
        return uid;
      },
      executeKw: async <T>(model: string, method: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}) => {
        const uid = this.uid ?? (await this.rpc.login());
        return call<T>('object', 'execute_kw', [info.db, uid, 'admin', model, method, args, kwargs]);
      },
    };
  }

  get base(): string {
    return this.info.base;
  }
  get conf(): string {
    return this.info.conf;
  }
  get db(): string {
    return this.info.db;
  }
  get httpPort(): number {
    return this.info.httpPort;
  }
  get pgPort(): number {
    return this.info.pgPort;
  }
  get pgBin(): string {
    return this.info.pgBin;
  }
  get pgData(): string {
    return join(this.info.base, 'pg', 'data');
  }
  get serverLog(): string {
    return join(this.info.base, 'log', 'odoo-server.log');
  }
  get stdoutLog(): string {
    return join(this.info.base, 'log', 'odoo-stdout.log');
  }
  get dataDir(): string {
    return join(this.info.base, 'data');
  }
  get filestore(): string {
    return join(this.info.base, 'data', 'filestore', this.info.db);
  }
  get extraAddons(): string {
    return this.info.extraAddons;
  }
  get restartPgArgv(): string[] {
    return [join(this.info.base, 'restart-pg.sh')];
  }
  get restartOdooArgv(): string[] {
    return [join(this.info.base, 'restart-odoo.sh')];
  }

  async health(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/web/health?db_server_status=1`, { signal: AbortSignal.timeout(5000) });
      return res.ok && ((await res.json()) as { status?: string }).status === 'pass';
    } catch {
      return false;
    }
  }

  /** Rows of a query run as postgres on the database (cells split on |). Throws on SQL errors. */
  psql(sql: string): string[][] {
    const out = execFileSync(
      'runuser',
      ['-u', 'postgres', '--', join(this.pgBin, 'psql'), '-h', join(this.base, 'pg', 'run'), '-p', String(this.pgPort), '-U', 'postgres', '-d', this.db, '-v', 'ON_ERROR_STOP=1', '-qtAX', '-c', sql],
      { encoding: 'utf8', cwd: '/', timeout: 60_000 },
    );
    return out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('|'));
  }

  moduleState(name: string): string | null {
    return this.psql(`SELECT state FROM ir_module_module WHERE name = '${name.replace(/'/g, "''")}'`)[0]?.[0] ?? null;
  }

  /** update_list + button_immediate_install, as the web client does; the module's state after it. */
  async installModule(name: string): Promise<string | null> {
    await this.rpc.executeKw('ir.module.module', 'update_list');
    const ids = await this.rpc.executeKw<number[]>('ir.module.module', 'search', [[['name', '=', name]]]);
    if (ids.length === 0) throw new Error(`module ${name} not found after update_list`);
    await this.rpc.executeKw('ir.module.module', 'button_immediate_install', [ids]);
    return this.moduleState(name);
  }

  pgRunning(): boolean {
    return spawnSync('runuser', ['-u', 'postgres', '--', join(this.pgBin, 'pg_ctl'), '-D', this.pgData, 'status'], { cwd: '/' }).status === 0;
  }

  stopPg(): void {
    execFileSync('runuser', ['-u', 'postgres', '--', join(this.pgBin, 'pg_ctl'), '-D', this.pgData, '-m', 'fast', '-w', '-t', '60', 'stop'], { cwd: '/', stdio: 'pipe' });
  }

  /** Starts the cluster unless it runs already (odoo-heal's restart fix may have been first). */
  startPg(): void {
    if (this.pgRunning()) return;
    execFileSync(
      'runuser',
      ['-u', 'postgres', '--', join(this.pgBin, 'pg_ctl'), '-D', this.pgData, '-l', join(this.base, 'pg', 'postgres.log'), '-w', '-t', '60', 'start'],
      // No pipes: the postmaster it forks would inherit them and keep this process waiting.
      { cwd: '/', stdio: 'ignore' },
    );
  }

  odooPid(): number | null {
    try {
      const pid = Number(readFileSync(join(this.base, 'run', 'odoo.pid'), 'utf8').trim());
      return pid > 0 && existsSync(`/proc/${pid}`) ? pid : null;
    } catch {
      return null;
    }
  }

  async stopOdoo(): Promise<void> {
    const pid = this.odooPid();
    if (!pid) return;
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 120 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 500));
    if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
  }

  /** up.sh: starts what is not running (PostgreSQL too) and waits for health. */
  startOdoo(): void {
    runScript(this.info, 'up.sh');
  }

  /**
   * Empties Odoo's log and stderr log in place (as logrotate's copytruncate: Odoo keeps writing at the
   * new end), so a scenario's `--auto` does not replay the previous scenario's faults at start.
   */
  freshLogs(): void {
    for (const f of [this.serverLog, this.stdoutLog]) if (existsSync(f)) truncateSync(f, 0);
  }

  /** Back to a healthy server whatever the last scenario left (PG stopped, Odoo dead). */
  ensureUp(): void {
    runScript(this.info, 'up.sh');
  }

  /** Sets `workers` in odoo.conf (0 = threaded), stops Odoo and starts it again with up.sh. */
  async restartOdoo(opts: { workers?: number; set?: Record<string, string | number> } = {}): Promise<void> {
    const set: Record<string, string | number> = { ...(opts.set ?? {}) };
    if (opts.workers !== undefined) set.workers = opts.workers;
    if (Object.keys(set).length) this.setOdooConf(set);
    this.uid = null;
    const r = spawnSync(this.restartOdooArgv[0]!, [], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`restart-odoo.sh failed (exit ${r.status}):\n${(r.stdout ?? '').slice(-2000)}\n${(r.stderr ?? '').slice(-2000)}`);
  }

  /** Sets keys in odoo.conf's [options] (replacing or appending), keeping owner and mode. */
  setOdooConf(set: Record<string, string | number>): void {
    let text = readFileSync(this.conf, 'utf8');
    for (const [k, v] of Object.entries(set)) {
      const re = new RegExp(`^${k}\\s*=.*$`, 'm');
      text = re.test(text) ? text.replace(re, `${k} = ${v}`) : `${text.trimEnd()}\n${k} = ${v}\n`;
    }
    writeFileSync(this.conf, text);
  }

  /** An odoo-heal config.yaml for this server in a fresh temp dir; `over` is deep-merged over it. */
  healConfig(over: Record<string, unknown> = {}): { dir: string; config: string; stateDir: string } {
    // Under the base dir, so the teardown that removes the base removes every run's config and state.
    mkdirSync(join(this.base, 'runs'), { recursive: true });
    const dir = mkdtempSync(join(this.base, 'runs', 'run-'));
    const stateDir = join(dir, 'state');
    const base = {
      odoo: { config: this.conf, url: this.url, user: 'odoo' },
      logs: { files: [this.stdoutLog], commands: [] },
      services: [{ name: 'postgresql', tcp: `127.0.0.1:${this.pgPort}`, processes: ['postgres'] }],
      endpoints: [],
      probes: { intervalMs: 1000, timeoutMs: 3000 },
      // 2 shared cores under a parallel suite: a slow round trip is load, not the fault under test.
      thresholds: { dbLatencyWarnMs: 5000, endpointLatencyWarnMs: 10_000 },
      fixes: {
        allowCommands: [...this.restartPgArgv, ...this.restartOdooArgv],
        restart: { postgresql: this.restartPgArgv, odoo: this.restartOdooArgv },
        commandTimeoutMs: 180_000,
      },
      escalation: { threshold: 1, backoffBaseMs: 1000, backoffMaxMs: 5000 },
      paths: { stateDir },
    };
    const config = join(dir, 'config.yaml');
    writeFileSync(config, stringify(deepMerge(base, over)));
    return { dir, config, stateDir };
  }

  /** The built binary in `--auto` with a config from healConfig(over). */
  startAuto(over: Record<string, unknown> = {}): AutoProcess & { dir: string } {
    const { dir, config } = this.healConfig(over);
    const child = spawn(process.execPath, [BIN, '--auto', '--config', config, '--odoo-config', this.conf], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // A copy on disk for a post-mortem (REALODOO_KEEP=1 keeps nothing of it; the dir is in $TMPDIR).
    child.stdout.on('data', (d: Buffer) => appendFileSync(join(dir, 'auto.jsonl'), d));
    return Object.assign(collectJsonLines(child), { dir });
  }

  /** The built binary with `args` after `--config <healConfig(over)> --odoo-config <odoo.conf>`. */
  cli(args: string[], over: Record<string, unknown> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const { dir, config } = this.healConfig(over);
    return new Promise((res, rej) => {
      const child = spawn(process.execPath, [BIN, '--config', config, '--odoo-config', this.conf, ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: dir, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', rej);
      child.on('close', (code) => res({ code: code ?? -1, stdout: out, stderr: err }));
    });
  }

  /** `odoo-heal check --json` with a config from healConfig(over). */
  async check(over: Record<string, unknown> = {}, args: string[] = []): Promise<{ code: number; json: CheckJson; stderr: string }> {
    const r = await this.cli(['check', '--json', ...args], over);
    try {
      return { code: r.code, json: JSON.parse(r.stdout) as CheckJson, stderr: r.stderr };
    } catch {
      throw new Error(`check --json printed no JSON (exit ${r.code}): ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 500)}`);
    }
  }
}

export interface CheckJson {
  format: string;
  status: string;
  exitCode: number;
  probes: { probe: string; status: string; summary: string; findings: { key: string; severity: string; title: string }[] }[];
  incidents: { id: string; title: string; severity: string; status: string; origin: Record<string, unknown>; fix: { id: string } | null; [k: string]: unknown }[];
  [k: string]: unknown;
}

/** The server of this run, or null when the suite is skipped (see skipReason()). */
export function realOdoo(): RealOdoo | null {
  const info = inject('realOdoo');
  return info ? new RealOdoo(info) : null;
}

export function skipReason(): string {
  return inject('realOdooSkip');
}
